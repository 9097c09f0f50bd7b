import { DomainException } from '../src/common/errors/domain.exception';
import { AuthenticatedUser } from '../src/modules/auth/auth.types';
import { MessageCancelService } from '../src/modules/whatsapp/message-cancel.service';
import { DeliveryRollupAggregator } from '../src/modules/metrics/delivery-rollup-aggregator';
import { UserRole } from '../src/modules/auth/entities/user.entity';
import { UsersService } from '../src/modules/auth/users.service';
import { OutboxWriter } from '../src/database/outbox/outbox.writer';
import { sendMessageJob } from '../src/modules/whatsapp/jobs/whatsapp-jobs';
import { WhatsAppQueueState } from '../src/modules/whatsapp/jobs/whatsapp-queue-state';
import { MessageDirection, MessageStatus } from '../src/modules/whatsapp/message-status';
import { WhatsAppMessageRepository } from '../src/modules/whatsapp/messages/whatsapp-message.repository';
import { ReconciliationService } from '../src/modules/whatsapp/reconciliation.service';
import { startTestApp, TestApp, waitFor } from './support/test-app';

const SENDER = 'whatsapp:+14155238886';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ahead = (ms: number) => new Date(Date.now() + ms).toISOString();

/**
 * Scheduled sends (sendAt) and cancel, against the real app and the Twilio sandbox. The timing
 * tests run with a 2-second minimum lead (SCHEDULE_MIN_LEAD_MS) to stay fast; the bounds are
 * checked on an app with the documented 60 seconds.
 */
describe('scheduled sends and cancel (e2e)', () => {
  let t: TestApp;
  let senderToken: string;
  let otherToken: string;

  beforeAll(async () => {
    t = await startTestApp({ SCHEDULE_MIN_LEAD_MS: '2000' });
    const users = t.app.get(UsersService);
    await users.create('sched-sender@example.com', UserRole.Sender, 'sender-password-123');
    await users.create('sched-other@example.com', UserRole.Sender, 'sender-password-123');
    senderToken = await t.login('sched-sender@example.com', 'sender-password-123');
    otherToken = await t.login('sched-other@example.com', 'sender-password-123');
  });
  afterAll(async () => {
    await t?.close();
  });

  const send = (body: Record<string, unknown>, token = t.adminToken) => t.api('/api/v1/whatsapp/send', { body, token });
  const requestsTo = (number: string) => t.sandbox.control.receivedRequests().filter((r) => r.params.To === `whatsapp:${number}`);
  const row = async (id: string) => (await t.query(`SELECT * FROM "WhatsAppMessage" WHERE id = $1`, [id]))[0];
  const cancel = (id: string, token = t.adminToken, how: 'delete' | 'post' = 'delete') =>
    how === 'delete' ? t.api(`/api/v1/whatsapp/messages/${id}`, { method: 'DELETE', token }) : t.api(`/api/v1/whatsapp/messages/${id}/cancel`, { method: 'POST', token });

  it('stores a scheduled send as scheduled, shows it, and sends it through the sandbox at its time, not before', async () => {
    const sendAt = ahead(3000);
    const res = await send({ to: '+14155550701', message: 'Your appointment is tomorrow', sendAt });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ success: true, id: expect.any(String), messageSid: null, status: 'scheduled', scheduledAt: sendAt });

    const status = await t.api(`/api/v1/whatsapp/delivery-status/${res.body.id}`, { token: t.adminToken });
    expect(status.body).toMatchObject({ status: 'scheduled', scheduledAt: sendAt, canceledAt: null, timestamps: { queued: null } });
    const listed = await t.api('/api/v1/whatsapp/messages?status=scheduled', { token: t.adminToken });
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((m: { id: string }) => m.id)).toContain(res.body.id);
    expect(listed.body.data.find((m: { id: string }) => m.id === res.body.id)).toMatchObject({ status: 'scheduled', scheduledAt: sendAt });

    // Well past the outbox relay's poll, still before its time: nothing at Twilio.
    await sleep(1500);
    expect(requestsTo('+14155550701')).toEqual([]);
    expect((await row(res.body.id)).status).toBe('scheduled');

    const [request] = await waitFor(async () => (requestsTo('+14155550701').length > 0 ? requestsTo('+14155550701') : undefined), 'the scheduled send at the sandbox');
    expect(Date.parse(request.receivedAt)).toBeGreaterThanOrEqual(Date.parse(sendAt));
    expect(Date.parse(request.receivedAt)).toBeLessThan(Date.parse(sendAt) + 5000);
    expect(request.params.Body).toBe('Your appointment is tomorrow');
    const sent = await waitFor(async () => ((await row(res.body.id)).messageSid ? row(res.body.id) : undefined), 'the SID');
    expect(sent.queuedAt.getTime()).toBeGreaterThanOrEqual(Date.parse(sendAt));
    expect(sent.attempts).toBe(1);
    // Sent once.
    await sleep(500);
    expect(requestsTo('+14155550701')).toHaveLength(1);
  });

  it('schedules a bulk send: a batch sendAt, a message with its own, and a message out of range refused by index', async () => {
    const batchAt = ahead(3000);
    const ownAt = ahead(4500);
    const res = await t.api('/api/v1/whatsapp/send/bulk', {
      token: t.adminToken,
      body: {
        sendAt: batchAt,
        messages: [
          { to: '+14155550711', message: 'batch time' },
          { to: '+14155550712', message: 'own time', sendAt: ownAt },
          { to: '+14155550713', message: 'too soon', sendAt: ahead(500) },
        ],
      },
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ accepted: 2, rejected: 1 });
    expect(res.body.results[0]).toMatchObject({ status: 'scheduled', scheduledAt: batchAt });
    expect(res.body.results[1]).toMatchObject({ status: 'scheduled', scheduledAt: ownAt });
    expect(res.body.results[2]).toMatchObject({ error: { code: 'SEND_AT_OUT_OF_RANGE', field: 'sendAt' } });
    expect(res.body.results[2].id).toBeUndefined();

    const [first] = await waitFor(async () => (requestsTo('+14155550711').length > 0 ? requestsTo('+14155550711') : undefined), 'the batch-time send');
    expect(Date.parse(first.receivedAt)).toBeGreaterThanOrEqual(Date.parse(batchAt));
    expect(requestsTo('+14155550712')).toEqual([]);
    const [second] = await waitFor(async () => (requestsTo('+14155550712').length > 0 ? requestsTo('+14155550712') : undefined), 'the own-time send');
    expect(Date.parse(second.receivedAt)).toBeGreaterThanOrEqual(Date.parse(ownAt));
    expect(requestsTo('+14155550713')).toEqual([]);
  });

  it('cancels a scheduled send (DELETE and POST alike): canceled, in its history, and never sent, even after its time', async () => {
    const sendAt = ahead(3000);
    const viaDelete = await send({ to: '+14155550721', message: 'never', sendAt });
    const viaPost = await send({ to: '+14155550722', message: 'never either', sendAt });

    const canceled = await cancel(viaDelete.body.id, t.adminToken, 'delete');
    expect(canceled.status).toBe(200);
    expect(canceled.body).toMatchObject({ id: viaDelete.body.id, status: 'canceled', scheduledAt: sendAt, messageSid: null });
    expect(Date.parse(canceled.body.canceledAt)).toBeLessThan(Date.parse(sendAt));
    const byPost = await cancel(viaPost.body.id, t.adminToken, 'post');
    expect(byPost.status).toBe(200);
    expect(byPost.body).toMatchObject({ status: 'canceled' });

    // Idempotent: the same answer again.
    const again = await cancel(viaDelete.body.id);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'canceled', canceledAt: canceled.body.canceledAt });

    const events = await t.api(`/api/v1/whatsapp/messages/${viaDelete.body.id}/events`, { token: t.adminToken });
    expect(events.body).toEqual([expect.objectContaining({ status: 'canceled', source: 'api', applied: true, messageSid: null })]);
    expect(await t.query(`SELECT id FROM outbox WHERE payload->>'messageId' = ANY($1::text[])`, [[viaDelete.body.id, viaPost.body.id]])).toEqual([]);

    await sleep(Date.parse(sendAt) - Date.now() + 2500);
    expect(requestsTo('+14155550721')).toEqual([]);
    expect(requestsTo('+14155550722')).toEqual([]);
    expect(await row(viaDelete.body.id)).toMatchObject({ status: 'canceled', attempts: 0, messageSid: null });
    const listed = await t.api('/api/v1/whatsapp/messages?status=canceled', { token: t.adminToken });
    expect(listed.body.data.map((m: { id: string }) => m.id)).toEqual(expect.arrayContaining([viaDelete.body.id, viaPost.body.id]));
  });

  it('answers 409 MESSAGE_NOT_CANCELABLE with the status of a message already at Twilio', async () => {
    const res = await send({ to: '+14155550731', message: 'sent now', immediate: true });
    expect(res.status).toBe(201);
    const refused = await cancel(res.body.id);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'MESSAGE_NOT_CANCELABLE', details: { id: res.body.id, messageSid: res.body.messageSid } });
    expect(['queued', 'sent', 'delivered', 'read']).toContain(refused.body.details.status);
    expect((await row(res.body.id)).status).not.toBe('canceled');
  });

  it("lets a sender cancel their own messages only: another sender's is 404, as is an unknown id", async () => {
    const mine = await send({ to: '+14155550741', message: 'mine', sendAt: ahead(60_000) }, senderToken);
    expect(mine.status).toBe(202);
    const notYours = await cancel(mine.body.id, otherToken);
    expect(notYours.status).toBe(404);
    expect(notYours.body.code).toBe('MESSAGE_NOT_FOUND');
    expect((await row(mine.body.id)).status).toBe('scheduled');
    expect((await cancel('0b9c5d8e-7a61-4c39-9f0e-3f1a2b4c5d6e', senderToken)).status).toBe(404);
    const own = await cancel(mine.body.id, senderToken, 'post');
    expect(own.status).toBe(200);
    expect(own.body.status).toBe('canceled');
  });

  it('lets exactly one of a cancel and a claim win for a queued message, and a canceled message is never sent', async () => {
    const repo = t.app.get(WhatsAppMessageRepository);
    // Queued messages with no job yet: only the race below touches them.
    const count = 20;
    const ids = (
      await repo.insert(
        undefined,
        Array.from({ length: count }, (_, i) => ({
          direction: MessageDirection.Outbound,
          from: SENDER,
          to: `whatsapp:+1415555${String(7500 + i)}`,
          body: `race ${i}`,
          mediaUrls: [],
          status: MessageStatus.Queued,
          queuedAt: new Date(),
        })),
      )
    ).map((r) => r.id);
    expect(ids).toHaveLength(count);

    // First one side alone, then the other, then both at once in either order: each time
    // exactly one of them wins.
    const [first, second, ...racing] = ids;
    expect((await cancel(first)).status).toBe(200);
    expect(await repo.claim(first, 60_000)).toBeNull();
    expect(await repo.claim(second, 60_000)).not.toBeNull();
    expect((await cancel(second)).status).toBe(409);
    const cancels = t.app.get(MessageCancelService);
    const admin = { id: 'race', role: UserRole.Admin } as AuthenticatedUser;
    const cancelNow = (id: string) =>
      cancels.cancel(id, admin).then(
        (answer) => ({ status: 200, body: answer as unknown as Record<string, any> }),
        (err: DomainException) => ({ status: err.httpStatus, body: { details: err.details } as Record<string, any> }),
      );
    type Outcome = { id: string; results: [unknown, { status: number; body?: Record<string, any> }] };
    const outcomes: Outcome[] = [
      { id: first, results: [null, { status: 200 }] },
      { id: second, results: [{}, { status: 409, body: { details: { status: 'queued' } } }] },
      ...(await Promise.all(
        racing.map(async (id, i) => ({
          id,
          results: (i % 2 === 0 ? await Promise.all([repo.claim(id, 60_000), cancelNow(id)]) : (await Promise.all([cancelNow(id), repo.claim(id, 60_000)])).reverse()) as [
            unknown,
            { status: number; body?: Record<string, any> },
          ],
        })),
      )),
    ];
    let claimed = 0;
    for (const { id, results } of outcomes) {
      const [claim, canceled] = results;
      const stored = await row(id);
      if (claim) {
        claimed++;
        expect(canceled.status).toBe(409);
        expect(canceled.body!.details.status).toBe('queued');
        expect(stored).toMatchObject({ status: 'queued', attempts: 1 });
      } else {
        expect(canceled.status).toBe(200);
        expect(stored).toMatchObject({ status: 'canceled', attempts: 0 });
      }
    }
    // Never both, never neither.
    expect(claimed + outcomes.filter((o) => o.results[1].status === 200).length).toBe(count);

    // A job that still comes for a canceled message finds nothing to claim.
    const canceledIds = outcomes.filter((o) => o.results[1].status === 200).map((o) => o.id);
    expect(canceledIds.length).toBeGreaterThan(0);
    const outbox = t.app.get(OutboxWriter);
    await repo.transaction((tx) => outbox.add(tx, canceledIds.map((id) => sendMessageJob({ id, from: SENDER }))));
    await waitFor(async () => (await t.query(`SELECT id FROM outbox`)).length === 0, 'the jobs relayed');
    await sleep(1500);
    const canceledTo = new Set((await t.query(`SELECT "to" FROM "WhatsAppMessage" WHERE id = ANY($1::uuid[])`, [canceledIds])).map((r) => r.to));
    expect(t.sandbox.control.receivedRequests().filter((r) => canceledTo.has(r.params.To))).toEqual([]);
    for (const id of canceledIds) expect(await row(id)).toMatchObject({ status: 'canceled', attempts: 0 });
    // The claimed ones are settled by hand, so that no later test finds them unsent.
    await t.query(`UPDATE "WhatsAppMessage" SET status = 'failed', "failedAt" = now(), "sendingUntil" = NULL WHERE id = ANY($1::uuid[]) AND status = 'queued'`, [ids]);
  });

  it('never sends a scheduled message early when its job is lost, and sends it once at its time', async () => {
    const repo = t.app.get(WhatsAppMessageRepository);
    const scheduledAt = new Date(Date.now() + 3000);
    // As after Redis lost the relayed job: a scheduled row with no job anywhere.
    const [{ id }] = await repo.insert(undefined, [
      { direction: MessageDirection.Outbound, from: SENDER, to: 'whatsapp:+14155550761', body: 'lost job', mediaUrls: [], status: MessageStatus.Scheduled, scheduledAt },
    ]);
    const queueState = t.app.get(WhatsAppQueueState);
    const reconciliation = t.app.get(ReconciliationService);
    // Before its time: neither the re-drive after a data loss nor a sweep with no grace at all takes it.
    expect(await queueState.redisDataLost()).toBe(0);
    expect((await reconciliation.reconcileOnce(0)).requeued).toBe(0);
    await sleep(1500);
    expect(requestsTo('+14155550761')).toEqual([]);
    expect((await row(id)).status).toBe('scheduled');

    await sleep(scheduledAt.getTime() - Date.now() + 100);
    expect(await queueState.redisDataLost()).toBe(1);
    const [request] = await waitFor(async () => (requestsTo('+14155550761').length > 0 ? requestsTo('+14155550761') : undefined), 'the re-driven send');
    expect(Date.parse(request.receivedAt)).toBeGreaterThanOrEqual(scheduledAt.getTime());
    await waitFor(async () => ((await row(id)).messageSid ? true : undefined), 'the SID');
    // A second re-drive and a sweep find it sent.
    expect(await queueState.redisDataLost()).toBe(0);
    await reconciliation.reconcileOnce(0);
    await sleep(500);
    expect(requestsTo('+14155550761')).toHaveLength(1);
  });

  it('keeps the delivery rollups equal to a recount through scheduled, queued and canceled', async () => {
    const later = await send({ to: '+14155550771', message: 'kept', sendAt: ahead(60_000) });
    const dropped = await send({ to: '+14155550772', message: 'dropped', sendAt: ahead(60_000) });
    expect((await cancel(dropped.body.id)).status).toBe(200);
    const soon = await send({ to: '+14155550773', message: 'soon', sendAt: ahead(2600) });
    // Until nothing moves any more: the sandbox's callbacks take each sent message to read.
    await waitFor(async () => ((await row(soon.body.id)).status === 'read' ? true : undefined), 'the soon send to be read');
    await waitFor(
      async () => (await t.query(`SELECT count(*)::int AS n FROM "WhatsAppMessage" WHERE status IN ('queued', 'sending', 'sent', 'delivered')`))[0].n === 0,
      'every sent message to be read',
    );
    expect((await row(later.body.id)).status).toBe('scheduled');

    await t.app.get(DeliveryRollupAggregator).fold({ wait: true });
    const statuses = ['queued', 'accepted', 'scheduled', 'canceled', 'sending', 'sent', 'delivered', 'read', 'failed', 'undelivered'];
    const recount = await t.query(
      `SELECT date_trunc('minute', "createdAt", 'UTC') AS bucket, "from", count(*)::int AS total, ${statuses.map((s) => `count(*) FILTER (WHERE status = '${s}')::int AS "count_${s}"`).join(', ')}
         FROM "WhatsAppMessage" WHERE direction = 'outbound' GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    const rollup = await t.query(`SELECT bucket, "from", total, ${statuses.map((s) => `"count_${s}"`).join(', ')} FROM delivery_rollup_minute WHERE total <> 0 ORDER BY 1, 2`);
    expect(rollup).toEqual(recount);
    const totals = rollup.reduce((acc: Record<string, number>, r) => ({ scheduled: acc.scheduled + r.count_scheduled, canceled: acc.canceled + r.count_canceled }), { scheduled: 0, canceled: 0 });
    expect(totals.scheduled).toBeGreaterThanOrEqual(1);
    expect(totals.canceled).toBeGreaterThanOrEqual(1);
  });
});

describe('sendAt bounds with the documented 60-second minimum (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });
  const send = (body: Record<string, unknown>) => t.api('/api/v1/whatsapp/send', { body, token: t.adminToken });
  const count = async () => (await t.query(`SELECT count(*)::int AS n FROM "WhatsAppMessage"`))[0].n;

  it('accepts 61 seconds and just under 35 days ahead, with any offset', async () => {
    const soon = await send({ to: '+14155550801', message: 'x', sendAt: ahead(61_000) });
    expect(soon.status).toBe(202);
    expect(soon.body.status).toBe('scheduled');
    const far = await send({ to: '+14155550801', message: 'x', sendAt: ahead(35 * 24 * 3600_000 - 60_000) });
    expect(far.status).toBe(202);
    // +02:00 and the same instant in UTC.
    const at = new Date(Date.now() + 120_000);
    const local = new Date(at.getTime() + 2 * 3600_000).toISOString().replace('Z', '+02:00');
    const offset = await send({ to: '+14155550801', message: 'x', sendAt: local });
    expect(offset.status).toBe(202);
    expect(offset.body.scheduledAt).toBe(at.toISOString());
  });

  it.each([
    ['59 seconds ahead', () => ahead(59_000)],
    ['36 days ahead', () => ahead(36 * 24 * 3600_000)],
    ['in the past', () => ahead(-60_000)],
  ])('refuses sendAt %s with 400 SEND_AT_OUT_OF_RANGE, storing nothing', async (_what, sendAt) => {
    const before = await count();
    const res = await send({ to: '+14155550802', message: 'x', sendAt: sendAt() });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'SEND_AT_OUT_OF_RANGE', details: { field: 'sendAt', earliest: expect.any(String), latest: expect.any(String) } });
    expect(await count()).toBe(before);
  });

  it.each([
    ['garbage', 'tomorrow morning'],
    ['no offset', new Date(Date.now() + 3600_000).toISOString().replace('Z', '')],
    ['an impossible date', '2030-02-30T10:00:00Z'],
    ['a number', 1893456000000],
    ['a date without time', '2030-01-01'],
  ])('refuses %s as sendAt with 400 VALIDATION_FAILED', async (_what, sendAt) => {
    const before = await count();
    const res = await send({ to: '+14155550803', message: 'x', sendAt });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'sendAt' }] });
    expect(await count()).toBe(before);
  });

  it('refuses sendAt with immediate, and a bulk batch sendAt out of range refuses the whole request', async () => {
    const both = await send({ to: '+14155550804', message: 'x', sendAt: ahead(120_000), immediate: true });
    expect(both.status).toBe(400);
    expect(both.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'immediate' } });
    const before = await count();
    const bulk = await t.api('/api/v1/whatsapp/send/bulk', { token: t.adminToken, body: { sendAt: ahead(10_000), messages: [{ to: '+14155550805', message: 'x' }] } });
    expect(bulk.status).toBe(400);
    expect(bulk.body.code).toBe('SEND_AT_OUT_OF_RANGE');
    const garbage = await t.api('/api/v1/whatsapp/send/bulk', { token: t.adminToken, body: { sendAt: 'soon', messages: [{ to: '+14155550805', message: 'x' }] } });
    expect(garbage.status).toBe(400);
    expect(garbage.body.code).toBe('VALIDATION_FAILED');
    expect(await count()).toBe(before);
  });
});
