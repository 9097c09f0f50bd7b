import { TwilioSandbox } from '../libs/twilio-sandbox/twilio-sandbox';
import { freePort, startTestApp, TestApp, waitFor } from './support/test-app';

const ACCOUNT_SID = 'AC' + '1f'.repeat(16);
const AUTH_TOKEN = 'external-auth-token-0123456789ab';
const API_KEY = 'SK' + '2e'.repeat(16);
const API_SECRET = 'external-api-secret';

/**
 * The production code path: real credentials and TWILIO_API_BASE_URL pointing the official
 * client at a Twilio-compatible endpoint (here a standalone sandbox), no in-process sandbox.
 */
describe.each([
  ['an auth token', { TWILIO_AUTH_TOKEN: AUTH_TOKEN }],
  ['an API key (auth token kept for webhook signatures)', { TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_API_KEY: API_KEY, TWILIO_API_SECRET: API_SECRET }],
])('with Twilio credentials: %s (e2e)', (_name, credentials) => {
  let external: TwilioSandbox;
  let t: TestApp;

  beforeAll(async () => {
    const port = await freePort();
    external = new TwilioSandbox({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiKeys: [{ sid: API_KEY, secret: API_SECRET }], port, statusDelayMs: 20 });
    await external.start();
    t = await startTestApp({
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      ...credentials,
      TWILIO_WHATSAPP_FROM: 'whatsapp:+14155238886,whatsapp:+447911123457',
      TWILIO_API_BASE_URL: external.baseUrl,
    });
  });
  afterAll(async () => {
    await t?.close();
    await external?.stop();
  });

  it('runs no sandbox of its own and sends through the configured endpoint, signed callbacks included', async () => {
    expect(t.config.twilio.useSandbox).toBe(false);
    expect(t.sandbox).toBeNull();
    const res = await t.api('/api/v1/whatsapp/send', { body: { to: '+14155550801', message: 'via the real client path', from: 'whatsapp:+447911123457' }, token: t.adminToken });
    expect(res.status).toBe(202);
    const final = await waitFor(async () => {
      const s = (await t.api(`/api/v1/whatsapp/delivery-status/${res.body.id}`, { token: t.adminToken })).body;
      return s.status === 'read' ? s : undefined;
    }, 'read');
    const [request] = external.control.receivedRequests();
    expect(request.params).toMatchObject({ To: 'whatsapp:+14155550801', From: 'whatsapp:+447911123457', StatusCallback: t.config.twilio.statusCallbackTarget });
    expect(request.accountSid).toBe(ACCOUNT_SID);
    expect(request.authUser).toBe('TWILIO_API_KEY' in credentials ? API_KEY : ACCOUNT_SID);
    expect(final.messageSid).toBe(request.sid);
  });
});
