import { randomBytes, createHash } from 'node:crypto';
import { FORM, formBody, twilioSignature } from './support/twilio-signing';
import { startTestApp, TestApp, waitFor } from './support/test-app';

const PREVIOUS_TOKEN = 'previous-auth-token-from-last-quarter';

function sid(): string {
  return 'SM' + randomBytes(16).toString('hex');
}

function shuffle<T>(items: T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

describe('message lifecycle through callbacks (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ TWILIO_AUTH_TOKEN_PREVIOUS: PREVIOUS_TOKEN });
  });
  afterAll(async () => {
    await t?.close();
  });

  const callback = (params: Record<string, string>, token = t.config.twilio.webhookAuthTokens[0]) =>
    t.api('/api/v1/whatsapp/status', {
      body: formBody(params),
      headers: { ...FORM, 'x-twilio-signature': twilioSignature(token, t.config.twilio.statusCallbackUrl, params) },
    });

  /** A sent message as the worker leaves it: SID known, waiting for callbacks. */
  async function seedMessage(messageSid: string, to = '+14155550400'): Promise<string> {
    const [row] = await t.query<{ id: string }>(
      `INSERT INTO "WhatsAppMessage" (direction, "from", "to", body, status, "messageSid", "queuedAt", attempts)
       VALUES ('outbound', 'whatsapp:+14155238886', $1, 'seeded', 'queued', $2, now() - interval '1 minute', 1) RETURNING id`,
      [`whatsapp:${to}`, messageSid],
    );
    return row.id;
  }

  it('ends shuffled and duplicated callbacks for many messages in the right final states', async () => {
    const scenarios: { statuses: [string, string?][]; final: string; errorCode: number | null; reached: string[] }[] = [
      { statuses: [['sent'], ['delivered'], ['read']], final: 'read', errorCode: null, reached: ['sentAt', 'deliveredAt', 'readAt'] },
      { statuses: [['sent'], ['read']], final: 'read', errorCode: null, reached: ['sentAt', 'deliveredAt', 'readAt'] },
      { statuses: [['queued'], ['sending'], ['sent'], ['delivered']], final: 'delivered', errorCode: null, reached: ['sentAt', 'deliveredAt'] },
      { statuses: [['sent'], ['undelivered', '30003']], final: 'undelivered', errorCode: 30003, reached: ['sentAt', 'failedAt'] },
      { statuses: [['sending'], ['failed', '63016']], final: 'failed', errorCode: 63016, reached: ['failedAt'] },
    ];
    const messages: { id: string; sid: string; scenario: (typeof scenarios)[number] }[] = [];
    for (let i = 0; i < 40; i++) {
      const s = sid();
      messages.push({ id: await seedMessage(s), sid: s, scenario: scenarios[i % scenarios.length] });
    }
    const calls = shuffle(
      messages.flatMap((m) =>
        m.scenario.statuses.flatMap(([status, code]) => {
          const params: Record<string, string> = { MessageSid: m.sid, SmsSid: m.sid, MessageStatus: status, SmsStatus: status, AccountSid: t.config.twilio.sandbox.accountSid };
          if (code) params.ErrorCode = code;
          return [params, params, ...(Math.random() < 0.3 ? [params] : [])]; // every callback at least twice
        }),
      ),
    );
    // Concurrent, like Twilio's callback fleet.
    for (let i = 0; i < calls.length; i += 16) {
      const results = await Promise.all(calls.slice(i, i + 16).map((p) => callback(p)));
      for (const r of results) expect(r.status).toBe(200);
    }

    for (const m of messages) {
      const [row] = await t.query(`SELECT status, "errorCode", "sentAt", "deliveredAt", "readAt", "failedAt", "deliveryTimeMs" FROM "WhatsAppMessage" WHERE id = $1`, [m.id]);
      expect({ sid: m.sid, status: row.status, errorCode: row.errorCode }).toEqual({ sid: m.sid, status: m.scenario.final, errorCode: m.scenario.errorCode });
      for (const field of ['sentAt', 'deliveredAt', 'readAt', 'failedAt']) {
        expect({ sid: m.sid, field, set: row[field] !== null }).toEqual({ sid: m.sid, field, set: m.scenario.reached.includes(field) });
      }
      if (row.deliveredAt) expect(row.deliveryTimeMs).toBeGreaterThanOrEqual(0);
      // Exactly one stored event per distinct status, however many duplicates arrived.
      const events = await t.query<{ status: string }>(`SELECT status FROM message_events WHERE "messageSid" = $1`, [m.sid]);
      expect(events.map((e) => e.status).sort()).toEqual(m.scenario.statuses.map(([s]) => s).sort());
    }
  });

  it('never lets a late sent downgrade delivered, nor failed revive a delivered message', async () => {
    const s = sid();
    const id = await seedMessage(s);
    for (const status of ['delivered', 'sent', 'failed', 'queued']) {
      expect((await callback({ MessageSid: s, MessageStatus: status, ...(status === 'failed' ? { ErrorCode: '30008' } : {}) })).status).toBe(200);
    }
    const [row] = await t.query(`SELECT status, "errorCode", "failedAt", "sentAt", "deliveredAt", "deliveryTimeMs" FROM "WhatsAppMessage" WHERE id = $1`, [id]);
    expect(row).toMatchObject({ status: 'delivered', errorCode: null, failedAt: null });
    // The delivery dated the send (when the request left for Twilio); the late `sent`, stamped
    // with its arrival after the delivery, cannot date it better and leaves it.
    expect(row.sentAt.getTime()).toBeLessThan(row.deliveredAt.getTime());
    expect(row.deliveryTimeMs).toBe(row.deliveredAt.getTime() - row.sentAt.getTime());
    const events = await t.api(`/api/v1/whatsapp/messages/${id}/events`, { token: t.adminToken });
    expect(events.body.map((e: { status: string; applied: boolean }) => [e.status, e.applied])).toEqual([
      ['delivered', true],
      ['sent', false],
      ['failed', false],
      ['queued', false],
    ]);
  });

  it('uses RawDlrDoneDate for a delivery reported late', async () => {
    const s = sid();
    const id = await seedMessage(s);
    await t.query(`UPDATE "WhatsAppMessage" SET "sentAt" = '2026-01-05T10:00:30Z' WHERE id = $1`, [id]);
    expect((await callback({ MessageSid: s, MessageStatus: 'delivered', RawDlrDoneDate: '2601051002' })).status).toBe(200);
    const [row] = await t.query(`SELECT "deliveredAt", "deliveryTimeMs" FROM "WhatsAppMessage" WHERE id = $1`, [id]);
    expect(row.deliveredAt.toISOString()).toBe('2026-01-05T10:02:00.000Z');
    expect(row.deliveryTimeMs).toBe(90_000);
  });

  it('applies callbacks that arrived before the SID was known, once it is', async () => {
    const s = sid();
    expect((await callback({ MessageSid: s, MessageStatus: 'sent' })).body.outcome).toBe('unknown_sid');
    expect((await callback({ MessageSid: s, MessageStatus: 'delivered' })).body.outcome).toBe('unknown_sid');
    const [row] = await t.query<{ id: string }>(
      `INSERT INTO "WhatsAppMessage" (direction, "from", "to", status, "queuedAt") VALUES ('outbound', 'whatsapp:+14155238886', 'whatsapp:+14155550401', 'queued', now()) RETURNING id`,
    );
    const { MessageLifecycleService } = await import('../src/modules/whatsapp/lifecycle/message-lifecycle.service');
    const { WhatsAppMessageRepository } = await import('../src/modules/whatsapp/messages/whatsapp-message.repository');
    const stored = await t.app.get(WhatsAppMessageRepository).findById(row.id);
    await t.app.get(MessageLifecycleService).attachSid(stored!, { sid: s, status: 'queued' });
    const status = await t.api(`/api/v1/whatsapp/delivery-status/${row.id}`, { token: t.adminToken });
    expect(status.body).toMatchObject({ messageSid: s, status: 'delivered' });
    expect(status.body.timestamps.sent).toEqual(expect.any(String));
  });

  it('accepts callbacks signed with the previous auth token during a rotation, and records which token matched', async () => {
    const s = sid();
    await seedMessage(s);
    expect((await callback({ MessageSid: s, MessageStatus: 'sent' }, PREVIOUS_TOKEN)).status).toBe(200);
    expect((await callback({ MessageSid: s, MessageStatus: 'delivered' })).status).toBe(200);
    expect((await callback({ MessageSid: s, MessageStatus: 'read' }, 'a-token-nobody-configured')).status).toBe(403);
    const events = await t.query(`SELECT status, "tokenIndex" FROM message_events WHERE "messageSid" = $1 ORDER BY id`, [s]);
    expect(events).toEqual([
      { status: 'sent', tokenIndex: 1 },
      { status: 'delivered', tokenIndex: 0 },
    ]);
  });

  it('verifies JSON callbacks by their body hash', async () => {
    const s = sid();
    const id = await seedMessage(s);
    const body = JSON.stringify({ MessageSid: s, MessageStatus: 'sent' });
    const hash = createHash('sha256').update(body).digest('hex');
    const path = `/api/v1/whatsapp/status?bodySHA256=${hash}`;
    const url = `${t.config.twilio.statusCallbackUrl}?bodySHA256=${hash}`;
    const signature = twilioSignature(t.config.twilio.webhookAuthTokens[0], url, {});
    const ok = await t.api(path, { body, headers: { 'content-type': 'application/json', 'x-twilio-signature': signature } });
    expect(ok.status).toBe(200);
    const forged = await t.api(path, { body: body.replace('sent', 'read'), headers: { 'content-type': 'application/json', 'x-twilio-signature': signature } });
    expect(forged.status).toBe(403);
    expect(forged.body.details).toEqual({ reason: 'body_hash_mismatch' });
    const [row] = await t.query(`SELECT status FROM "WhatsAppMessage" WHERE id = $1`, [id]);
    expect(row.status).toBe('sent');
  });

  it('refuses webhook bodies over its own size limit with 413 JSON', async () => {
    const res = await t.api('/api/v1/whatsapp/status', { body: formBody({ MessageSid: sid(), Body: 'x'.repeat(70 * 1024) }), headers: FORM });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ statusCode: 413, code: 'PAYLOAD_TOO_LARGE' });
  });
});

describe('opt-out, contacts and message listing (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ API_RATE_LIMIT_PER_MINUTE: '1000' });
  });
  afterAll(async () => {
    await t?.close();
  });

  const inbound = (from: string, body: string) => {
    const params = { MessageSid: sid(), AccountSid: t.config.twilio.sandbox.accountSid, From: `whatsapp:${from}`, To: 'whatsapp:+14155238886', Body: body, NumMedia: '0' };
    return t.api('/api/v1/whatsapp/webhook', {
      body: formBody(params),
      headers: { ...FORM, 'x-twilio-signature': twilioSignature(t.config.twilio.webhookAuthTokens[0], t.config.twilio.webhookUrl, params) },
    });
  };
  const send = (to: string, token = t.adminToken) => t.api('/api/v1/whatsapp/send', { body: { to, message: 'hello' }, token });
  const sandboxRequestsTo = (to: string) => t.sandbox.control.receivedRequests().filter((r) => r.params.To === `whatsapp:${to}`).length;

  it('refuses sends to a number that replied STOP, before any Twilio call, until it replies START', async () => {
    const phone = '+447911000001';
    expect((await inbound(phone, ' Stop ')).status).toBe(200);
    const refused = await send(phone);
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: 'RECIPIENT_OPTED_OUT' });
    expect((await t.api('/api/v1/whatsapp/send', { body: { to: phone, message: 'x', immediate: true }, token: t.adminToken })).status).toBe(422);
    expect(sandboxRequestsTo(phone)).toBe(0);
    const contact = await t.api(`/api/v1/whatsapp/contacts/${encodeURIComponent(phone)}`, { token: t.adminToken });
    expect(contact.body).toMatchObject({ phone, optedOut: true, sessionWindowOpen: true });

    expect((await inbound(phone, 'START')).status).toBe(200);
    const allowed = await send(phone);
    expect(allowed.status).toBe(202);
    await waitFor(async () => sandboxRequestsTo(phone) === 1, 'the send after START');
    expect((await t.api(`/api/v1/whatsapp/contacts/${encodeURIComponent(phone)}`, { token: t.adminToken })).body.optedOut).toBe(false);
  });

  it('treats the WhatsApp ID and the dialable number of a Mexican user as one contact', async () => {
    expect((await inbound('+5215512345678', 'STOP')).status).toBe(200);
    const refused = await send('+525512345678');
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('RECIPIENT_OPTED_OUT');
    expect((await t.api('/api/v1/whatsapp/contacts/%2B525512345678', { token: t.adminToken })).body.optedOut).toBe(true);
  });

  it('fails a queued message whose recipient opted out before the worker sent it, without calling Twilio', async () => {
    const phone = '+447911000002';
    const [row] = await t.query<{ id: string }>(
      `INSERT INTO "WhatsAppMessage" (direction, "from", "to", body, status, "queuedAt") VALUES ('outbound', 'whatsapp:+14155238886', $1, 'x', 'queued', now()) RETURNING id`,
      [`whatsapp:${phone}`],
    );
    await inbound(phone, 'unsubscribe');
    const { MessageDispatchService } = await import('../src/modules/whatsapp/message-dispatch.service');
    await expect(t.app.get(MessageDispatchService).dispatch(row.id, { attempt: 1, maxAttempts: 5 })).rejects.toMatchObject({ final: true });
    const [after] = await t.query(`SELECT status, "errorCode" FROM "WhatsAppMessage" WHERE id = $1`, [row.id]);
    expect(after).toEqual({ status: 'failed', errorCode: 21610 });
    expect(sandboxRequestsTo(phone)).toBe(0);
  });

  it('shows a contact the service never heard from as unknown, and refuses a bad number', async () => {
    const res = await t.api('/api/v1/whatsapp/contacts/+14155550999', { token: t.adminToken });
    expect(res.body).toEqual({ phone: '+14155550999', known: false, profileName: null, lastInboundAt: null, sessionWindowOpen: false, sessionWindowExpiresAt: null, optedOut: false, optedOutAt: null });
    expect((await t.api('/api/v1/whatsapp/contacts/12345', { token: t.adminToken })).status).toBe(400);
  });

  it('lists messages newest first with cursor pagination; senders see only their own', async () => {
    const { UsersService } = await import('../src/modules/auth/users.service');
    const { UserRole } = await import('../src/modules/auth/entities/user.entity');
    await t.app.get(UsersService).create('sender@example.com', UserRole.Sender, 'sender-password-123');
    const senderToken = await t.login('sender@example.com', 'sender-password-123');
    const mine: string[] = [];
    for (let i = 0; i < 5; i++) mine.push((await send(`+1415555060${i}`, senderToken)).body.id);
    await send('+14155550610'); // the admin's

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { data: { id: string }[]; nextCursor: string | null } } = await t.api(
        `/api/v1/whatsapp/messages?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { token: senderToken },
      );
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((m) => m.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...mine].reverse());

    const adminView = await t.api('/api/v1/whatsapp/messages?direction=inbound&limit=200', { token: t.adminToken });
    expect(adminView.body.data.length).toBeGreaterThan(0);
    expect(adminView.body.data.every((m: { direction: string }) => m.direction === 'inbound')).toBe(true);
    const byTo = await t.api(`/api/v1/whatsapp/messages?to=${encodeURIComponent('+14155550610')}`, { token: t.adminToken });
    expect(byTo.body.data).toHaveLength(1);
    expect((await t.api('/api/v1/whatsapp/messages?to=%2B14155550610', { token: senderToken })).body.data).toHaveLength(0);

    // A sender cannot read someone else's message by id or SID either.
    const adminsMessage = (await send('+14155550611')).body.id;
    expect((await t.api(`/api/v1/whatsapp/delivery-status/${adminsMessage}`, { token: senderToken })).status).toBe(404);
    expect((await t.api(`/api/v1/whatsapp/messages/${adminsMessage}/events`, { token: senderToken })).status).toBe(404);
    expect((await t.api(`/api/v1/whatsapp/delivery-status/${mine[0]}`, { token: senderToken })).status).toBe(200);
    expect((await t.api(`/api/v1/whatsapp/delivery-status/${mine[0]}`, { token: t.adminToken })).status).toBe(200);

    const tampered = Buffer.from(JSON.stringify({ c: '2026-01-01T00:00:00Z', i: 'nope' })).toString('base64url');
    for (const bad of ['status=lost', 'limit=0', 'since=yesterday', 'cursor=abc', `cursor=${tampered}`, 'since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z']) {
      const res = await t.api(`/api/v1/whatsapp/messages?${bad}`, { token: t.adminToken });
      expect({ bad, status: res.status, code: res.body.code }).toEqual({ bad, status: 400, code: 'VALIDATION_FAILED' });
    }
  });
});

describe('API rate limits (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ API_RATE_LIMIT_PER_MINUTE: '5' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers 429 with a JSON body past the per-user limit, but never throttles Twilio webhooks or probes', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await t.api('/api/v1/whatsapp/messages', { token: t.adminToken })).status);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1);
    const limited = await t.api('/api/v1/whatsapp/messages', { token: t.adminToken });
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);

    const signature = twilioSignature(t.config.twilio.webhookAuthTokens[0], t.config.twilio.statusCallbackUrl, {});
    for (let i = 0; i < 10; i++) {
      expect((await t.api('/api/v1/whatsapp/status', { headers: { 'x-twilio-signature': signature } })).status).toBe(200);
      expect((await t.api('/api/v1/health')).status).toBe(200);
    }
  });
});
