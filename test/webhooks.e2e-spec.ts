import { FORM, formBody, twilioSignature } from './support/twilio-signing';
import { startTestApp, TestApp, waitFor } from './support/test-app';

describe('Twilio webhooks (e2e)', () => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await startTestApp();
    token = t.config.twilio.webhookAuthTokens[0];
  });
  afterAll(async () => {
    await t?.close();
  });

  const postStatus = (params: Record<string, string>, signature?: string) =>
    t.api('/api/v1/whatsapp/status', {
      body: formBody(params),
      headers: { ...FORM, ...(signature !== undefined ? { 'x-twilio-signature': signature } : {}) },
    });
  const signStatus = (params: Record<string, string>, withToken = token) => twilioSignature(withToken, t.config.twilio.statusCallbackUrl, params);

  async function deliveredMessage(to: string): Promise<{ id: string; sid: string }> {
    const res = await t.api('/api/v1/whatsapp/send', { body: { to, message: 'hi', immediate: true }, token: t.adminToken });
    const id = res.body.id as string;
    await waitFor(async () => (await t.query(`SELECT 1 FROM "WhatsAppMessage" WHERE id = $1 AND status = 'read'`, [id])).length > 0, 'read');
    return { id, sid: res.body.messageSid };
  }

  it('refuses a forged status callback with 403 JSON and changes nothing', async () => {
    const { id, sid } = await deliveredMessage('+14155550201');
    const before = await t.query(`SELECT status, "failedAt", "errorCode" FROM "WhatsAppMessage" WHERE id = $1`, [id]);
    const [{ count: eventsBefore }] = await t.query(`SELECT count(*)::int AS count FROM message_events`);
    const params = { MessageSid: sid, MessageStatus: 'failed', ErrorCode: '30008', AccountSid: t.config.twilio.sandbox.accountSid };

    for (const signature of [undefined, '', 'bm90LWEtc2lnbmF0dXJl', signStatus(params, 'wrong-token-000000000000000')]) {
      const res = await postStatus(params, signature);
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ statusCode: 403, code: 'INVALID_TWILIO_SIGNATURE' });
    }
    // Signed, then tampered with: one parameter changed after signing.
    const tampered = await postStatus({ ...params, ErrorCode: '30003' }, signStatus(params));
    expect(tampered.status).toBe(403);

    expect(await t.query(`SELECT status, "failedAt", "errorCode" FROM "WhatsAppMessage" WHERE id = $1`, [id])).toEqual(before);
    const [{ count: eventsAfter }] = await t.query(`SELECT count(*)::int AS count FROM message_events`);
    expect(eventsAfter).toBe(eventsBefore);
  });

  it('accepts a callback signed for the URL given to Twilio (connection overrides included) or for the bare URL, and no other fragment', async () => {
    const { sid } = await deliveredMessage('+14155550203');
    const params = { MessageSid: sid, MessageStatus: 'read', AccountSid: t.config.twilio.sandbox.accountSid };
    expect(t.config.twilio.statusCallbackTarget).toContain('#');
    expect((await postStatus(params, twilioSignature(token, t.config.twilio.statusCallbackTarget, params))).status).toBe(200);
    expect((await postStatus(params, twilioSignature(token, t.config.twilio.statusCallbackUrl, params))).status).toBe(200);
    // The form that matched last is tried first; the other is still accepted after it.
    expect((await postStatus(params, twilioSignature(token, t.config.twilio.statusCallbackUrl, params))).status).toBe(200);
    expect((await postStatus(params, twilioSignature(token, t.config.twilio.statusCallbackTarget, params))).status).toBe(200);
    const other = await postStatus(params, twilioSignature(token, `${t.config.twilio.statusCallbackUrl}#rc=5`, params));
    expect(other.status).toBe(403);
  });

  it('applies a signed callback, and answers a duplicate with 200 and no change', async () => {
    const res = await t.api('/api/v1/whatsapp/send', { body: { to: '+15005550001', message: 'x', immediate: true }, token: t.adminToken });
    expect(res.status).toBe(422); // no SID: use a SID the service knows instead
    const { id, sid } = await deliveredMessage('+14155550202');
    const params = { MessageSid: sid, SmsSid: sid, MessageStatus: 'read', SmsStatus: 'read', AccountSid: t.config.twilio.sandbox.accountSid, ChannelPrefix: 'whatsapp' };
    const dup = await postStatus(params, signStatus(params));
    expect(dup.status).toBe(200);
    expect(dup.body).toEqual({ received: true, outcome: 'duplicate' });
    const [row] = await t.query(`SELECT status FROM "WhatsAppMessage" WHERE id = $1`, [id]);
    expect(row.status).toBe('read');
  });

  it('stores a callback for an unknown SID and answers 200', async () => {
    const sid = 'SM' + 'e'.repeat(32);
    const params = { MessageSid: sid, MessageStatus: 'delivered', AccountSid: t.config.twilio.sandbox.accountSid };
    const res = await postStatus(params, signStatus(params));
    expect(res.status).toBe(200);
    expect(res.body.outcome).toBe('unknown_sid');
    const rows = await t.query(`SELECT "messageId", status, raw FROM message_events WHERE "messageSid" = $1`, [sid]);
    expect(rows).toEqual([{ messageId: null, status: 'delivered', raw: params }]);
  });

  it('answers GET on both webhooks with 200 when signed and 403 when not, never 404', async () => {
    for (const [path, url] of [
      ['/api/v1/whatsapp/status', t.config.twilio.statusCallbackUrl],
      ['/api/v1/whatsapp/webhook', t.config.twilio.webhookUrl],
    ]) {
      expect((await t.api(path)).status).toBe(403);
      const signed = await t.api(path, { headers: { 'x-twilio-signature': twilioSignature(token, url, {}) } });
      expect(signed.status).toBe(200);
    }
  });

  it('stores a signed inbound message with its media and answers empty TwiML', async () => {
    const sid = 'SM' + 'a1'.repeat(16);
    const params = {
      MessageSid: sid,
      SmsMessageSid: sid,
      AccountSid: t.config.twilio.sandbox.accountSid,
      From: 'whatsapp:+447911123456',
      To: 'whatsapp:+14155238886',
      Body: 'Photo of the damage',
      NumMedia: '2',
      MediaUrl0: 'https://api.twilio.com/media/ME1',
      MediaContentType0: 'image/jpeg',
      MediaUrl1: 'https://api.twilio.com/media/ME2',
      MediaContentType1: 'application/pdf',
      ProfileName: 'Ada',
      WaId: '447911123456',
      ButtonPayload: 'order-42',
    };
    const signature = twilioSignature(token, t.config.twilio.webhookUrl, params);
    const post = () => t.api('/api/v1/whatsapp/webhook', { body: formBody(params), headers: { ...FORM, 'x-twilio-signature': signature } });
    const res = await post();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/xml');
    expect(res.text).toContain('<Response/>');
    expect((await post()).status).toBe(200); // Twilio retry: stored once

    const rows = await t.query(`SELECT direction, "from", body, "mediaUrls", "mediaContentTypes", "profileName", "waId", metadata, status FROM "WhatsAppMessage" WHERE "messageSid" = $1`, [sid]);
    expect(rows).toEqual([
      {
        direction: 'inbound',
        from: 'whatsapp:+447911123456',
        body: 'Photo of the damage',
        mediaUrls: ['https://api.twilio.com/media/ME1', 'https://api.twilio.com/media/ME2'],
        mediaContentTypes: ['image/jpeg', 'application/pdf'],
        profileName: 'Ada',
        waId: '447911123456',
        metadata: { ButtonPayload: 'order-42' },
        status: 'received',
      },
    ]);
    const [contact] = await t.query(`SELECT "lastInboundAt", "profileName" FROM contacts WHERE phone = '+447911123456'`);
    expect(contact.profileName).toBe('Ada');
    expect(contact.lastInboundAt).toBeInstanceOf(Date);
  });

  it('refuses an unsigned inbound message and stores nothing', async () => {
    const sid = 'SM' + 'b2'.repeat(16);
    const res = await t.api('/api/v1/whatsapp/webhook', { body: formBody({ MessageSid: sid, From: 'whatsapp:+447911123456', Body: 'hi' }), headers: FORM });
    expect(res.status).toBe(403);
    expect(await t.query(`SELECT 1 FROM "WhatsAppMessage" WHERE "messageSid" = $1`, [sid])).toHaveLength(0);
  });
});
