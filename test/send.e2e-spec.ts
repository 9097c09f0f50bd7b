import { startTestApp, TestApp, waitFor } from './support/test-app';

const TO = '+14155550100';
const LONG = 'x'.repeat(1601);

describe('sending (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const send = (body: unknown, token: string | null = t.adminToken) => t.api('/api/v1/whatsapp/send', { body, token });
  const status = (id: string) => t.api(`/api/v1/whatsapp/delivery-status/${id}`, { token: t.adminToken });
  const requestsTo = (number: string) => t.sandbox.control.receivedRequests().filter((r) => r.params.To === `whatsapp:${number}`);

  it('queues a message, sends it through a worker and follows it to read', async () => {
    const to = '+14155550101';
    const res = await send({ to, message: 'Your order has shipped' });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ success: true, id: expect.any(String), messageSid: null, status: 'queued' });
    const id = res.body.id as string;

    // Stored before the answer.
    const [row] = await t.query(`SELECT status, "to", body, "queuedAt" FROM "WhatsAppMessage" WHERE id = $1`, [id]);
    expect(row).toMatchObject({ to: `whatsapp:${to}`, body: 'Your order has shipped' });
    expect(row.queuedAt).toBeInstanceOf(Date);

    const final = await waitFor(async () => {
      const s = await status(id);
      return s.body.status === 'read' ? s.body : undefined;
    }, 'the message to be read');
    expect(final).toMatchObject({ id, messageSid: expect.stringMatching(/^SM[0-9a-f]{32}$/), errorCode: null, attempts: 1 });
    const ts = final.timestamps;
    for (const k of ['queued', 'sent', 'delivered', 'read']) expect(typeof ts[k]).toBe('string');
    expect(ts.failed).toBeNull();
    expect(Date.parse(ts.queued)).toBeLessThanOrEqual(Date.parse(ts.sent));
    expect(Date.parse(ts.sent)).toBeLessThanOrEqual(Date.parse(ts.delivered));
    expect(Date.parse(ts.delivered)).toBeLessThanOrEqual(Date.parse(ts.read));
    expect(final.metrics.deliveryTimeMs).toBe(Date.parse(ts.delivered) - Date.parse(ts.sent));

    // Twilio's side of the wire: exactly one create, with our sender and callback URL.
    const requests = requestsTo(to);
    expect(requests).toHaveLength(1);
    expect(requests[0].params).toMatchObject({
      To: `whatsapp:${to}`,
      From: 'whatsapp:+14155238886',
      Body: 'Your order has shipped',
      StatusCallback: t.config.twilio.statusCallbackTarget,
    });

    // The SID works as a lookup key too, and the events tell the story.
    const bySid = await status(final.messageSid);
    expect(bySid.body.id).toBe(id);
    const events = await t.api(`/api/v1/whatsapp/messages/${id}/events`, { token: t.adminToken });
    expect(events.status).toBe(200);
    expect(events.body.map((e: { status: string }) => e.status)).toEqual(expect.arrayContaining(['queued', 'sent', 'delivered', 'read']));
  });

  it('sends inline with immediate: true and answers the SID', async () => {
    const to = '+14155550102';
    const res = await send({ to: `whatsapp:${to}`, message: 'Now', immediate: true, mediaUrl: 'https://example.com/a.png' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ success: true, id: expect.any(String), messageSid: expect.stringMatching(/^SM[0-9a-f]{32}$/), status: 'queued' });
    const [row] = await t.query(`SELECT "messageSid", "mediaUrls" FROM "WhatsAppMessage" WHERE id = $1`, [res.body.id]);
    expect(row).toEqual({ messageSid: res.body.messageSid, mediaUrls: ['https://example.com/a.png'] });
    expect(requestsTo(to)).toHaveLength(1);
    // No safety-net job is left behind after a successful inline send.
    expect(await t.query(`SELECT 1 FROM outbox WHERE "jobId" = $1`, [`send-${res.body.id}`])).toHaveLength(0);
  });

  it('is usable from code: MessageSendService.sendWhatsAppMessage', async () => {
    const { MessageSendService } = await import('../src/modules/whatsapp/message-send.service');
    const service = t.app.get(MessageSendService);
    const result = await service.sendWhatsAppMessage('+14155550103', 'From code', { immediate: true });
    expect(result).toMatchObject({ success: true, messageSid: expect.stringMatching(/^SM/), status: 'queued' });
    expect(requestsTo('+14155550103')).toHaveLength(1);
  });

  it.each([
    [{ message: 'x' }, 'to is required', 'VALIDATION_FAILED'],
    [{ to: '4155550104', message: 'x' }, 'country code', 'MISSING_COUNTRY_CODE'],
    [{ to: '+1415', message: 'x' }, 'not a valid phone number', 'INVALID_PHONE_NUMBER'],
    [{ to: TO }, 'message is required', 'VALIDATION_FAILED'],
    [{ to: TO, message: LONG }, 'message must be at most 1600 characters', 'VALIDATION_FAILED'],
    [{ to: TO, message: 'x', mediaUrl: 'not a url' }, 'mediaUrl', 'VALIDATION_FAILED'],
    [{ to: TO, message: 'x', immediate: 'yes' }, 'immediate must be true or false', 'VALIDATION_FAILED'],
    [{ to: TO, message: 'x', from: 'whatsapp:+447911123456' }, 'from must be one of the configured senders', 'UNKNOWN_SENDER'],
    [{ to: TO, message: 'x', colour: 'blue' }, 'property colour should not exist', 'VALIDATION_FAILED'],
  ])('refuses %j with 400 naming the problem, storing and sending nothing', async (body, text, code) => {
    const before = t.sandbox.control.receivedRequests().length;
    const [{ count }] = await t.query<{ count: number }>(`SELECT count(*)::int AS count FROM "WhatsAppMessage"`);
    const res = await send(body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, code });
    expect(res.body.message).toContain(text);
    const [{ count: after }] = await t.query<{ count: number }>(`SELECT count(*)::int AS count FROM "WhatsAppMessage"`);
    expect(after).toBe(count);
    expect(t.sandbox.control.receivedRequests().length).toBe(before);
  });

  it('refuses a body that is not JSON with 400', async () => {
    const res = await t.api('/api/v1/whatsapp/send', { body: '{"to":', token: t.adminToken });
    expect(res.status).toBe(400);
    expect(res.body.statusCode).toBe(400);
  });

  it('fails an immediate send Twilio rejects with its code and hint, and stores the failure', async () => {
    const res = await send({ to: '+15005550001', message: 'x', immediate: true });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'TWILIO_REJECTED', details: { twilioCode: 21211, status: 'failed', id: expect.any(String) } });
    const s = await status(res.body.details.id);
    expect(s.body).toMatchObject({ status: 'failed', errorCode: 21211, errorHint: expect.any(String) });
    expect(s.body.timestamps.failed).toEqual(expect.any(String));
  });

  it('keeps the operators runbook queries working as written', async () => {
    await send({ to: '+15005550001', message: 'x', immediate: true });
    const recent = await t.query(`SELECT * FROM "WhatsAppMessage" WHERE status = 'failed' ORDER BY "createdAt" DESC LIMIT 10;`);
    expect(recent.length).toBeGreaterThan(0);
    expect(recent[0]).toMatchObject({ status: 'failed', errorCode: 21211 });
    const quoted = await t.query(`SELECT "errorCode", COUNT(*) FROM "WhatsAppMessage" WHERE status = 'failed' GROUP BY "errorCode";`);
    const unquoted = await t.query(`SELECT errorCode, COUNT(*) FROM "WhatsAppMessage" WHERE status = 'failed' GROUP BY errorCode;`);
    expect(quoted.find((r) => r.errorCode === 21211)).toBeDefined();
    expect(unquoted.find((r) => r.errorcode === 21211)).toEqual({ errorcode: 21211, count: quoted.find((r) => r.errorCode === 21211)!.count });
  });

  it('answers 404 with JSON for an unknown id or SID', async () => {
    for (const id of ['5d3e0f4a-9b7c-4d2e-8f1a-2b3c4d5e6f70', 'SM' + '0'.repeat(32)]) {
      const res = await status(id);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ statusCode: 404, code: 'MESSAGE_NOT_FOUND' });
    }
  });
});
