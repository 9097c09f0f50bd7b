import type { Agent } from 'node:http';
import RequestClient from 'twilio/lib/base/RequestClient';
import { BaseUrlRequestClient } from './base-url-request-client';
import { INLINE_SEND_SOCKETS, requestClientOptions } from './request-client-options';
import { RetryAfterRequestClient } from './retry-after-request-client';

const agentOf = (client: RequestClient, kind: 'httpAgent' | 'httpsAgent') => (client as unknown as { axios: { defaults: Record<string, Agent> } }).axios.defaults[kind];

describe('requestClientOptions', () => {
  it("opens a socket to Twilio for every worker and inline send, where the official client's default would queue all but 20", () => {
    expect(agentOf(new RequestClient({ keepAlive: true }), 'httpsAgent').maxSockets).toBe(20);

    const twilio = agentOf(new RetryAfterRequestClient(requestClientOptions(15_000, 50)), 'httpsAgent');
    expect(twilio.maxSockets).toBe(50 + INLINE_SEND_SOCKETS);
    expect(twilio.maxTotalSockets).toBeGreaterThanOrEqual(twilio.maxSockets);
  });

  it('gives a plain-http endpoint (the sandbox, a Twilio-compatible URL) the same keep-alive sockets', () => {
    const sandbox = agentOf(new BaseUrlRequestClient('http://127.0.0.1:3999', requestClientOptions(15_000, 200)), 'httpAgent');
    expect(sandbox.maxSockets).toBe(200 + INLINE_SEND_SOCKETS);
    expect((sandbox as Agent & { keepAlive?: boolean }).keepAlive).toBe(true);
  });
});
