import twilio from 'twilio';
import { TwilioSandbox } from '../../../libs/twilio-sandbox/twilio-sandbox';
import { BaseUrlRequestClient } from './base-url-request-client';
import { parseRetryAfter } from './retry-after-request-client';
import { TwilioMessagingClient } from './twilio-messaging.client';

const ACCOUNT_SID = 'AC' + '7a'.repeat(16);
const AUTH_TOKEN = 'retry-after-spec-auth-token-0000';
const FROM = 'whatsapp:+14155238886';
const silent = { log: () => undefined, warn: () => undefined, error: () => undefined };

describe('parseRetryAfter', () => {
  it('reads seconds or an HTTP date, and ignores anything else', () => {
    const now = Date.parse('2026-11-29T12:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0.5 ', now)).toBe(500);
    expect(parseRetryAfter(['2'], now)).toBe(2000);
    expect(parseRetryAfter('Sun, 29 Nov 2026 12:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Sun, 29 Nov 2026 11:59:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });
});

describe('RetryAfterRequestClient', () => {
  const sandbox = new TwilioSandbox({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, statusDelayMs: 20, logger: silent });
  let client: twilio.Twilio;

  beforeAll(async () => {
    const baseUrl = await sandbox.start();
    client = twilio(ACCOUNT_SID, AUTH_TOKEN, { httpClient: new BaseUrlRequestClient(baseUrl, { timeout: 5_000, autoRetry: false }) });
  });
  afterAll(() => sandbox.stop());

  const refusal = () =>
    client.messages.create({ to: 'whatsapp:+14155550123', from: FROM, body: 'x' }).then(
      () => {
        throw new Error('expected a 429');
      },
      (err: unknown) => TwilioMessagingClient.toRequestError(err),
    );

  it('keeps the Retry-After of a 429 that the official client would drop, with Twilio’s code and message', async () => {
    sandbox.control.setFaults({ failNext: [{ httpStatus: 429, code: 20429, retryAfterSeconds: 4 }, { httpStatus: 429, code: 20429 }] });

    const withHeader = await refusal();
    expect(withHeader).toMatchObject({ httpStatus: 429, twilioCode: 20429, message: 'Too Many Requests', retryAfterMs: 4000 });
    expect(withHeader.classification.retryClass).toBe('retryable');

    expect(await refusal()).toMatchObject({ httpStatus: 429, twilioCode: 20429, retryAfterMs: null });
    // Other answers pass through untouched.
    const created = await client.messages.create({ to: 'whatsapp:+14155550123', from: FROM, body: 'x' });
    expect(created.status).toBe('queued');
  });
});
