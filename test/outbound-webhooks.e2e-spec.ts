import { UserRole } from '../src/modules/auth/entities/user.entity';
import { UsersService } from '../src/modules/auth/users.service';
import { WebhookDeliverySweeper } from '../src/modules/event-webhooks/jobs/webhook-delivery-sweeper';
import { WebhookSubscriptionCache } from '../src/modules/event-webhooks/webhook-subscription-cache';
import { FORM, formBody, twilioSignature } from './support/twilio-signing';
import { startTestApp, TestApp, waitFor } from './support/test-app';
import { WebhookReceiver } from './support/webhook-receiver';

/** Four attempts within a second: the retry and disable paths run in a test's time. */
const FAST_SCHEDULE = '0,150,300,300';

describe('outbound webhooks (e2e)', () => {
  let t: TestApp;
  let senderToken: string;
  const receivers: WebhookReceiver[] = [];

  beforeAll(async () => {
    t = await startTestApp({ WEBHOOK_RETRY_SCHEDULE_MS: FAST_SCHEDULE, WEBHOOK_TIMEOUT_MS: '2000' });
    await t.app.get(UsersService).create('hook-sender@example.com', UserRole.Sender, 'sender-password-123');
    senderToken = await t.login('hook-sender@example.com', 'sender-password-123');
  });
  afterAll(async () => {
    await t?.close();
    for (const r of receivers) await r.stop();
  });
  // Every subscription listens to every message: each test removes its own.
  afterEach(async () => {
    for (const s of (await t.api('/api/v1/webhooks', { token: t.adminToken })).body) await t.api(`/api/v1/webhooks/${s.id}`, { method: 'DELETE', token: t.adminToken });
  });

  async function subscribe(events: string[], receiver?: WebhookReceiver): Promise<{ id: string; secret: string; receiver: WebhookReceiver }> {
    const r = receiver ?? new WebhookReceiver();
    if (!receiver) receivers.push(r);
    const url = await r.start();
    const res = await t.api('/api/v1/webhooks', { body: { url, events }, token: t.adminToken });
    expect(res.status).toBe(201);
    r.secret = res.body.secret;
    return { id: res.body.id, secret: res.body.secret, receiver: r };
  }
  const send = async (body: Record<string, unknown>): Promise<string> => {
    const res = await t.api('/api/v1/whatsapp/send', { body, token: t.adminToken });
    expect(res.status).toBe(202);
    return res.body.id;
  };
  const deliveries = async (id: string, query = ''): Promise<any> => {
    const res = await t.api(`/api/v1/webhooks/${id}/deliveries${query}`, { token: t.adminToken });
    expect(res.status).toBe(200);
    return res.body;
  };
  const postInbound = (params: Record<string, string>) =>
    t.api('/api/v1/whatsapp/webhook', {
      body: formBody(params),
      headers: { ...FORM, 'x-twilio-signature': twilioSignature(t.config.twilio.webhookAuthTokens[0], t.config.twilio.webhookUrl, params) },
    });

  it('creates a subscription with its secret shown once, lists, reads, changes and deletes it', async () => {
    const res = await t.api('/api/v1/webhooks', { body: { url: 'http://127.0.0.1:9/hooks', events: ['message.status', 'message.status'], description: 'CRM sync' }, token: t.adminToken });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      url: 'http://127.0.0.1:9/hooks',
      events: ['message.status'],
      description: 'CRM sync',
      enabled: true,
      disabledReason: null,
      disabledAt: null,
      previousSecretExpiresAt: null,
      consecutiveFailures: 0,
      createdBy: expect.any(String),
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    const { id, secret } = res.body;
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);

    const list = await t.api('/api/v1/webhooks', { token: t.adminToken });
    expect(list.status).toBe(200);
    expect(list.body).toEqual([{ ...res.body, secret: undefined }]);
    const one = await t.api(`/api/v1/webhooks/${id}`, { token: t.adminToken });
    expect(one.body).toEqual({ ...res.body, secret: undefined });
    expect(list.text + one.text).not.toContain(secret.slice(6));

    const patched = await t.api(`/api/v1/webhooks/${id}`, { method: 'PATCH', body: { events: ['message.inbound', 'message.failed'], description: null }, token: t.adminToken });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ events: ['message.inbound', 'message.failed'], description: null, enabled: true });
    expect(patched.body.secret).toBeUndefined();
    const paused = await t.api(`/api/v1/webhooks/${id}`, { method: 'PATCH', body: { enabled: false }, token: t.adminToken });
    expect(paused.body).toMatchObject({ enabled: false, disabledReason: 'Disabled by an admin', disabledAt: expect.any(String) });

    const deleted = await t.api(`/api/v1/webhooks/${id}`, { method: 'DELETE', token: t.adminToken });
    expect(deleted.status).toBe(200);
    expect((await t.api(`/api/v1/webhooks/${id}`, { token: t.adminToken })).body.code).toBe('WEBHOOK_NOT_FOUND');
    expect(await t.query('SELECT id FROM webhook_subscriptions')).toEqual([]);
  });

  it('refuses bad input with 400 and a code, unknown ids with 404, and senders with 403', async () => {
    const create = (body: unknown) => t.api('/api/v1/webhooks', { body, token: t.adminToken });
    const cases: [unknown, string, RegExp][] = [
      [{ url: 'ftp://example.com/x', events: ['message.status'] }, 'VALIDATION_FAILED', /url must be an absolute http\(s\) URL/],
      [{ url: 'not a url', events: ['message.status'] }, 'VALIDATION_FAILED', /url must be an absolute http\(s\) URL/],
      [{ events: ['message.status'] }, 'VALIDATION_FAILED', /url must be a string/],
      [{ url: 'http://127.0.0.1:9/x', events: [] }, 'VALIDATION_FAILED', /events must name at least one event type/],
      [{ url: 'http://127.0.0.1:9/x', events: 'message.status' }, 'VALIDATION_FAILED', /events must be an array/],
      [{ url: 'http://127.0.0.1:9/x', events: ['message.status', 'message.sent', 'order.paid'] }, 'VALIDATION_FAILED', /unknown event types: message.sent, order.paid \(known: message.status, message.failed, message.inbound\)/],
      [{ url: 'http://127.0.0.1:9/x', events: ['message.status'], description: 'd'.repeat(257) }, 'VALIDATION_FAILED', /description must be at most 256 characters/],
      [{ url: 'http://127.0.0.1:9/x', events: ['message.status'], secret: 'mine' }, 'VALIDATION_FAILED', /secret should not exist/],
    ];
    for (const [body, code, message] of cases) {
      const res = await create(body);
      expect({ body, status: res.status, code: res.body.code }).toEqual({ body, status: 400, code });
      expect(res.body.message).toMatch(message);
    }
    expect(await t.query('SELECT id FROM webhook_subscriptions')).toEqual([]);

    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const [method, path] of [
      ['GET', `/api/v1/webhooks/${unknown}`],
      ['PATCH', `/api/v1/webhooks/${unknown}`],
      ['DELETE', `/api/v1/webhooks/${unknown}`],
      ['GET', `/api/v1/webhooks/not-a-uuid/deliveries`],
      ['POST', `/api/v1/webhooks/${unknown}/deliveries/${unknown}/replay`],
      ['POST', `/api/v1/webhooks/${unknown}/rotate-secret`],
      ['POST', `/api/v1/webhooks/not-a-uuid/rotate-secret`],
    ]) {
      const res = await t.api(path, { method, token: t.adminToken, body: method === 'PATCH' ? { enabled: true } : undefined });
      expect({ path, status: res.status, code: res.body.code }).toEqual({ path, status: 404, code: 'WEBHOOK_NOT_FOUND' });
    }
    const { id } = await subscribe(['message.status']);
    const replay = await t.api(`/api/v1/webhooks/${id}/deliveries/${unknown}/replay`, { method: 'POST', token: t.adminToken });
    expect({ status: replay.status, code: replay.body.code }).toEqual({ status: 404, code: 'WEBHOOK_DELIVERY_NOT_FOUND' });
    expect((await t.api(`/api/v1/webhooks/${id}/deliveries?cursor=bogus`, { token: t.adminToken })).body.code).toBe('VALIDATION_FAILED');
    expect((await t.api(`/api/v1/webhooks/${id}/deliveries?status=sent`, { token: t.adminToken })).status).toBe(400);

    for (const [method, path] of [
      ['POST', '/api/v1/webhooks'],
      ['GET', '/api/v1/webhooks'],
      ['GET', `/api/v1/webhooks/${id}`],
      ['PATCH', `/api/v1/webhooks/${id}`],
      ['DELETE', `/api/v1/webhooks/${id}`],
      ['GET', `/api/v1/webhooks/${id}/deliveries`],
      ['POST', `/api/v1/webhooks/${id}/deliveries/${unknown}/replay`],
      ['POST', `/api/v1/webhooks/${id}/rotate-secret`],
    ]) {
      const res = await t.api(path, { method, token: senderToken, body: method === 'GET' || method === 'DELETE' ? undefined : { url: 'http://127.0.0.1:9/x', events: ['message.status'] } });
      expect({ method, path, status: res.status, code: res.body.code }).toEqual({ method, path, status: 403, code: 'FORBIDDEN' });
      expect((await t.api(path, { method })).status).toBe(401);
    }
    expect((await t.api(`/api/v1/webhooks/${id}`, { token: t.adminToken })).status).toBe(200);
  });

  it('allows at most 20 subscriptions', async () => {
    for (let i = 0; i < 20; i++) expect((await t.api('/api/v1/webhooks', { body: { url: `http://127.0.0.1:9/x${i}`, events: ['message.inbound'] }, token: t.adminToken })).status).toBe(201);
    const res = await t.api('/api/v1/webhooks', { body: { url: 'http://127.0.0.1:9/x20', events: ['message.inbound'] }, token: t.adminToken });
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 409, code: 'WEBHOOK_LIMIT_REACHED' });
  });

  it('delivers signed message.status events from queued to read, echoing clientReference and metadata', async () => {
    const { id, receiver } = await subscribe(['message.status']);
    const metadata = { orderId: 'A-77', vip: true };
    const messageId = await send({ to: '+14155550701', message: 'Your order shipped', clientReference: 'order-77', metadata });
    const events = await waitFor(async () => (receiver.accepted(messageId).some((e) => e.data.status === 'read') ? receiver.accepted(messageId) : undefined), 'the read event');

    expect(receiver.refused).toEqual([]);
    const statuses = events.map((e) => e.data.status);
    expect(statuses.slice(-2)).toEqual(['delivered', 'read']);
    // From queued (a late `sent` after `delivered` changes no status, so it makes no event); each
    // event names the status before it, and no event is delivered twice.
    expect(events[0].data.previousStatus).toBe('queued');
    events.forEach((e, i) => i > 0 && expect(e.data.previousStatus).toBe(statuses[i - 1]));
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);

    const read = events[events.length - 1];
    expect(read.type).toBe('message.status');
    expect(read.id).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(read.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(Math.abs(Number(read.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    const [row] = await t.query(`SELECT "messageSid", "to", "from" FROM "WhatsAppMessage" WHERE id = $1`, [messageId]);
    expect(read.data).toEqual({
      id: messageId,
      messageSid: row.messageSid,
      status: 'read',
      previousStatus: 'delivered',
      errorCode: null,
      errorHint: null,
      to: row.to,
      from: row.from,
      clientReference: 'order-77',
      metadata,
      timestamps: { scheduledAt: null, queuedAt: expect.any(String), sentAt: expect.any(String), deliveredAt: expect.any(String), readAt: expect.any(String), failedAt: null, canceledAt: null },
    });

    // Every delivery succeeded at its first attempt, and the listing shows it.
    const page = await deliveries(id);
    const mine = page.items.filter((d: any) => d.messageId === messageId);
    expect(mine).toHaveLength(events.length);
    expect(mine[0]).toMatchObject({ eventType: 'message.status', status: 'succeeded', attemptCount: 1, nextAttemptAt: null, lastStatusCode: 204, lastError: null });
    expect(mine[0].attempts).toEqual([{ eventId: mine[0].eventId, startedAt: expect.any(String), statusCode: 204, durationMs: expect.any(Number), error: null, nextRetryAt: null }]);
    expect(mine[0].payload).toMatchObject({ type: 'message.status', data: { id: messageId, status: 'read' } });
  });

  it('delivers message.failed with the error code and its hint, and message.inbound with the stored message', async () => {
    const failedSub = await subscribe(['message.failed']);
    const inboundSub = await subscribe(['message.inbound']);
    const messageId = await send({ to: '+15005550011', message: 'Hello', clientReference: 'will-fail' });
    const [failed] = await waitFor(async () => (failedSub.receiver.accepted(messageId).length > 0 ? failedSub.receiver.accepted(messageId) : undefined), 'the failed event');
    expect(failed.type).toBe('message.failed');
    expect(failed.data).toMatchObject({ id: messageId, status: 'failed', errorCode: expect.any(Number), errorHint: expect.any(String), clientReference: 'will-fail' });
    expect(failed.data.timestamps.failedAt).toEqual(expect.any(String));
    // Subscribed to message.failed only: no message.status event.
    expect(failedSub.receiver.events.every((e) => e.type === 'message.failed')).toBe(true);

    // Refused by Twilio at the send itself: failed without a SID, told all the same.
    const refusedId = await send({ to: '+15005550009', message: 'Hello', clientReference: 'refused' });
    const [refused] = await waitFor(async () => (failedSub.receiver.accepted(refusedId).length > 0 ? failedSub.receiver.accepted(refusedId) : undefined), 'the refused send\'s event');
    expect(refused.data).toMatchObject({ id: refusedId, messageSid: null, status: 'failed', previousStatus: 'queued', errorCode: expect.any(Number), clientReference: 'refused' });

    const sid = 'SM' + 'b7'.repeat(16);
    const inbound = await postInbound({ MessageSid: sid, AccountSid: t.config.twilio.sandbox.accountSid, From: 'whatsapp:+447911100077', To: 'whatsapp:+14155238886', Body: 'Where is my order?', ProfileName: 'Grace', WaId: '447911100077', ButtonPayload: 'track' });
    expect(inbound.status).toBe(200);
    const [event] = await waitFor(async () => (inboundSub.receiver.events.length > 0 ? inboundSub.receiver.events : undefined), 'the inbound event');
    const [stored] = await t.query(`SELECT id FROM "WhatsAppMessage" WHERE "messageSid" = $1`, [sid]);
    expect(event.type).toBe('message.inbound');
    expect(event.data).toEqual({
      id: stored.id,
      messageSid: sid,
      direction: 'inbound',
      from: 'whatsapp:+447911100077',
      to: 'whatsapp:+14155238886',
      body: 'Where is my order?',
      mediaUrls: [],
      mediaContentTypes: [],
      profileName: 'Grace',
      waId: '447911100077',
      status: 'received',
      metadata: { ButtonPayload: 'track' },
      receivedAt: expect.any(String),
    });
    // Only the inbound subscription got a delivery for the inbound message.
    expect(await t.query(`SELECT "subscriptionId" FROM webhook_deliveries WHERE "messageId" = $1`, [stored.id])).toEqual([{ subscriptionId: inboundSub.id }]);
  });

  it('tells a scheduled send\'s cancel as message.status canceled, with its scheduled time', async () => {
    const { receiver } = await subscribe(['message.status']);
    const sendAt = new Date(Date.now() + 3_600_000).toISOString();
    const res = await t.api('/api/v1/whatsapp/send', { body: { to: '+14155550706', message: 'Tomorrow', sendAt, clientReference: 'appt-1' }, token: t.adminToken });
    expect(res.status).toBe(202);
    const canceled = await t.api(`/api/v1/whatsapp/messages/${res.body.id}`, { method: 'DELETE', token: t.adminToken });
    expect(canceled.status).toBe(200);
    const [event] = await waitFor(async () => (receiver.accepted(res.body.id).length > 0 ? receiver.accepted(res.body.id) : undefined), 'the canceled event');
    expect(event.data).toMatchObject({ status: 'canceled', previousStatus: 'scheduled', clientReference: 'appt-1', timestamps: { scheduledAt: sendAt, canceledAt: expect.any(String), sentAt: null } });
  });

  it('retries a failing event with the same webhook-id and never delivers read before delivered', async () => {
    const { id, receiver } = await subscribe(['message.status']);
    let refusals = 0;
    receiver.respond = (e) => (e.data.status === 'delivered' && refusals++ < 2 ? 500 : 200);
    const messageId = await send({ to: '+14155550702', message: 'Ordering' });
    const events = await waitFor(async () => (receiver.accepted(messageId).some((e) => e.data.status === 'read') ? receiver.accepted(messageId) : undefined), 'the read event');
    // Accepted events in status order: read came after delivered, although delivered failed twice first.
    expect(events.map((e) => e.data.status).slice(-2)).toEqual(['delivered', 'read']);
    const deliveredTries = receiver.events.filter((e) => e.data.id === messageId && e.data.status === 'delivered');
    expect(deliveredTries.map((e) => e.answered)).toEqual([500, 500, 200]);
    expect(new Set(deliveredTries.map((e) => e.id)).size).toBe(1);
    const readArrival = receiver.events.findIndex((e) => e.data.id === messageId && e.data.status === 'read');
    const deliveredAccepted = receiver.events.findIndex((e) => e.data.id === messageId && e.data.status === 'delivered' && e.answered === 200);
    expect(readArrival).toBeGreaterThan(deliveredAccepted);

    const delivered = (await deliveries(id)).items.find((d: any) => d.messageId === messageId && d.payload.data.status === 'delivered');
    expect(delivered).toMatchObject({ status: 'succeeded', attemptCount: 3, lastStatusCode: 200 });
    expect(delivered.attempts.map((a: any) => a.statusCode)).toEqual([500, 500, 200]);
    expect(delivered.attempts[0].error).toBe('HTTP 500: receiver says no');
    expect(delivered.attempts[0].nextRetryAt).toEqual(expect.any(String));
    expect(delivered.attempts[2].nextRetryAt).toBeNull();
    expect((await t.api(`/api/v1/webhooks/${id}`, { token: t.adminToken })).body).toMatchObject({ enabled: true, consecutiveFailures: 0 });
  });

  it('disables a subscription whose delivery exhausted its retries, keeps later events pending, and re-enables', async () => {
    const { id, receiver } = await subscribe(['message.inbound']);
    receiver.respond = () => 503;
    const sid = (n: number) => 'SM' + `c${n}`.repeat(16);
    const inbound = (n: number) => postInbound({ MessageSid: sid(n), AccountSid: t.config.twilio.sandbox.accountSid, From: 'whatsapp:+447911100078', To: 'whatsapp:+14155238886', Body: `note ${n}` });
    expect((await inbound(1)).status).toBe(200);
    const disabled = await waitFor(async () => {
      const s = (await t.api(`/api/v1/webhooks/${id}`, { token: t.adminToken })).body;
      return s.enabled === false ? s : undefined;
    }, 'the subscription to be disabled');
    expect(disabled).toMatchObject({ consecutiveFailures: 4, disabledAt: expect.any(String) });
    expect(disabled.disabledReason).toMatch(/failed all 4 attempts of the retry schedule; last: HTTP 503/);
    expect(receiver.events.map((e) => e.answered)).toEqual([503, 503, 503, 503]);
    expect((await deliveries(id, '?status=failed')).items).toHaveLength(1);

    // While disabled, new events are not recorded (the subscription does not listen) and nothing is attempted.
    expect((await inbound(2)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.events).toHaveLength(4);

    receiver.respond = () => 200;
    const replayed = await t.api(`/api/v1/webhooks/${id}/deliveries/${(await deliveries(id)).items[0].id}/replay`, { method: 'POST', token: t.adminToken });
    expect(replayed.status).toBe(202);
    const enabled = await t.api(`/api/v1/webhooks/${id}`, { method: 'PATCH', body: { enabled: true }, token: t.adminToken });
    expect(enabled.body).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null, consecutiveFailures: 0 });
    await waitFor(async () => receiver.events.some((e) => e.answered === 200 && e.data.body === 'note 1'), 'the replayed delivery after re-enabling');
    expect((await inbound(3)).status).toBe(200);
    await waitFor(async () => receiver.events.some((e) => e.answered === 200 && e.data.body === 'note 3'), 'a new event after re-enabling');
  });

  it('keeps the pending deliveries of a paused subscription, records no new ones, and sends the kept ones in order when enabled again', async () => {
    const { id, receiver } = await subscribe(['message.status']);
    receiver.respond = () => 503;
    const messageId = await send({ to: '+14155550703', message: 'Paused' });
    // The first status event fails and is retried, which holds the later ones of the message behind it.
    await waitFor(async () => (await t.query(`SELECT 1 FROM "WhatsAppMessage" WHERE id = $1 AND status = 'read'`, [messageId])).length > 0, 'the message to be read');
    await waitFor(async () => receiver.events.some((e) => e.data.id === messageId), 'a first attempt');
    expect((await t.api(`/api/v1/webhooks/${id}`, { method: 'PATCH', body: { enabled: false }, token: t.adminToken })).status).toBe(200);
    const kept = await t.query(`SELECT id, status, body::jsonb->'data'->>'status' AS "messageStatus" FROM webhook_deliveries WHERE "subscriptionId" = $1 ORDER BY seq`, [id]);
    expect(kept.map((d) => d.messageStatus).slice(-2)).toEqual(['delivered', 'read']);
    expect(kept.every((d) => d.status === 'pending')).toBe(true);
    const attemptsWhenPaused = receiver.events.length;

    // While paused: no attempt, and the events of another message are not recorded for it.
    const otherId = await send({ to: '+14155550705', message: 'While paused' });
    await waitFor(async () => (await t.query(`SELECT 1 FROM "WhatsAppMessage" WHERE id = $1 AND status = 'read'`, [otherId])).length > 0, 'the other message to be read');
    await new Promise((r) => setTimeout(r, 700));
    expect(receiver.events.length).toBe(attemptsWhenPaused);
    expect(await t.query(`SELECT id FROM webhook_deliveries WHERE "messageId" = $1`, [otherId])).toEqual([]);

    receiver.respond = () => 200;
    await t.api(`/api/v1/webhooks/${id}`, { method: 'PATCH', body: { enabled: true }, token: t.adminToken });
    await waitFor(async () => (await deliveries(id, '?status=pending')).items.length === 0, 'the kept deliveries to be sent');
    expect(receiver.accepted(messageId).map((e) => e.data.status)).toEqual(kept.map((d) => d.messageStatus));
  });

  it('replays a delivery that succeeded with the same webhook-id, and pages the listing newest first', async () => {
    const { id, receiver } = await subscribe(['message.inbound']);
    for (const n of [1, 2, 3]) {
      await postInbound({ MessageSid: 'SM' + `d${n}`.repeat(16), AccountSid: t.config.twilio.sandbox.accountSid, From: 'whatsapp:+447911100079', To: 'whatsapp:+14155238886', Body: `page ${n}` });
    }
    await waitFor(async () => receiver.events.length === 3, 'three events');
    const first = await deliveries(id, '?limit=2');
    expect(first.items.map((d: any) => d.payload.data.body)).toEqual(['page 3', 'page 2']);
    const second = await deliveries(id, `?limit=2&cursor=${first.nextCursor}`);
    expect(second.items.map((d: any) => d.payload.data.body)).toEqual(['page 1']);
    expect(second.nextCursor).toBeNull();

    const target = second.items[0];
    const res = await t.api(`/api/v1/webhooks/${id}/deliveries/${target.id}/replay`, { method: 'POST', token: t.adminToken });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: target.id, status: 'pending', attemptCount: 0 });
    await waitFor(async () => receiver.events.length === 4, 'the replay');
    expect(receiver.events[3].id).toBe(target.eventId);
    const after = (await deliveries(id)).items.find((d: any) => d.id === target.id);
    expect(after).toMatchObject({ status: 'succeeded', attemptCount: 1 });
    expect(after.attempts).toHaveLength(2);
  });

  it('rotates the secret: the new one is shown once, and deliveries verify with the old one too for a day', async () => {
    const { id, secret: oldSecret, receiver } = await subscribe(['message.inbound']);
    const res = await t.api(`/api/v1/webhooks/${id}/rotate-secret`, { method: 'POST', token: t.adminToken });
    expect(res.status).toBe(200);
    expect(res.body.secret).toMatch(/^whsec_/);
    expect(res.body.secret).not.toBe(oldSecret);
    const dayMs = Date.parse(res.body.previousSecretExpiresAt) - Date.now();
    expect(dayMs).toBeGreaterThan(23.9 * 3600_000);
    expect(dayMs).toBeLessThanOrEqual(24 * 3600_000);
    const read = await t.api(`/api/v1/webhooks/${id}`, { token: t.adminToken });
    expect(read.text).not.toContain(res.body.secret.slice(6));

    const inbound = (n: number) => postInbound({ MessageSid: 'SM' + `a${n}`.repeat(16), AccountSid: t.config.twilio.sandbox.accountSid, From: 'whatsapp:+447911100082', To: 'whatsapp:+14155238886', Body: `rotated ${n}` });
    // The receiver still holds the old secret: it verifies.
    await inbound(1);
    await waitFor(async () => receiver.events.length === 1, 'an event verified with the old secret');
    expect(String(receiver.events[0].headers['webhook-signature']).split(' ')).toHaveLength(2);
    // It switches to the new one: verifies as well.
    receiver.secret = res.body.secret;
    await inbound(2);
    await waitFor(async () => receiver.events.length === 2, 'an event verified with the new secret');
    expect(receiver.refused).toEqual([]);
  });

  it('gives a job again to an overdue pending delivery whose job was lost (Redis lost its data)', async () => {
    const { id, receiver } = await subscribe(['message.inbound']);
    const body = JSON.stringify({ type: 'message.inbound', timestamp: new Date().toISOString(), data: { id: 'lost', body: 'lost job' } });
    // A delivery as the recorder writes it, whose outbox job was relayed and then lost with Redis's data.
    await t.query(`INSERT INTO webhook_deliveries ("subscriptionId", "eventId", "eventType", body, "nextAttemptAt") VALUES ($1, 'msg_lost', 'message.inbound', $2, now() - interval '10 minutes')`, [id, body]);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.events).toEqual([]);
    expect(await t.app.get(WebhookDeliverySweeper).sweep()).toBe(1);
    const [event] = await waitFor(async () => (receiver.events.length > 0 ? receiver.events : undefined), 'the swept delivery');
    expect({ id: event.id, body: event.data.body }).toEqual({ id: 'msg_lost', body: 'lost job' });
    // Delivered: nothing overdue any more.
    await waitFor(async () => (await deliveries(id, '?status=succeeded')).items.length === 1, 'the delivery to succeed');
    expect(await t.app.get(WebhookDeliverySweeper).sweep()).toBe(0);
  });

  it('records nothing and does no delivery work for an event nobody subscribed to', async () => {
    const { id } = await subscribe(['message.failed']);
    const before = (await t.query(`SELECT count(*)::int AS n FROM webhook_deliveries`))[0].n;
    const messageId = await send({ to: '+14155550704', message: 'Nobody listens to status' });
    await waitFor(async () => (await t.query(`SELECT 1 FROM "WhatsAppMessage" WHERE id = $1 AND status = 'read'`, [messageId])).length > 0, 'the message to be read');
    expect((await t.query(`SELECT count(*)::int AS n FROM webhook_deliveries`))[0].n).toBe(before);
    expect((await deliveries(id)).items).toEqual([]);
  });
});

describe('outbound webhooks with private receivers refused, as in production (e2e)', () => {
  let t: TestApp;
  const receiver = new WebhookReceiver();

  beforeAll(async () => {
    t = await startTestApp({ WEBHOOK_ALLOW_PRIVATE_URLS: 'false', WEBHOOK_RETRY_SCHEDULE_MS: '0' });
  });
  afterAll(async () => {
    await t?.close();
    await receiver.stop();
  });

  it('refuses loopback, private, link-local and unique-local receivers at creation and change', async () => {
    for (const url of ['http://127.0.0.1:8080/x', 'https://localhost/x', 'https://10.1.2.3/x', 'https://192.168.0.10/x', 'https://169.254.169.254/latest/meta-data', 'https://[::1]/x', 'https://[fd00::1]/x', 'https://0.0.0.0/x']) {
      const res = await t.api('/api/v1/webhooks', { body: { url, events: ['message.status'] }, token: t.adminToken });
      expect({ url, status: res.status, code: res.body.code }).toEqual({ url, status: 400, code: 'WEBHOOK_URL_FORBIDDEN' });
    }
    expect(await t.query('SELECT id FROM webhook_subscriptions')).toEqual([]);
  });

  it('refuses a private receiver again at delivery time, without connecting to it', async () => {
    const url = await receiver.start();
    // Stored before the rule applied (or its name re-pointed since): the delivery checks again.
    const [sub] = await t.query(`INSERT INTO webhook_subscriptions (url, events, secret) VALUES ($1, '{message.inbound}', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw') RETURNING id`, [url]);
    await t.app.get(WebhookSubscriptionCache).reload();
    const params = { MessageSid: 'SM' + 'e5'.repeat(16), AccountSid: t.config.twilio.sandbox.accountSid, From: 'whatsapp:+447911100080', To: 'whatsapp:+14155238886', Body: 'hi' };
    const res = await t.api('/api/v1/whatsapp/webhook', { body: formBody(params), headers: { ...FORM, 'x-twilio-signature': twilioSignature(t.config.twilio.webhookAuthTokens[0], t.config.twilio.webhookUrl, params) } });
    expect(res.status).toBe(200);
    const [attempt] = await waitFor(async () => {
      const rows = await t.query(`SELECT a."statusCode", a.error FROM webhook_delivery_attempts a JOIN webhook_deliveries d ON d.id = a."deliveryId" WHERE d."subscriptionId" = $1`, [sub.id]);
      return rows.length > 0 ? rows : undefined;
    }, 'the refused attempt');
    expect(attempt).toEqual({ statusCode: null, error: expect.stringMatching(/private, loopback or reserved address \(127\.0\.0\.1\)/) });
    expect(receiver.events).toEqual([]);
    expect(receiver.refused).toEqual([]);
  });
});

describe('outbound webhooks disabled after a run of failed attempts (e2e)', () => {
  let t: TestApp;
  const receiver = new WebhookReceiver();

  beforeAll(async () => {
    t = await startTestApp({ WEBHOOK_DISABLE_AFTER_FAILURES: '3', WEBHOOK_RETRY_SCHEDULE_MS: '0,100,100,100,100,100,100,100' });
  });
  afterAll(async () => {
    await t?.close();
    await receiver.stop();
  });

  it('disables the subscription after WEBHOOK_DISABLE_AFTER_FAILURES failed attempts in a row, long before the schedule ends', async () => {
    const url = await receiver.start();
    const created = await t.api('/api/v1/webhooks', { body: { url, events: ['message.inbound'] }, token: t.adminToken });
    receiver.secret = created.body.secret;
    receiver.respond = () => 500;
    const params = { MessageSid: 'SM' + 'f6'.repeat(16), AccountSid: t.config.twilio.sandbox.accountSid, From: 'whatsapp:+447911100081', To: 'whatsapp:+14155238886', Body: 'hello' };
    await t.api('/api/v1/whatsapp/webhook', { body: formBody(params), headers: { ...FORM, 'x-twilio-signature': twilioSignature(t.config.twilio.webhookAuthTokens[0], t.config.twilio.webhookUrl, params) } });
    const disabled = await waitFor(async () => {
      const s = (await t.api(`/api/v1/webhooks/${created.body.id}`, { token: t.adminToken })).body;
      return s.enabled === false ? s : undefined;
    }, 'the subscription to be disabled');
    expect(disabled).toMatchObject({ consecutiveFailures: 3, disabledReason: expect.stringMatching(/^3 consecutive failed attempts; last: HTTP 500/) });
    await new Promise((r) => setTimeout(r, 400));
    // Kept pending, no longer attempted.
    expect(receiver.events).toHaveLength(3);
    const [delivery] = await t.query(`SELECT status, attempts FROM webhook_deliveries`);
    expect(delivery).toEqual({ status: 'pending', attempts: 3 });
  });
});
