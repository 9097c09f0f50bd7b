import { twilioErrors } from '../twilio/testing/fake-twilio-messaging-client';
import { EventSource } from './lifecycle/message-lifecycle.service';
import { JobName } from './jobs/whatsapp-jobs';
import { MessageStatus } from './message-status';
import { ReconcileReport } from './reconciliation.service';
import { createWhatsAppTestKit, newRecipient, SENDER, WhatsAppTestKit } from './testing/whatsapp-test-kit';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const ago = (ms: number) => new Date(Date.now() - ms);
const attempt = (n: number) => ({ attempt: n, maxAttempts: 5 });

const NOTHING: ReconcileReport = { fetched: 0, changed: 0, recovered: 0, requeued: 0, undecided: 0, failedUnknown: 0, earlyEventsApplied: 0, errors: 0 };

describe('ReconciliationService', () => {
  let kit: WhatsAppTestKit;

  beforeEach(() => {
    kit = createWhatsAppTestKit();
  });

  /** A message Twilio accepted, whose status has not moved here for an hour. */
  async function stuckAtTwilio(): Promise<{ id: string; sid: string }> {
    const id = await kit.queued({ queuedAt: ago(HOUR) });
    const { snapshot } = await kit.dispatcher.dispatch(id, attempt(1));
    kit.store.patch(id, { updatedAt: ago(HOUR) });
    return { id, sid: snapshot!.sid };
  }

  /** A message whose last attempt went unanswered an hour ago, no attempt holding it now. */
  async function unanswered(loseAnswer: boolean, over: { to?: string; body?: string | null; contentSid?: string } = {}): Promise<string> {
    const id = await kit.queued(over);
    if (loseAnswer) kit.twilio.loseNextCreateAnswer();
    else kit.twilio.dropNextCreate();
    await kit.dispatcher.dispatch(id, attempt(5)).catch(() => undefined);
    kit.store.patch(id, { lastAttemptAt: ago(HOUR), ambiguousAttemptAt: ago(HOUR), sendingUntil: ago(HOUR - 15_000), updatedAt: ago(HOUR) });
    return id;
  }

  it('gives a message stuck at Twilio its newer status, and its sent time from dateSent', async () => {
    const { id, sid } = await stuckAtTwilio();
    const sentAt = ago(50 * MINUTE);
    const deliveredAt = new Date(sentAt.getTime() + MINUTE);
    kit.twilio.update(sid, { status: 'delivered', dateSent: sentAt, dateUpdated: deliveredAt });
    kit.published.length = 0;

    const report = await kit.reconciliation.reconcileOnce();

    expect(report).toEqual({ ...NOTHING, fetched: 1, changed: 1 });
    expect(kit.store.row(id)).toMatchObject({ status: MessageStatus.Delivered, sentAt, deliveredAt, deliveryTimeMs: MINUTE });
    expect(kit.store.allEvents().filter((e) => e.source === EventSource.Reconcile).map((e) => [e.status, e.applied])).toEqual([
      ['sent', true],
      ['delivered', true],
    ]);
    expect(kit.published.map((e) => [e.previousStatus, e.status])).toEqual([
      [MessageStatus.Queued, MessageStatus.Sent],
      [MessageStatus.Sent, MessageStatus.Delivered],
    ]);
  });

  it('puts a stuck message with nothing new at the back, so the next pass does not fetch it again', async () => {
    const { id } = await stuckAtTwilio();

    expect(await kit.reconciliation.reconcileOnce()).toEqual({ ...NOTHING, fetched: 1 });
    expect(kit.store.row(id).updatedAt.getTime()).toBeGreaterThan(Date.now() - MINUTE);
    expect(await kit.reconciliation.reconcileOnce()).toEqual(NOTHING);
    expect(kit.twilio.operations().filter((o) => o === 'fetch')).toHaveLength(1);
  });

  /** A message delivered `age` ago whose read callback never came, last looked at when `lookedAt` ago. */
  async function deliveredUnread(age: number, lookedAt = age): Promise<{ id: string; sid: string }> {
    const { id, sid } = await stuckAtTwilio();
    kit.twilio.update(sid, { status: 'delivered' });
    await kit.lifecycle.applyStatusEvent({ messageSid: sid, status: 'delivered', source: EventSource.Callback, at: ago(age) });
    kit.store.patch(id, { createdAt: ago(age + MINUTE), updatedAt: ago(lookedAt) });
    return { id, sid };
  }

  it('settles a recent delivered message whose read callback was lost, from what Twilio says', async () => {
    const { id, sid } = await deliveredUnread(30 * MINUTE);
    const readAt = ago(10 * MINUTE);
    kit.twilio.update(sid, { status: 'read', dateUpdated: readAt });

    const report = await kit.reconciliation.reconcileOnce();

    expect(report).toEqual({ ...NOTHING, fetched: 1, changed: 1 });
    expect(kit.store.row(id)).toMatchObject({ status: MessageStatus.Read, readAt });
  });

  it('looks at an unread delivered message less often as it ages, and never after the read window', async () => {
    const { sid } = await deliveredUnread(2 * HOUR, HOUR + 10 * MINUTE); // looked at when it was 50 minutes old: next at 100
    const old = await deliveredUnread(25 * HOUR); // older than the 24-hour window
    kit.twilio.update(old.sid, { status: 'read' });

    expect(await kit.reconciliation.reconcileOnce()).toEqual({ ...NOTHING, fetched: 1 });
    expect(kit.twilio.calls.filter((c) => c.operation === 'fetch')).toEqual([{ operation: 'fetch', sid }]);
    // Just looked at: not again until it is twice as old.
    expect(await kit.reconciliation.reconcileOnce(0)).toEqual(NOTHING);
    expect(kit.store.row(old.id).status).toBe(MessageStatus.Delivered);
  });

  it('attaches an unanswered send it finds at Twilio, without sending it again', async () => {
    const id = await unanswered(true);

    const report = await kit.reconciliation.reconcileOnce();

    expect(report).toEqual({ ...NOTHING, recovered: 1 });
    expect(kit.store.row(id)).toMatchObject({ messageSid: kit.twilio.log[0].sid, ambiguousAttemptAt: null, status: MessageStatus.Queued });
    expect(kit.twilio.creates()).toHaveLength(1);
    expect(kit.store.outboxJobs()).toEqual([]);
  });

  it('queues again an unanswered send Twilio does not have, within twice the attempts', async () => {
    const id = await unanswered(false);

    const report = await kit.reconciliation.reconcileOnce();

    expect(report).toEqual({ ...NOTHING, requeued: 1 });
    expect(kit.store.row(id)).toMatchObject({ status: MessageStatus.Queued, ambiguousAttemptAt: null, attempts: 1 });
    expect(kit.store.outboxJobs().map((j) => [j.jobName, j.jobId, j.payload])).toEqual([[JobName.SendMessage, `send-${id}-r1`, { messageId: id, from: SENDER }]]);
    // No longer unanswered, and its job is waiting: the next pass leaves it alone.
    expect(await kit.reconciliation.reconcileOnce()).toEqual(NOTHING);
  });

  it('fails an unanswered send Twilio does not have once the attempts reach twice the budget', async () => {
    const id = await unanswered(false);
    kit.store.patch(id, { attempts: 10 });

    const report = await kit.reconciliation.reconcileOnce();

    expect(report).toEqual({ ...NOTHING, failedUnknown: 1 });
    const row = kit.store.row(id);
    expect(row).toMatchObject({ status: MessageStatus.Failed, ambiguousAttemptAt: null, errorMessage: 'timeout of 15000ms exceeded (not found at Twilio afterwards)' });
    expect(row.failedAt!.getTime()).toBeGreaterThan(Date.now() - MINUTE);
    expect(kit.store.outboxJobs()).toEqual([]);
    expect(kit.published.map((e) => [e.messageId, e.previousStatus, e.status])).toEqual([[id, MessageStatus.Queued, MessageStatus.Failed]]);
  });

  it('leaves an unanswered send alone while Twilio may still be working on it', async () => {
    const id = await kit.queued();
    kit.twilio.dropNextCreate();
    await kit.dispatcher.dispatch(id, attempt(5)).catch(() => undefined);
    // Attempted 20 s ago, timed out, busy for 10 s more; a pass that looks 5 s back.
    kit.store.patch(id, { lastAttemptAt: ago(20_000), ambiguousAttemptAt: ago(20_000), sendingUntil: new Date(Date.now() + 10_000) });

    expect(await kit.reconciliation.reconcileOnce(5_000)).toEqual(NOTHING);
    expect(kit.twilio.operations()).toEqual(['wait', 'create']);
    expect(kit.store.outboxJobs()).toEqual([]);
  });

  it('leaves look-alike unanswered sends it cannot tell apart queued, with a note for the operator', async () => {
    const to = newRecipient();
    const first = await unanswered(true, { to, body: null, contentSid: 'HX0123456789abcdef0123456789abcdef' });
    const second = await unanswered(false, { to, body: null, contentSid: 'HX0123456789abcdef0123456789abcdef' });

    expect(await kit.reconciliation.reconcileOnce()).toEqual({ ...NOTHING, undecided: 2 });
    for (const id of [first, second]) {
      const row = kit.store.row(id);
      expect(row).toMatchObject({ status: MessageStatus.Queued, messageSid: null, sendingUntil: null });
      expect(row.errorMessage).toContain(`Cannot tell whether message ${id} reached Twilio: 2 unanswered messages`);
      expect(row.ambiguousAttemptAt).not.toBeNull();
    }
    expect(kit.store.outboxJobs()).toEqual([]);
    expect(kit.twilio.creates()).toHaveLength(2);
  });

  it('does not free the lease of an attempt that took an undecided send while it was being looked up', async () => {
    const to = newRecipient();
    const first = await unanswered(true, { to, body: null, contentSid: 'HX0123456789abcdef0123456789abcdef' });
    await unanswered(false, { to, body: null, contentSid: 'HX0123456789abcdef0123456789abcdef' });
    let workerLease: Date | null = null;
    kit.twilio.duringList = async () => {
      kit.twilio.duringList = undefined;
      workerLease = (await kit.store.messages.claim(first, 60_000))!.message.sendingUntil;
    };

    await kit.reconciliation.reconcileOnce();

    expect(kit.store.row(first)).toMatchObject({ attempts: 2, sendingUntil: workerLease });
  });

  it('reaches newer unanswered sends when older ones cannot be settled, a pass’s worth (100) at a time', async () => {
    const since = (id: string, ms: number) => kit.store.patch(id, { lastAttemptAt: ago(ms), ambiguousAttemptAt: ago(ms), updatedAt: ago(ms) });
    // The oldest: look-alike templates of which Twilio has one, so which cannot be told.
    const alike = { to: newRecipient(), body: null, contentSid: 'HX0123456789abcdef0123456789abcdef' };
    const undecidable = [await unanswered(true, alike)];
    for (let i = 1; i < 100; i++) undecidable.push(await unanswered(false, alike));
    for (const id of undecidable) since(id, 3 * HOUR);
    // Then sends to a number whose look-up Twilio keeps refusing.
    const refusedTo = newRecipient();
    const refused: string[] = [];
    for (let i = 0; i < 100; i++) refused.push(await unanswered(false, { to: refusedTo }));
    for (const id of refused) since(id, 2 * HOUR);
    kit.twilio.failListsTo(refusedTo, twilioErrors.answered(20429, 429, 'Too Many Requests'));
    const newer = await unanswered(true);

    expect(await kit.reconciliation.reconcileOnce()).toEqual({ ...NOTHING, undecided: 100 });
    expect(await kit.reconciliation.reconcileOnce()).toEqual({ ...NOTHING, errors: 100 });
    expect(kit.store.row(newer).messageSid).toBeNull();

    const third = await kit.reconciliation.reconcileOnce();

    expect(third).toEqual({ ...NOTHING, recovered: 1, undecided: 99 });
    expect(kit.store.row(newer).messageSid).toBe(kit.twilio.log.find((m) => m.to === kit.store.row(newer).to)?.sid);
    for (const id of [...undecidable, ...refused]) expect(kit.store.row(id)).toMatchObject({ status: MessageStatus.Queued, messageSid: null });
  });

  it('queues a stalled message again once, and not one an attempt holds', async () => {
    const stalled = await kit.queued();
    kit.store.patch(stalled, { createdAt: ago(HOUR) });
    const held = await kit.queued();
    kit.store.patch(held, { createdAt: ago(HOUR) });
    await kit.store.messages.claim(held, 60_000);

    expect(await kit.reconciliation.reconcileOnce()).toEqual({ ...NOTHING, requeued: 1 });
    expect(await kit.reconciliation.reconcileOnce()).toEqual(NOTHING);
    expect(kit.store.outboxJobs().map((j) => [j.jobId, j.payload])).toEqual([[`send-${stalled}-r0`, { messageId: stalled, from: SENDER }]]);
  });

  it('leaves alone a message idle for long whose job still waits in the queue for its sender’s turn', async () => {
    const waiting = await kit.queued();
    kit.store.patch(waiting, { createdAt: ago(HOUR) });
    kit.jobsWaiting.add(waiting);

    expect(await kit.reconciliation.reconcileOnce()).toEqual(NOTHING);
    expect(kit.store.outboxJobs()).toEqual([]);

    kit.jobsWaiting.delete(waiting); // the job is gone (Redis lost it): now it is stalled
    expect(await kit.reconciliation.reconcileOnce()).toEqual({ ...NOTHING, requeued: 1 });
  });

  it('never takes a scheduled message before its time, however old and jobless, and takes one its time passed long ago', async () => {
    const later = await kit.queued({ status: MessageStatus.Scheduled, queuedAt: null, scheduledAt: new Date(Date.now() + HOUR) });
    kit.store.patch(later, { createdAt: ago(30 * 24 * HOUR) });
    // Due a moment ago: it was set on its way then, not at its creation weeks ago.
    const justDue = await kit.queued({ status: MessageStatus.Scheduled, queuedAt: null, scheduledAt: ago(1_000) });
    kit.store.patch(justDue, { createdAt: ago(30 * 24 * HOUR) });
    expect(await kit.reconciliation.reconcileOnce()).toEqual(NOTHING);

    const longDue = await kit.queued({ status: MessageStatus.Scheduled, queuedAt: null, scheduledAt: ago(HOUR) });
    expect(await kit.reconciliation.reconcileOnce()).toEqual({ ...NOTHING, requeued: 1 });
    expect(kit.store.outboxJobs().map((j) => j.payload.messageId)).toEqual([longDue]);
  });

  it('creates the later retry of a 30003 failure that a crash lost, once, and never for a retry', async () => {
    const failed = (over: { retryOf?: string } = {}) => kit.queued({ status: MessageStatus.Undelivered, ...over });
    const missed = await failed();
    kit.store.patch(missed, { errorCode: 30003, failedAt: ago(20 * MINUTE) });
    const recent = await failed();
    kit.store.patch(recent, { errorCode: 30003, failedAt: ago(5 * MINUTE) });
    const aRetry = await failed({ retryOf: recent });
    kit.store.patch(aRetry, { errorCode: 30003, failedAt: ago(20 * MINUTE) });
    const otherCode = await failed();
    kit.store.patch(otherCode, { errorCode: 30008, failedAt: ago(20 * MINUTE) });

    expect(await kit.reconciliation.reconcileOnce()).toEqual({ ...NOTHING, requeued: 1 });

    const retries = kit.store.allMessages().filter((m) => m.retryOf !== null && m.id !== aRetry);
    expect(retries).toEqual([expect.objectContaining({ retryOf: missed, status: MessageStatus.Queued, to: kit.store.row(missed).to, body: kit.store.row(missed).body })]);
    const [job] = kit.store.outboxJobs();
    expect(job).toMatchObject({ jobId: `send-${retries[0].id}`, payload: { messageId: retries[0].id, from: SENDER } });
    expect(job.availableAt.getTime()).toBeLessThanOrEqual(Date.now());
    expect(await kit.reconciliation.reconcileOnce()).toEqual(NOTHING);
  });

  it('applies status callbacks that arrived before their SID was stored', async () => {
    const sid = `SM${'ab'.repeat(16)}`;
    const deliveredAt = ago(MINUTE);
    await kit.lifecycle.applyStatusEvent({ messageSid: sid, status: 'delivered', source: EventSource.Callback, at: deliveredAt });
    const id = await kit.queued({ queuedAt: new Date(deliveredAt.getTime() - MINUTE) });
    kit.store.patch(id, { messageSid: sid });

    expect(await kit.reconciliation.reconcileOnce()).toEqual({ ...NOTHING, earlyEventsApplied: 1 });
    expect(kit.store.row(id)).toMatchObject({ status: MessageStatus.Delivered, deliveredAt, deliveryTimeMs: MINUTE });
    expect(kit.store.allEvents()).toEqual([expect.objectContaining({ messageSid: sid, messageId: id, applied: true })]);
    expect(await kit.reconciliation.reconcileOnce()).toEqual(NOTHING);
  });

  it('goes on queueing stalled messages when one of them fails, and counts the error', async () => {
    const stalled = [await kit.queued(), await kit.queued()];
    for (const id of stalled) kit.store.patch(id, { createdAt: ago(HOUR) });
    kit.store.failNext('takeForRequeue', new Error('deadlock detected'));

    expect(await kit.reconciliation.reconcileOnce()).toEqual({ ...NOTHING, requeued: 1, errors: 1 });
    expect(kit.store.outboxJobs().map((j) => j.payload)).toEqual([{ messageId: stalled[1], from: SENDER }]);

    expect(await kit.reconciliation.reconcileOnce()).toEqual({ ...NOTHING, requeued: 1 });
    expect(kit.store.outboxJobs().map((j) => j.payload)).toEqual([{ messageId: stalled[1], from: SENDER }, { messageId: stalled[0], from: SENDER }]);
  });

  it('goes on applying early callbacks when those of one message fail, and counts the error', async () => {
    const early: string[] = [];
    for (const sid of [`SM${'ef'.repeat(16)}`, `SM${'fe'.repeat(16)}`]) {
      await kit.lifecycle.applyStatusEvent({ messageSid: sid, status: 'sent', source: EventSource.Callback });
      const id = await kit.queued();
      kit.store.patch(id, { messageSid: sid });
      early.push(id);
    }
    kit.store.failNext('unattached', new Error('canceling statement due to statement timeout'));

    expect(await kit.reconciliation.reconcileOnce()).toEqual({ ...NOTHING, earlyEventsApplied: 1, errors: 1 });
    expect(early.map((id) => kit.store.row(id).status).sort()).toEqual([MessageStatus.Queued, MessageStatus.Sent]);

    expect(await kit.reconciliation.reconcileOnce()).toEqual({ ...NOTHING, earlyEventsApplied: 1 });
    expect(early.map((id) => kit.store.row(id).status)).toEqual([MessageStatus.Sent, MessageStatus.Sent]);
  });

  it('goes on with the rest of the pass when one message fails, and counts the error', async () => {
    const gone = await stuckAtTwilio();
    const moved = await stuckAtTwilio();
    kit.twilio.failFetch(gone.sid, twilioErrors.notFound(gone.sid));
    kit.twilio.update(moved.sid, { status: 'sent' });
    const lookupFails = await unanswered(false, {});
    kit.store.patch(lookupFails, { lastAttemptAt: ago(2 * HOUR) });
    const found = await unanswered(true, {});
    kit.twilio.failNextList(twilioErrors.http(502, 'Bad Gateway'));
    const sid = `SM${'cd'.repeat(16)}`;
    await kit.lifecycle.applyStatusEvent({ messageSid: sid, status: 'sent', source: EventSource.Callback });
    const early = await kit.queued();
    kit.store.patch(early, { messageSid: sid });

    const report = await kit.reconciliation.reconcileOnce();

    expect(report).toEqual({ ...NOTHING, fetched: 1, changed: 1, recovered: 1, earlyEventsApplied: 1, errors: 2 });
    expect(kit.store.row(moved.id).status).toBe(MessageStatus.Sent);
    expect(kit.store.row(found).messageSid).not.toBeNull();
    expect(kit.store.row(lookupFails)).toMatchObject({ status: MessageStatus.Queued, messageSid: null });
    expect(kit.store.row(lookupFails).ambiguousAttemptAt).not.toBeNull();
    expect(kit.store.row(early).status).toBe(MessageStatus.Sent);
  });
});
