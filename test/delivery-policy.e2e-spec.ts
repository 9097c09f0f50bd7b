import { FORM, formBody, twilioSignature } from './support/twilio-signing';
import { startTestApp, TestApp, waitFor } from './support/test-app';

const APPOINTMENT_TEMPLATE = 'HX0000000000000000000000000000a001';

async function statusOf(t: TestApp, id: string): Promise<any> {
  return (await t.api(`/api/v1/whatsapp/delivery-status/${id}`, { token: t.adminToken })).body;
}

async function waitForStatus(t: TestApp, id: string, statuses: string[], what = statuses.join('/')): Promise<any> {
  return waitFor(async () => {
    const s = await statusOf(t, id);
    return statuses.includes(s.status) ? s : undefined;
  }, `${id} to be ${what}`);
}

const requestsTo = (t: TestApp, number: string) => t.sandbox.control.receivedRequests().filter((r) => r.params.To === `whatsapp:${number}`);

describe('delivery policy (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ WHATSAPP_RETRY_LATER_MS: '50', TWILIO_TIMEOUT_MS: '1000' });
  });
  afterAll(async () => {
    await t?.close();
  });
  afterEach(() => t.sandbox.control.resetFaults());

  const send = (body: object) => t.api('/api/v1/whatsapp/send', { body, token: t.adminToken });

  it('fails a permanent error (21211) at once, with its hint, and never retries it', async () => {
    const res = await send({ to: '+15005550001', message: 'x' });
    expect(res.status).toBe(202);
    const final = await waitForStatus(t, res.body.id, ['failed']);
    expect(final).toMatchObject({ errorCode: 21211, attempts: 1, errorHint: expect.any(String) });
    expect(final.errorMessage).toEqual(expect.any(String));
    await new Promise((r) => setTimeout(r, 300)); // a retry would have come by now (backoff is 50 ms)
    expect(requestsTo(t, '+15005550001')).toHaveLength(1);
  });

  it('sends a 429 again once its sender’s pause is over, delivered in one attempt (a 429 is no attempt)', async () => {
    t.sandbox.control.setFaults({ failNext: [{ httpStatus: 429, code: 20429, message: 'Too Many Requests', count: 1 }] });
    const to = '+14155550501';
    const res = await send({ to, message: 'busy Twilio' });
    const final = await waitForStatus(t, res.body.id, ['delivered', 'read']);
    expect(final.attempts).toBe(1);
    expect(final.errorCode).toBe(20429); // the last error is kept for the record, the message is delivered
    // The injected 429 answers before the number is looked at, so count by outcome in order.
    expect(requestsTo(t, to).map((r) => r.outcome)).toEqual(['fault', 'created']);
    expect(t.sandbox.control.messages().filter((m) => m.resource.to === `whatsapp:${to}`)).toHaveLength(1);
  });

  it('does not send twice when an attempt timed out after reaching Twilio: it looks the message up first', async () => {
    t.sandbox.control.setFaults({ timeoutProbability: 1, timeoutAnswerAfterMs: null });
    const to = '+14155550502';
    const res = await send({ to, message: 'slow Twilio' });
    await waitFor(async () => (await statusOf(t, res.body.id)).attempts >= 1 && t.sandbox.control.messages().some((m) => m.resource.to === `whatsapp:${to}`), 'the first attempt');
    t.sandbox.control.resetFaults();
    const final = await waitForStatus(t, res.body.id, ['read']);
    const atTwilio = t.sandbox.control.messages().filter((m) => m.resource.to === `whatsapp:${to}`);
    expect(atTwilio).toHaveLength(1);
    expect(final.messageSid).toBe(atTwilio[0].sid);
    expect(final.attempts).toBe(2);
  });

  it('pairs look-alike unanswered template sends with their own messages at Twilio, none sent twice', async () => {
    t.sandbox.control.setFaults({ timeoutProbability: 1, timeoutAnswerAfterMs: null });
    const to = '+14155550508';
    const body = { to, contentSid: APPOINTMENT_TEMPLATE, contentVariables: { '1': '1/2', '2': '9am' } };
    const ids = [(await send(body)).body.id, (await send(body)).body.id];
    await waitFor(async () => t.sandbox.control.messages().filter((m) => m.resource.to === `whatsapp:${to}`).length === 2, 'both creates at Twilio');
    t.sandbox.control.resetFaults();
    const finals = await Promise.all(ids.map((id) => waitForStatus(t, id, ['read'])));
    const atTwilio = t.sandbox.control.messages().filter((m) => m.resource.to === `whatsapp:${to}`);
    expect(atTwilio).toHaveLength(2);
    expect(new Set(finals.map((f) => f.messageSid))).toEqual(new Set(atTwilio.map((m) => m.sid)));
  });

  it('of two jobs for one message at the same time, exactly one sends', async () => {
    const [row] = await t.query<{ id: string }>(
      `INSERT INTO "WhatsAppMessage" (direction, "from", "to", body, status, "queuedAt") VALUES ('outbound', 'whatsapp:+14155238886', 'whatsapp:+14155550509', 'twice?', 'queued', now()) RETURNING id`,
    );
    t.sandbox.control.setFaults({ latencyMs: 300 });
    const { MessageDispatchService } = await import('../src/modules/whatsapp/message-dispatch.service');
    const dispatcher = t.app.get(MessageDispatchService);
    const outcomes = (await Promise.all([1, 2].map(() => dispatcher.dispatch(row.id, { attempt: 1, maxAttempts: 5 })))).map((r) => r.outcome);
    expect(outcomes.filter((o) => o === 'sent')).toHaveLength(1);
    expect(outcomes.filter((o) => o !== 'sent').every((o) => o === 'deferred' || o === 'skipped')).toBe(true);
    expect(t.sandbox.control.messages().filter((m) => m.resource.to === 'whatsapp:+14155550509')).toHaveLength(1);
  });

  it('leaves look-alike template sends queued, with a clear note, when it cannot tell which one reached Twilio', async () => {
    const to = 'whatsapp:+14155550510';
    const seed = (vars: string) =>
      t.query<{ id: string }>(
        `INSERT INTO "WhatsAppMessage" (direction, "from", "to", "contentSid", "contentVariables", status, "queuedAt", attempts, "lastAttemptAt", "ambiguousAttemptAt")
         VALUES ('outbound', 'whatsapp:+14155238886', $1, $2, $3, 'queued', now() - interval '1 minute', 1, now() - interval '1 minute', now() - interval '1 minute') RETURNING id`,
        [to, APPOINTMENT_TEMPLATE, JSON.stringify({ '1': vars })],
      );
    const [a] = await seed('A');
    const [b] = await seed('B');
    // Only B's request reached Twilio.
    const auth = Buffer.from(`${t.config.twilio.sandbox.accountSid}:${t.config.twilio.sandbox.authToken}`).toString('base64');
    const created = await fetch(`${t.sandbox.baseUrl}/2010-04-01/Accounts/${t.config.twilio.sandbox.accountSid}/Messages.json`, {
      method: 'POST',
      headers: { authorization: `Basic ${auth}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ To: to, From: 'whatsapp:+14155238886', ContentSid: APPOINTMENT_TEMPLATE, ContentVariables: JSON.stringify({ '1': 'B' }) }).toString(),
    });
    expect(created.status).toBe(201);
    const { MessageDispatchService } = await import('../src/modules/whatsapp/message-dispatch.service');
    const dispatcher = t.app.get(MessageDispatchService);
    for (const id of [a.id, b.id]) {
      const result = await dispatcher.dispatch(id, { attempt: 2, maxAttempts: 5 });
      expect(result.outcome).toBe('undecided');
      const s = await statusOf(t, id);
      expect(s).toMatchObject({ status: 'queued', messageSid: null });
      expect(s.errorMessage).toContain("Check Twilio's message log");
    }
    expect(t.sandbox.control.messages().filter((m) => m.resource.to === to)).toHaveLength(1);
  });

  it('does not send twice when the service fails after Twilio accepted (the SID could not be stored)', async () => {
    const { MessageLifecycleService } = await import('../src/modules/whatsapp/lifecycle/message-lifecycle.service');
    const lifecycle = t.app.get(MessageLifecycleService);
    const spy = jest.spyOn(lifecycle, 'attachSid').mockRejectedValueOnce(new Error('connection terminated unexpectedly'));
    try {
      const to = '+14155550506';
      const res = await send({ to, message: 'crash after create' });
      const final = await waitForStatus(t, res.body.id, ['read']);
      const atTwilio = t.sandbox.control.messages().filter((m) => m.resource.to === `whatsapp:${to}`);
      expect(atTwilio).toHaveLength(1);
      expect(final.messageSid).toBe(atTwilio[0].sid);
    } finally {
      spy.mockRestore();
    }
  });

  it('an immediate send that fails after Twilio accepted answers 202 and is not sent again', async () => {
    const { MessageLifecycleService } = await import('../src/modules/whatsapp/lifecycle/message-lifecycle.service');
    const spy = jest.spyOn(t.app.get(MessageLifecycleService), 'attachSid').mockRejectedValueOnce(new Error('connection terminated unexpectedly'));
    try {
      const to = '+14155550507';
      const res = await t.api('/api/v1/whatsapp/send', { body: { to, message: 'inline crash', immediate: true }, token: t.adminToken, headers: { 'idempotency-key': 'inline-crash-1' } });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ success: true, status: 'queued', messageSid: null });
      const replay = await t.api('/api/v1/whatsapp/send', { body: { to, message: 'inline crash', immediate: true }, token: t.adminToken, headers: { 'idempotency-key': 'inline-crash-1' } });
      expect(replay.body.id).toBe(res.body.id);
      await waitForStatus(t, res.body.id, ['read']);
      expect(t.sandbox.control.messages().filter((m) => m.resource.to === `whatsapp:${to}`)).toHaveLength(1);
    } finally {
      spy.mockRestore();
    }
  });

  it('retries an unreachable handset (30003) exactly once, later, as a linked attempt', async () => {
    const res = await send({ to: '+15005550010', message: 'phone off' });
    await waitForStatus(t, res.body.id, ['undelivered']);
    const retry = await waitFor(async () => (await t.query(`SELECT id FROM "WhatsAppMessage" WHERE "retryOf" = $1`, [res.body.id]))[0], 'the automatic retry');
    await waitForStatus(t, retry.id, ['undelivered']);
    await new Promise((r) => setTimeout(r, 300));
    expect(await t.query(`SELECT 1 FROM "WhatsAppMessage" WHERE "retryOf" = $1`, [retry.id])).toHaveLength(0);
    expect(requestsTo(t, '+15005550010')).toHaveLength(2);
    expect((await statusOf(t, res.body.id)).status).toBe('undelivered'); // the original keeps its history
  });

  it('retry endpoint re-sends a 30008 failure, skips a 21211, and is admin-only', async () => {
    const retryable = await send({ to: '+15005550011', message: 'unknown error' });
    const permanent = await send({ to: '+15005550001', message: 'invalid' });
    await waitForStatus(t, retryable.body.id, ['failed']);
    await waitForStatus(t, permanent.body.id, ['failed']);
    expect(requestsTo(t, '+15005550011')).toHaveLength(1);

    const { UsersService } = await import('../src/modules/auth/users.service');
    const { UserRole } = await import('../src/modules/auth/entities/user.entity');
    await t.app.get(UsersService).create('retry-sender@example.com', UserRole.Sender, 'sender-password-123');
    const senderToken = await t.login('retry-sender@example.com', 'sender-password-123');
    const body = { ids: [retryable.body.id, permanent.body.id, '00000000-0000-4000-8000-000000000000'] };
    expect((await t.api('/api/v1/whatsapp/retry', { body, token: senderToken })).status).toBe(403);

    const res = await t.api('/api/v1/whatsapp/retry', { body, token: t.adminToken });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, retried: 1, retries: [{ id: retryable.body.id, retryId: expect.any(String) }] });
    expect(res.body.skipped).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: permanent.body.id, reason: 'permanent_failure', errorCode: 21211, hint: expect.any(String) }),
        { id: '00000000-0000-4000-8000-000000000000', reason: 'not_found' },
      ]),
    );
    await waitFor(async () => requestsTo(t, '+15005550011').length === 2, 'the re-send to reach the sandbox');
    const [retryRow] = await t.query(`SELECT "retryOf", body FROM "WhatsAppMessage" WHERE id = $1`, [res.body.retries[0].retryId]);
    expect(retryRow).toEqual({ retryOf: retryable.body.id, body: 'unknown error' });
    expect((await statusOf(t, retryable.body.id)).status).toBe('failed');

    // Asking again: already retried.
    const again = await t.api('/api/v1/whatsapp/retry', { body: { ids: [retryable.body.id] }, token: t.adminToken });
    expect(again.body).toMatchObject({ retried: 0, skipped: [{ id: retryable.body.id, reason: 'already_retried' }] });
    expect((await t.api('/api/v1/whatsapp/retry', { body: { limit: 0 }, token: t.adminToken })).status).toBe(400);
  });

  it('retry endpoint default: retryable failures of the last 24 hours, filtered by error code', async () => {
    const res = await send({ to: '+15005550011', message: 'default filter' });
    await waitForStatus(t, res.body.id, ['failed']);
    const retried = await t.api('/api/v1/whatsapp/retry', { body: { errorCodes: [30008] }, token: t.adminToken });
    expect(retried.status).toBe(200);
    expect(retried.body.retries.map((r: { id: string }) => r.id)).toContain(res.body.id);
    expect(retried.body.skipped.every((s: { errorCode?: number }) => s.errorCode === undefined || s.errorCode === 30008)).toBe(true);
  });

  it('sends a template with ContentSid and ContentVariables', async () => {
    const to = '+14155550503';
    const res = await send({ to, contentSid: APPOINTMENT_TEMPLATE, contentVariables: { '1': '12/24', '2': '9am' } });
    expect(res.status).toBe(202);
    await waitForStatus(t, res.body.id, ['read']);
    const [request] = requestsTo(t, to);
    expect(request.params.ContentSid).toBe(APPOINTMENT_TEMPLATE);
    expect(JSON.parse(request.params.ContentVariables as string)).toEqual({ '1': '12/24', '2': '9am' });
    expect(request.params.Body).toBeUndefined();
    expect((await t.api('/api/v1/whatsapp/send', { body: { to, contentSid: 'HX123' }, token: t.adminToken })).status).toBe(400);
  });

  it('reconciliation fixes a message whose callbacks were dropped', async () => {
    t.sandbox.control.setFaults({ callbackDropProbability: 1 });
    const to = '+14155550504';
    const res = await send({ to, message: 'lost callbacks', immediate: true });
    expect(res.status).toBe(201);
    await waitFor(async () => t.sandbox.control.message(res.body.messageSid)?.resource.status === 'read', 'the sandbox to walk it to read');
    expect((await statusOf(t, res.body.id)).status).toBe('queued');

    const { ReconciliationService } = await import('../src/modules/whatsapp/reconciliation.service');
    const report = await t.app.get(ReconciliationService).reconcileOnce(0);
    expect(report.fetched).toBeGreaterThanOrEqual(1);
    const final = await statusOf(t, res.body.id);
    expect(final.status).toBe('read');
    expect(final.timestamps.sent).toEqual(expect.any(String));
    expect(final.timestamps.delivered).toEqual(expect.any(String));
    const events = await t.api(`/api/v1/whatsapp/messages/${res.body.id}/events`, { token: t.adminToken });
    expect(events.body.some((e: { source: string }) => e.source === 'reconcile')).toBe(true);
  });

  it('refuses an unknown sender and accepts a configured one', async () => {
    const res = await send({ to: '+14155550505', message: 'x', from: 'whatsapp:+14155238886' });
    expect(res.status).toBe(202);
    const bad = await send({ to: '+14155550505', message: 'x', from: '+14155550000' });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('UNKNOWN_SENDER');
  });
});

describe('the 24-hour window, enforced (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ WHATSAPP_ENFORCE_SESSION_WINDOW: 'true' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses free-form outside the window before calling Twilio, allows templates, and opens with a reply', async () => {
    const to = '+14155550601';
    const refused = await t.api('/api/v1/whatsapp/send', { body: { to, message: 'hi' }, token: t.adminToken });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: 'OUTSIDE_SESSION_WINDOW' });
    expect(refused.body.message).toContain('template');
    expect(requestsTo(t, to)).toHaveLength(0);

    const template = await t.api('/api/v1/whatsapp/send', { body: { to, contentSid: APPOINTMENT_TEMPLATE, contentVariables: { '1': 'x' } }, token: t.adminToken });
    expect(template.status).toBe(202);

    const params = { MessageSid: 'SM' + 'c3'.repeat(16), From: `whatsapp:${to}`, To: 'whatsapp:+14155238886', Body: 'hello!', NumMedia: '0' };
    const inbound = await t.api('/api/v1/whatsapp/webhook', {
      body: formBody(params),
      headers: { ...FORM, 'x-twilio-signature': twilioSignature(t.config.twilio.webhookAuthTokens[0], t.config.twilio.webhookUrl, params) },
    });
    expect(inbound.status).toBe(200);
    const contact = await t.api(`/api/v1/whatsapp/contacts/${encodeURIComponent(to)}`, { token: t.adminToken });
    expect(contact.body.sessionWindowOpen).toBe(true);
    expect(Date.parse(contact.body.sessionWindowExpiresAt) - Date.parse(contact.body.lastInboundAt)).toBe(24 * 3600 * 1000);
    expect((await t.api('/api/v1/whatsapp/send', { body: { to, message: 'now we can talk' }, token: t.adminToken })).status).toBe(202);
  });
});

describe('sender throughput (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ TWILIO_MPS: '20', WHATSAPP_WORKERS: '10' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('sends 200 messages at no more than 20 per second at Twilio', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      const res = await t.api('/api/v1/whatsapp/send', { body: { to: `+1415556${String(i).padStart(4, '0')}`, message: `n${i}` }, token: t.adminToken });
      expect(res.status).toBe(202);
      ids.push(res.body.id);
    }
    await waitFor(async () => t.sandbox.control.receivedRequests().length >= 200, '200 creates at the sandbox', 40_000, 200);
    const stats = t.sandbox.control.requestStats();
    expect(stats.total).toBe(200);
    expect(stats.maxPerSecond).toBeLessThanOrEqual(20);
    const times = t.sandbox.control.receivedRequests().map((r) => Date.parse(r.receivedAt));
    // 200 at 20 per second cannot take less than ~9.5 s (the first second's 20 start at once).
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual(9_000);
    const backlog = await t.api('/api/v1/whatsapp/senders', { token: t.adminToken });
    expect(backlog.status).toBe(200);
    expect(backlog.body[0]).toMatchObject({ sender: 'whatsapp:+14155238886', mps: 20 });
  }, 60_000);
});
