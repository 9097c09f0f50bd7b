import { ConfigService } from '@nestjs/config';
import { HealthIndicatorService } from '@nestjs/terminus';
import Redis from 'ioredis';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { DomainEvents, DomainEventType } from '../../common/events/domain-events';
import { TwilioSandbox } from '../../../libs/twilio-sandbox/twilio-sandbox';
import { BaseUrlRequestClient } from './base-url-request-client';
import { SenderRateLimiter } from './sender-rate-limiter';
import { TWILIO_PROBE_TTL_MS, TwilioHealthIndicator } from './twilio.health';
import { TwilioMessagingClient } from './twilio-messaging.client';
import { TwilioEndpoint, TwilioEndpointKind } from './twilio.types';

const ACCOUNT_SID = 'AC' + '5e'.repeat(16);
const AUTH_TOKEN = 'health-spec-auth-token-000000000';
const silent = { log: () => undefined, warn: () => undefined, error: () => undefined };

/** A Twilio-compatible endpoint (TWILIO_API_BASE_URL) that answers every request with one fixed error. */
async function fixedAnswer(status: number, code: number, message: string): Promise<{ baseUrl: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('TwilioHealthIndicator', () => {
  let sandbox: TwilioSandbox;
  let limiterRedis: Redis;
  const events = new DomainEvents();
  const published: string[] = [];
  events.on(DomainEventType.TwilioCallCompleted, (e) => published.push(e.operation));

  beforeAll(async () => {
    sandbox = new TwilioSandbox({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, statusDelayMs: 20, logger: silent });
    await sandbox.start();
    // Never connected: a probe that went through the senders' rate limit would fail on it.
    limiterRedis = new Redis({ lazyConnect: true, port: 1, enableOfflineQueue: false, retryStrategy: () => null });
  });
  afterAll(async () => {
    limiterRedis.disconnect();
    await sandbox.stop();
  });
  afterEach(() => {
    sandbox.control.resetFaults();
    jest.restoreAllMocks();
  });

  function indicatorFor(endpoint: TwilioEndpoint, authToken = AUTH_TOKEN): TwilioHealthIndicator {
    const client = twilio(ACCOUNT_SID, authToken, { httpClient: new BaseUrlRequestClient(endpoint.baseUrl, { timeout: 10_000, autoRetry: false }) });
    const limiter = new SenderRateLimiter(limiterRedis, new ConfigService({ whatsapp: { mps: 80 }, redis: { prefix: 'health-spec' } }));
    return new TwilioHealthIndicator(new TwilioMessagingClient(client, events, limiter, endpoint), new HealthIndicatorService());
  }
  const sandboxEndpoint = (): TwilioEndpoint => ({ kind: TwilioEndpointKind.Sandbox, baseUrl: sandbox.baseUrl });

  it('is up when the sandbox accepts the credentials, naming where it looked', async () => {
    const result = await indicatorFor(sandboxEndpoint()).isHealthy('twilio');
    expect(result).toEqual({ twilio: { status: 'up', sandbox: sandbox.baseUrl, httpStatus: 200, responseTimeMs: expect.any(Number) } });
    expect(published).toEqual([]);
  });

  it('is down when the credentials are refused (401, 20003)', async () => {
    const result = await indicatorFor(sandboxEndpoint(), 'wrong-auth-token-000000000000000').isHealthy('twilio');
    expect(result).toEqual({
      twilio: {
        status: 'down',
        sandbox: sandbox.baseUrl,
        httpStatus: 401,
        twilioCode: 20003,
        message: 'Twilio refused the probe: HTTP 401, Twilio 20003: Authenticate',
        responseTimeMs: expect.any(Number),
      },
    });
  });

  it('is down when the answer takes longer than the probe waits', async () => {
    sandbox.control.setFaults({ latencyMs: 5000 });
    const started = Date.now();
    const result = await indicatorFor(sandboxEndpoint()).isHealthy('twilio');
    expect(result.twilio).toMatchObject({ status: 'down', message: 'Twilio API unreachable: Twilio probe: no answer within 1500 ms' });
    expect(result.twilio).not.toHaveProperty('httpStatus');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('is down when nothing listens at the endpoint', async () => {
    const { baseUrl, server } = await fixedAnswer(500, 20500, 'unused');
    await new Promise((resolve) => server.close(resolve));
    const result = await indicatorFor({ kind: TwilioEndpointKind.Custom, baseUrl }).isHealthy('twilio');
    expect(result.twilio).toMatchObject({ status: 'down', api: baseUrl, message: expect.stringMatching(/^Twilio API unreachable: .*ECONNREFUSED/) });
  });

  it("stays up on Twilio's own trouble (503, 429), which every instance shares; down on 404", async () => {
    const cases: [number, number, string, 'up' | 'down'][] = [
      [503, 20503, 'Service Unavailable', 'up'],
      [429, 20429, 'Too Many Requests', 'up'],
      [404, 20404, 'The requested resource was not found', 'down'],
    ];
    for (const [status, code, message, expected] of cases) {
      const { baseUrl, server } = await fixedAnswer(status, code, message);
      try {
        const result = await indicatorFor({ kind: TwilioEndpointKind.Custom, baseUrl }).isHealthy('twilio');
        const answer = `HTTP ${status}, Twilio ${code}: ${message}`;
        expect(result).toEqual({
          twilio: {
            status: expected,
            api: baseUrl,
            httpStatus: status,
            twilioCode: code,
            message: expected === 'up' ? answer : `Twilio refused the probe: ${answer}`,
            responseTimeMs: expect.any(Number),
          },
        });
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    }
  });

  it('asks again only after the TTL: one probe serves the readiness checks in between', async () => {
    const second = new TwilioSandbox({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, statusDelayMs: 20, logger: silent });
    await second.start();
    const endpoint: TwilioEndpoint = { kind: TwilioEndpointKind.Sandbox, baseUrl: second.baseUrl };
    const indicator = indicatorFor(endpoint);
    const t0 = Date.now();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(t0);
    const first = await indicator.isHealthy('twilio');
    expect(first.twilio.status).toBe('up');
    await second.stop();

    clock.mockReturnValue(t0 + TWILIO_PROBE_TTL_MS - 1);
    expect(await indicator.isHealthy('twilio')).toEqual(first);

    clock.mockReturnValue(t0 + TWILIO_PROBE_TTL_MS);
    const after = await indicator.isHealthy('twilio');
    expect(after.twilio).toMatchObject({ status: 'down', sandbox: endpoint.baseUrl, message: expect.stringMatching(/^Twilio API unreachable: /) });
  });
});
