import twilio from 'twilio';
import { FORM } from './support/twilio-signing';
import { startTestApp, TestApp } from './support/test-app';

type Params = Record<string, string | string[]>;

describe('Signed webhooks that are malformed or not ours (e2e)', () => {
  let t: TestApp;
  let token: string;
  let account: string;
  const sender = 'whatsapp:+14155238886';
  beforeAll(async () => {
    t = await startTestApp();
    token = t.config.twilio.webhookAuthTokens[0];
    account = t.config.twilio.sandbox.accountSid;
  });
  afterAll(async () => {
    await t?.close();
  });

  const encode = (params: Params): string => {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const one of Array.isArray(v) ? v : [v]) form.append(k, one);
    return form.toString();
  };
  const post = (kind: 'status' | 'webhook', params: Params, query = '') => {
    const url = (kind === 'status' ? t.config.twilio.statusCallbackUrl : t.config.twilio.webhookUrl) + query;
    return t.api(`/api/v1/whatsapp/${kind}${query}`, {
      body: encode(params),
      headers: { ...FORM, 'x-twilio-signature': twilio.getExpectedTwilioSignature(token, url, params) },
    });
  };
  const counts = async () => ({
    messages: (await t.query<{ n: number }>(`SELECT count(*)::int AS n FROM "WhatsAppMessage"`))[0].n,
    events: (await t.query<{ n: number }>(`SELECT count(*)::int AS n FROM message_events`))[0].n,
  });
  const refusedMetric = async (kind: string, reason: string): Promise<number> => {
    const text = (await t.api('/metrics', { token: t.adminToken })).text;
    const line = text.split('\n').find((l) => l.startsWith(`whatsapp_webhook_refused_total{kind="${kind}",reason="${reason}"}`));
    return line ? Number(line.split(' ').pop()) : 0;
  };
  const inbound = (sid: string, extra: Params = {}): Params => ({ MessageSid: sid, AccountSid: account, From: 'whatsapp:+447911123456', To: sender, Body: 'hi', NumMedia: '0', ...extra });
  const status = (sid: string, extra: Params = {}): Params => ({ MessageSid: sid, MessageStatus: 'delivered', AccountSid: account, ...extra });

  it.each([
    ['webhook', 'no MessageSid', () => { const p = inbound('x'); delete p.MessageSid; return p; }, 'MessageSid', 'missing_parameter'],
    ['status', 'no MessageStatus', () => { const p = status('SM' + 'b1'.repeat(16)); delete p.MessageStatus; return p; }, 'MessageStatus', 'missing_parameter'],
    ['webhook', 'Body twice', () => inbound('SM' + 'b2'.repeat(16), { Body: ['STOP', 'START'] }), 'Body', 'duplicate_parameter'],
    ['status', 'MessageStatus twice', () => status('SM' + 'b3'.repeat(16), { MessageStatus: ['delivered', 'read'] }), 'MessageStatus', 'duplicate_parameter'],
    ['webhook', 'a 9,000-character Body', () => inbound('SM' + 'b4'.repeat(16), { Body: 'x'.repeat(9000) }), 'Body', 'value_too_long'],
  ] as const)('answers a signed %s with %s 400 WEBHOOK_MALFORMED, counts it and stores nothing', async (kind, _what, params, field, reason) => {
    const before = await counts();
    const metricBefore = await refusedMetric(kind === 'status' ? 'status' : 'inbound', reason);
    const res = await post(kind, params());
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, code: 'WEBHOOK_MALFORMED', details: { field, reason } });
    expect(await counts()).toEqual(before);
    expect(await refusedMetric(kind === 'status' ? 'status' : 'inbound', reason)).toBe(metricBefore + 1);
  });

  it('refuses a signed status callback for another account with 403, counts it and stores no event', async () => {
    const before = await counts();
    const res = await post('status', status('SM' + 'c1'.repeat(16), { AccountSid: 'AC' + 'f'.repeat(32) }));
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ code: 'WEBHOOK_FOREIGN_ACCOUNT', details: { field: 'AccountSid' } });
    expect(await counts()).toEqual(before);
    expect(await refusedMetric('status', 'foreign_account')).toBe(1);
  });

  it('refuses a signed inbound message for another account or to a number that is not our sender', async () => {
    const before = await counts();
    const foreign = await post('webhook', inbound('SM' + 'c2'.repeat(16), { AccountSid: 'AC' + 'e'.repeat(32) }));
    expect(foreign.status).toBe(403);
    expect(foreign.body).toMatchObject({ code: 'WEBHOOK_FOREIGN_ACCOUNT' });
    const stranger = await post('webhook', inbound('SM' + 'c3'.repeat(16), { To: 'whatsapp:+14155550999', Body: 'STOP' }));
    expect(stranger.status).toBe(403);
    expect(stranger.body).toMatchObject({ code: 'WEBHOOK_UNKNOWN_RECIPIENT', details: { field: 'To' } });
    expect(await counts()).toEqual(before);
    expect(await t.query(`SELECT 1 FROM contacts WHERE "optedOutAt" IS NOT NULL`)).toEqual([]);
    expect(await refusedMetric('inbound', 'unknown_recipient')).toBe(1);
  });

  it('still stores a well-formed signed inbound message to our sender', async () => {
    const res = await post('webhook', inbound('SM' + 'c4'.repeat(16)));
    expect(res.status).toBe(200);
    expect(await t.query(`SELECT "to" FROM "WhatsAppMessage" WHERE "messageSid" = $1`, ['SM' + 'c4'.repeat(16)])).toEqual([{ to: sender }]);
  });

  it('refuses a webhook URL with an over-long query string with 414 before checking or logging it', async () => {
    const res = await post('status', status('SM' + 'c5'.repeat(16)), `?pad=${'q'.repeat(15_000)}`);
    expect(res.status).toBe(414);
    expect(res.body).toMatchObject({ code: 'WEBHOOK_URL_TOO_LONG' });
  });
});
