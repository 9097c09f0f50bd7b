import { startTestApp, TestApp, waitFor } from './support/test-app';

/** Each sandbox fault knob, observed through the real service: retries, lifecycle rules, hints. */
describe('sandbox faults seen through the service (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });
  afterEach(() => t.sandbox.control.resetFaults());

  const send = async (to: string, extra: object = {}) => {
    const res = await t.api('/api/v1/whatsapp/send', { body: { to, message: `to ${to}`, ...extra }, token: t.adminToken });
    expect([201, 202]).toContain(res.status);
    return res.body.id as string;
  };
  const status = async (id: string) => (await t.api(`/api/v1/whatsapp/delivery-status/${id}`, { token: t.adminToken })).body;
  const settle = (id: string, statuses: string[]) =>
    waitFor(async () => {
      const s = await status(id);
      return statuses.includes(s.status) ? s : undefined;
    }, `${id} to reach ${statuses.join('/')}`);

  it('5xx from Twilio (500 and 503) are retried until the message goes through', async () => {
    t.sandbox.control.setFaults({ failNext: [{ httpStatus: 500, code: 20500, count: 1 }, { httpStatus: 503, code: 20503, count: 1 }] });
    const id = await send('+14155550701');
    const final = await settle(id, ['read']);
    expect(final.attempts).toBe(3);
    expect(t.sandbox.control.messages().filter((m) => m.resource.to === 'whatsapp:+14155550701')).toHaveLength(1);
  });

  it('a permanently failing Twilio (every create 503) ends failed after WHATSAPP_MAX_ATTEMPTS, with the code', async () => {
    t.sandbox.control.setFaults({ serviceUnavailableProbability: 1 });
    const id = await send('+14155550702');
    const final = await settle(id, ['failed']);
    expect(final).toMatchObject({ attempts: t.config.whatsapp.maxAttempts, errorCode: 20503, errorHint: expect.any(String) });
  });

  it('duplicated, delayed and reordered callbacks still end in the right state, stored once each', async () => {
    t.sandbox.control.setFaults({ callbackDuplicateProbability: 1, callbackReorderProbability: 0.5, callbackDelayProbability: 0.5, callbackDelayMs: 60 });
    const ids = await Promise.all(['+14155550711', '+14155550712', '+14155550713', '+14155550714'].map((n) => send(n)));
    for (const id of ids) {
      const final = await settle(id, ['read']);
      expect(final.timestamps.delivered).toEqual(expect.any(String));
      // Whatever order the callbacks came in: sent <= delivered <= read, and the delivery time between the first two.
      const [sent, delivered, read] = [final.timestamps.sent, final.timestamps.delivered, final.timestamps.read].map((x: string) => new Date(x).getTime());
      expect(sent).toBeLessThanOrEqual(delivered);
      expect(delivered).toBeLessThanOrEqual(read);
      expect(final.metrics.deliveryTimeMs).toBe(delivered - sent);
      const events = await t.query(`SELECT status, count(*)::int AS n FROM message_events WHERE "messageId" = $1 GROUP BY status`, [id]);
      expect(events.every((e) => e.n === 1)).toBe(true);
    }
    // Duplicates did arrive at the service: more status callbacks than stored events for these messages.
    const sids = (await t.query<{ messageSid: string }>(`SELECT "messageSid" FROM "WhatsAppMessage" WHERE id = ANY($1::uuid[])`, [ids])).map((r) => r.messageSid);
    const posted = t.sandbox.control.webhookAttempts().filter((a) => sids.includes(a.messageSid) && a.status !== null).length;
    const [{ stored }] = await t.query<{ stored: number }>(`SELECT count(*)::int AS stored FROM message_events WHERE "messageSid" = ANY($1::text[]) AND source = 'callback'`, [sids]);
    expect(posted).toBeGreaterThan(stored);
  });

  it("a number's fate (failed with 63024) arrives by callback with its code and hint", async () => {
    t.sandbox.delivery.setNumberFate('+14155550720', { status: 'failed', errorCode: 63024 } as never);
    const id = await send('+14155550720');
    const final = await settle(id, ['failed']);
    expect(final).toMatchObject({ errorCode: 63024, errorHint: expect.stringContaining('WhatsApp') });
    expect(final.timestamps.failed).toEqual(expect.any(String));
    t.sandbox.delivery.clearNumberFate('+14155550720');
  });

  it("the sandbox's window policy fails free-form messages with 63016 by callback, as Twilio does", async () => {
    t.sandbox.control.setFaults({ sessionWindow: true });
    const id = await send('+14155550730');
    const final = await settle(id, ['failed']);
    expect(final).toMatchObject({ errorCode: 63016, errorHint: expect.stringContaining('template') });
  });

  it('latency at Twilio slows an immediate send but it still succeeds', async () => {
    t.sandbox.control.setFaults({ latencyMs: 300 });
    const started = Date.now();
    const res = await t.api('/api/v1/whatsapp/send', { body: { to: '+14155550740', message: 'slow', immediate: true }, token: t.adminToken });
    expect(res.status).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it('a 500 on every attempt leaves the message queued (it may be at Twilio); reconciliation finds Twilio never had it and sends it', async () => {
    t.sandbox.control.setFaults({ serverErrorProbability: 1 });
    const id = await send('+14155550703');
    await waitFor(async () => (await status(id)).attempts === t.config.whatsapp.maxAttempts, 'every attempt');
    await new Promise((r) => setTimeout(r, 200));
    expect((await status(id)).status).toBe('queued');
    t.sandbox.control.resetFaults();
    const { ReconciliationService } = await import('../src/modules/whatsapp/reconciliation.service');
    const report = await t.app.get(ReconciliationService).reconcileOnce(0);
    expect(report.requeued).toBeGreaterThanOrEqual(1);
    const final = await settle(id, ['read']);
    expect(t.sandbox.control.messages().filter((m) => m.resource.to === 'whatsapp:+14155550703')).toHaveLength(1);
    expect(final.attempts).toBe(t.config.whatsapp.maxAttempts + 1);
  });

  it('reconciliation sends again a message whose job is gone, and creates a lost automatic 30003 retry', async () => {
    const [stalled] = await t.query<{ id: string }>(
      `INSERT INTO "WhatsAppMessage" (direction, "from", "to", body, status, "queuedAt", attempts, "lastAttemptAt", "createdAt")
       VALUES ('outbound', 'whatsapp:+14155238886', 'whatsapp:+14155550704', 'orphaned', 'queued', now() - interval '1 hour', 3, now() - interval '50 minutes', now() - interval '1 hour') RETURNING id`,
    );
    const [unreachable] = await t.query<{ id: string }>(
      `INSERT INTO "WhatsAppMessage" (direction, "from", "to", body, status, "errorCode", "queuedAt", "failedAt", "messageSid", attempts)
       VALUES ('outbound', 'whatsapp:+14155238886', 'whatsapp:+14155550705', 'phone was off', 'undelivered', 30003, now() - interval '2 hours', now() - interval '1 hour', 'SM${'d4'.repeat(16)}', 1) RETURNING id`,
    );
    const { ReconciliationService } = await import('../src/modules/whatsapp/reconciliation.service');
    const report = await t.app.get(ReconciliationService).reconcileOnce(60_000);
    expect(report.requeued).toBeGreaterThanOrEqual(2);
    await settle(stalled.id, ['read']);
    const [retry] = await waitFor(async () => {
      const rows = await t.query(`SELECT id FROM "WhatsAppMessage" WHERE "retryOf" = $1`, [unreachable.id]);
      return rows.length ? rows : undefined;
    }, 'the missed retry');
    await settle(retry.id, ['read']);
    // Nothing twice: a second pass finds nothing left to do.
    const again = await t.app.get(ReconciliationService).reconcileOnce(60_000);
    expect(again.requeued).toBe(0);
  });

  it('reconciliation settles a recent delivered message whose read callback was lost; not one older than the read window', async () => {
    const lost = await send('+14155550761');
    const old = await send('+14155550762');
    for (const id of [lost, old]) {
      await settle(id, ['read']);
      // What a lost read callback leaves: delivered, no read event (Twilio has it read).
      await t.query(`DELETE FROM message_events WHERE "messageId" = $1 AND status = 'read'`, [id]);
      await t.query(`UPDATE "WhatsAppMessage" SET status = 'delivered', "readAt" = NULL, "updatedAt" = now() - interval '30 minutes' WHERE id = $1`, [id]);
    }
    await t.query(`UPDATE "WhatsAppMessage" SET "createdAt" = now() - interval '2 days' WHERE id = $1`, [old]);

    const { ReconciliationService } = await import('../src/modules/whatsapp/reconciliation.service');
    const report = await t.app.get(ReconciliationService).reconcileOnce(60_000);

    expect(report.changed).toBeGreaterThanOrEqual(1);
    const settled = await status(lost);
    expect(settled.status).toBe('read');
    expect(new Date(settled.timestamps.read).getTime()).toBeGreaterThanOrEqual(new Date(settled.timestamps.delivered).getTime());
    expect((await status(old)).status).toBe('delivered');
  });

  it('a status callback the service answered 5xx is tried again by Twilio (connection overrides), and its signature still verifies', async () => {
    const to = 'whatsapp:+14155550770';
    const { StatusCallbackService } = await import('../src/modules/webhook/status-callback.service');
    const callbacks = t.app.get(StatusCallbackService);
    const handle = callbacks.handle.bind(callbacks);
    let refused = 0;
    const outage = jest.spyOn(callbacks, 'handle').mockImplementation(async (params, tokenIndex) => {
      if (params.To === to && params.MessageStatus === 'delivered' && refused++ === 0) throw new Error('database briefly unreachable');
      return handle(params, tokenIndex);
    });
    let id: string;
    try {
      id = await send('+14155550770');
      await settle(id, ['read']);
      await waitFor(async () => (await t.query(`SELECT 1 FROM message_events WHERE "messageId" = $1 AND status = 'delivered'`, [id])).length > 0, 'the delivered callback');
    } finally {
      outage.mockRestore();
    }
    const [{ messageSid }] = await t.query(`SELECT "messageSid" FROM "WhatsAppMessage" WHERE id = $1`, [id]);
    const delivered = t.sandbox.control.webhookAttempts().filter((a) => a.messageSid === messageSid && a.status === 'delivered');
    expect(delivered.map((a) => [a.attempt, a.httpStatus])).toEqual([
      [1, 500],
      [2, 200],
    ]);
    expect(delivered[0].url).toBe(t.config.twilio.statusCallbackTarget);
    expect(t.config.twilio.statusCallbackTarget).toMatch(/#rc=3&rp=ct,rt,5xx$/);
  });

  it("Twilio's own sender queueing (sandbox senderMps) keeps messages queued at Twilio until their turn", async () => {
    t.sandbox.control.reset(); // rates are measured over the sandbox's whole history
    t.sandbox.control.setFaults({ senderMps: 2 });
    const ids = await Promise.all(['+14155550751', '+14155550752', '+14155550753', '+14155550754', '+14155550755', '+14155550756'].map((n) => send(n)));
    for (const id of ids) await settle(id, ['read']);
    const stats = t.sandbox.control.requestStats();
    expect(stats.sent.maxPerSecond).toBeLessThanOrEqual(2);
  });
});
