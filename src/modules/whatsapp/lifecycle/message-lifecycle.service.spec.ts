import { randomBytes } from 'node:crypto';
import { WhatsAppMessage } from '../entities/whatsapp-message.entity';
import { MessageStatus } from '../message-status';
import { createWhatsAppTestKit, WhatsAppTestKit } from '../testing/whatsapp-test-kit';
import { ApplyOutcome, EventSource, laneOf } from './message-lifecycle.service';

const MINUTE = 60_000;

function sid(): string {
  return `SM${randomBytes(16).toString('hex')}`;
}

describe('MessageLifecycleService', () => {
  let kit: WhatsAppTestKit;
  const t0 = Date.now() - 60 * MINUTE;
  const at = (minutes: number) => new Date(t0 + minutes * MINUTE);

  beforeEach(() => {
    kit = createWhatsAppTestKit();
  });

  /** A queued message that Twilio accepted as `messageSid`. */
  async function accepted(messageSid = sid()): Promise<{ id: string; messageSid: string }> {
    const id = await kit.queued({ queuedAt: at(0) });
    await kit.lifecycle.attachSid(kit.store.row(id), { sid: messageSid, status: 'queued' });
    return { id, messageSid };
  }

  function callback(messageSid: string, status: string, minutes: number, extra: { errorCode?: number; errorMessage?: string } = {}) {
    return kit.lifecycle.applyStatusEvent({ messageSid, status, source: EventSource.Callback, at: at(minutes), raw: { MessageStatus: status }, tokenIndex: 0, ...extra });
  }

  it('applies statuses in order, recording when each stage was reached and the delivery time', async () => {
    const { id, messageSid } = await accepted();

    expect((await callback(messageSid, 'sent', 1)).outcome).toBe(ApplyOutcome.Applied);
    expect((await callback(messageSid, 'delivered', 3)).outcome).toBe(ApplyOutcome.Applied);
    expect((await callback(messageSid, 'read', 7)).outcome).toBe(ApplyOutcome.Applied);

    expect(kit.store.row(id)).toMatchObject({ status: MessageStatus.Read, queuedAt: at(0), sentAt: at(1), deliveredAt: at(3), readAt: at(7), deliveryTimeMs: 2 * MINUTE });
    expect(kit.published.map((e) => [e.previousStatus, e.status, e.statusChanged])).toEqual([
      [MessageStatus.Queued, MessageStatus.Sent, true],
      [MessageStatus.Sent, MessageStatus.Delivered, true],
      [MessageStatus.Delivered, MessageStatus.Read, true],
    ]);
    expect(kit.published[2]).toMatchObject({ messageId: id, messageSid, from: kit.store.row(id).from, readAt: at(7), deliveredAt: at(3) });
    // The send's own answer (queued, as the message already was) is kept but changed nothing.
    expect(kit.store.allEvents().map((e) => [e.status, e.source, e.messageId, e.applied])).toEqual([
      ['queued', EventSource.Api, id, false],
      ['sent', EventSource.Callback, id, true],
      ['delivered', EventSource.Callback, id, true],
      ['read', EventSource.Callback, id, true],
    ]);
  });

  it('ignores a late lower status, keeping it for the record', async () => {
    const { id, messageSid } = await accepted();
    await callback(messageSid, 'sent', 1);
    await callback(messageSid, 'delivered', 3);
    const before = kit.store.row(id);
    kit.published.length = 0;

    const late = await callback(messageSid, 'sending', 0.5);

    expect(late.outcome).toBe(ApplyOutcome.Stale);
    expect(late.previousStatus).toBe(MessageStatus.Delivered);
    expect(kit.store.row(id)).toEqual(before);
    expect(kit.published).toEqual([]);
    expect(kit.store.allEvents().find((e) => e.status === 'sending')).toMatchObject({ messageId: id, applied: false });
  });

  it('fills the time of a stage whose callback came late, without moving the status back', async () => {
    const { id, messageSid } = await accepted();
    await callback(messageSid, 'delivered', 3);
    // Until then the send is dated no earlier than Twilio could have sent it.
    expect(kit.store.row(id)).toMatchObject({ status: MessageStatus.Delivered, sentAt: at(0), deliveryTimeMs: 3 * MINUTE });

    const late = await callback(messageSid, 'sent', 1);

    expect(late.outcome).toBe(ApplyOutcome.Stale);
    expect(kit.store.row(id)).toMatchObject({ status: MessageStatus.Delivered, sentAt: at(1), deliveryTimeMs: 2 * MINUTE });
    expect(kit.published.map((e) => [e.status, e.statusChanged, e.sentAt])).toEqual([
      [MessageStatus.Delivered, true, at(0)],
      [MessageStatus.Delivered, false, at(1)],
    ]);
  });

  it('ignores a (SID, status) seen before', async () => {
    const { id, messageSid } = await accepted();
    await callback(messageSid, 'delivered', 3);

    const again = await callback(messageSid, 'delivered', 9);

    expect(again.outcome).toBe(ApplyOutcome.Duplicate);
    expect(kit.store.row(id).deliveredAt).toEqual(at(3));
    expect(kit.store.allEvents().filter((e) => e.status === 'delivered')).toHaveLength(1);
    expect(kit.published).toHaveLength(1);
  });

  it('keeps statuses for an unknown SID and applies them, in order, when the SID is attached', async () => {
    const messageSid = sid();
    expect((await callback(messageSid, 'sent', 1)).outcome).toBe(ApplyOutcome.UnknownSid);
    expect((await callback(messageSid, 'delivered', 2)).outcome).toBe(ApplyOutcome.UnknownSid);
    expect(kit.store.allEvents().map((e) => [e.status, e.messageId])).toEqual([
      ['sent', null],
      ['delivered', null],
    ]);
    expect(kit.published).toEqual([]);

    const id = await kit.queued({ queuedAt: at(0) });
    const message = await kit.lifecycle.attachSid(kit.store.row(id), { sid: messageSid, status: 'queued' });

    expect(message).toMatchObject({ id, messageSid, status: MessageStatus.Delivered });
    expect(kit.store.row(id)).toMatchObject({ messageSid, status: MessageStatus.Delivered, sentAt: at(1), deliveredAt: at(2), deliveryTimeMs: MINUTE });
    expect(kit.store.allEvents().map((e) => [e.status, e.messageId, e.applied])).toEqual([
      ['sent', id, true],
      ['delivered', id, true],
      ['queued', id, false],
    ]);
    expect(kit.published.map((e) => [e.previousStatus, e.status])).toEqual([
      [MessageStatus.Queued, MessageStatus.Sent],
      [MessageStatus.Sent, MessageStatus.Delivered],
    ]);
  });

  it('applyPendingEvents applies events left unattached to a message that has the SID', async () => {
    const messageSid = sid();
    await callback(messageSid, 'sent', 1);
    const id = await kit.queued({ queuedAt: at(0) });
    const withoutSid = await kit.queued();
    // The SID was stored without looking for early events (a crash between the two).
    kit.store.patch(id, { messageSid });

    expect(await kit.lifecycle.applyPendingEvents(withoutSid)).toBe(0);
    expect(await kit.lifecycle.applyPendingEvents(id)).toBe(1);
    expect(kit.store.row(id)).toMatchObject({ status: MessageStatus.Sent, sentAt: at(1) });
    expect(await kit.lifecycle.applyPendingEvents(id)).toBe(0);
  });

  it('stores a status Twilio does not document without applying it', async () => {
    const { id, messageSid } = await accepted();
    const before = kit.store.row(id);

    const result = await callback(messageSid, 'delivering', 2);

    expect(result.outcome).toBe(ApplyOutcome.UnknownStatus);
    expect(kit.store.row(id)).toEqual(before);
    expect(kit.store.allEvents().find((e) => e.status === 'delivering')).toMatchObject({ messageId: id, applied: false });
    expect(kit.published).toEqual([]);
  });

  it('takes read as proof of delivery', async () => {
    const { id, messageSid } = await accepted();
    await callback(messageSid, 'sent', 1);

    await callback(messageSid, 'read', 4);

    expect(kit.store.row(id)).toMatchObject({ status: MessageStatus.Read, deliveredAt: at(4), readAt: at(4), deliveryTimeMs: 3 * MINUTE });
  });

  it('dates a send never reported from when the request left for Twilio, and measures the delivery time from it', async () => {
    const { id, messageSid } = await accepted();
    kit.store.patch(id, { lastAttemptAt: at(1) });

    await callback(messageSid, 'delivered', 5);

    expect(kit.store.row(id)).toMatchObject({ sentAt: at(1), deliveredAt: at(5), deliveryTimeMs: 4 * MINUTE });
  });

  it('keeps sentAt <= deliveredAt <= readAt when callbacks arrive in reverse order, stamped with their arrival', async () => {
    const { id, messageSid } = await accepted();
    kit.store.patch(id, { lastAttemptAt: at(1) });

    await callback(messageSid, 'read', 5);
    await callback(messageSid, 'delivered', 6);
    await callback(messageSid, 'sent', 7);

    const row = kit.store.row(id);
    expect(row).toMatchObject({ status: MessageStatus.Read, sentAt: at(1), deliveredAt: at(5), readAt: at(5), deliveryTimeMs: 4 * MINUTE });
  });

  it('never dates a stage before the one it follows: a delivery report older than the send is moved up to it', async () => {
    const { id, messageSid } = await accepted();
    await callback(messageSid, 'sent', 4);
    await callback(messageSid, 'delivered', 3);
    expect(kit.store.row(id)).toMatchObject({ sentAt: at(4), deliveredAt: at(4), deliveryTimeMs: 0 });
  });

  it("dates the send of a recovered message (found at Twilio already delivered) from Twilio's date_sent", async () => {
    const id = await kit.queued({ queuedAt: at(0) });
    kit.store.patch(id, { lastAttemptAt: at(0.5) });

    const message = await kit.lifecycle.attachSid(kit.store.row(id), { sid: sid(), status: 'delivered', dateSent: at(2) });

    expect(message).toMatchObject({ status: MessageStatus.Delivered, sentAt: at(2) });
    const row = kit.store.row(id);
    expect(row.sentAt).toEqual(at(2));
    expect(row.deliveryTimeMs).toBe(row.deliveredAt!.getTime() - at(2).getTime());
  });

  it('records a failure with its error, and no failure erases a delivery', async () => {
    const failed = await accepted();
    await callback(failed.messageSid, 'undelivered', 2, { errorCode: 30003, errorMessage: 'Unreachable destination handset' });
    expect(kit.store.row(failed.id)).toMatchObject({ status: MessageStatus.Undelivered, failedAt: at(2), errorCode: 30003, errorMessage: 'Unreachable destination handset' });

    const delivered = await accepted();
    await callback(delivered.messageSid, 'delivered', 2);
    const late = await callback(delivered.messageSid, 'failed', 3, { errorCode: 30008 });
    expect(late.outcome).toBe(ApplyOutcome.Stale);
    expect(kit.store.row(delivered.id)).toMatchObject({ status: MessageStatus.Delivered, errorCode: null, failedAt: null });
  });

  it('never replaces the SID a message already has', async () => {
    const { id, messageSid } = await accepted();
    const duplicate = sid();

    const message = await kit.lifecycle.attachSid(kit.store.row(id), { sid: duplicate, status: 'delivered' });

    expect(message.messageSid).toBe(messageSid);
    expect(kit.store.row(id)).toMatchObject({ messageSid, status: MessageStatus.Queued });
    expect(kit.store.allEvents().some((e) => e.messageSid === duplicate)).toBe(false);
    expect(kit.published).toEqual([]);
  });

  it('applies the status of an answer that is not the message’s own (found at Twilio already sent), and settles the attempt', async () => {
    const id = await kit.queued({ queuedAt: at(0) });
    await kit.store.messages.claim(id, 60_000);
    const messageSid = sid();

    const message = await kit.lifecycle.attachSid(kit.store.row(id), { sid: messageSid, status: 'sent' });

    expect(message).toMatchObject({ id, messageSid, status: MessageStatus.Sent, ambiguousAttemptAt: null, sendingUntil: null });
    expect(message.sentAt).toBeInstanceOf(Date);
    expect(kit.store.row(id)).toMatchObject({ messageSid, status: MessageStatus.Sent, sentAt: message.sentAt, ambiguousAttemptAt: null, sendingUntil: null });
    expect(kit.store.allEvents().map((e) => [e.status, e.source, e.messageId, e.applied])).toEqual([['sent', EventSource.Api, id, true]]);
    expect(kit.published.map((e) => [e.previousStatus, e.status])).toEqual([[MessageStatus.Queued, MessageStatus.Sent]]);
  });

  it('stores an event seen before as a duplicate whatever the guess made before its insert, and flags only the events that changed the message', async () => {
    const { id, messageSid } = await accepted();
    // Stored for the SID before the message had it, and not applied yet (its early-callback pass never ran).
    kit.store.events.insertRow(
      { messageId: null, messageSid, status: 'delivered', errorCode: null, errorMessage: null, source: EventSource.Callback, tokenIndex: 0, raw: {}, receivedAt: at(2) },
      undefined,
    );
    // One batch: the repeat of the stored event, guessed to apply before the insert, and a later one.
    const [dup, read, stale] = await Promise.all([callback(messageSid, 'delivered', 2), callback(messageSid, 'read', 5), callback(messageSid, 'sent', 1)]);

    expect([dup.outcome, read.outcome]).toEqual([ApplyOutcome.Duplicate, ApplyOutcome.Applied]);
    expect(stale.outcome).toBe(ApplyOutcome.Stale);
    expect(kit.store.row(id)).toMatchObject({ status: MessageStatus.Read, readAt: at(5) });
    expect(kit.store.allEvents().map((e) => [e.status, e.messageId, e.applied])).toEqual([
      ['queued', id, false],
      ['delivered', null, false],
      ['read', id, true],
      // Stale as a status, but it dated the sent stage (it was only implied by the read).
      ['sent', id, true],
    ]);
  });

  it('keeps a Messaging Service’s "accepted" answer for the record without moving a queued message', async () => {
    const id = await kit.queued({ queuedAt: at(0) });
    const messageSid = sid();

    const message = await kit.lifecycle.attachSid(kit.store.row(id), { sid: messageSid, status: 'accepted' });

    expect(message).toMatchObject({ id, messageSid, status: MessageStatus.Queued });
    expect(kit.store.row(id)).toMatchObject({ messageSid, status: MessageStatus.Queued });
    expect(kit.store.allEvents().map((e) => [e.status, e.messageId, e.applied])).toEqual([['accepted', id, false]]);
    expect(kit.published).toEqual([]);
  });

  it('refuses to attach a SID to a message that does not exist', async () => {
    const id = await kit.queued();
    const gone = { ...kit.store.row(id), id: '00000000-0000-4000-8000-000000000000' } as WhatsAppMessage;

    await expect(kit.lifecycle.attachSid(gone, { sid: sid(), status: 'queued' })).rejects.toThrow('does not exist');
    expect(kit.store.allEvents()).toEqual([]);
    expect(kit.store.row(id).messageSid).toBeNull();
  });

  describe('events that arrive together', () => {
    it('applies several events for one message in one transaction, in their order', async () => {
      const { id, messageSid } = await accepted();
      const before = kit.store.transactionsRun;

      const results = await Promise.all([callback(messageSid, 'sent', 1), callback(messageSid, 'delivered', 3), callback(messageSid, 'read', 7)]);

      expect(kit.store.transactionsRun - before).toBe(1);
      expect(results.map((r) => [r.outcome, r.previousStatus])).toEqual([
        [ApplyOutcome.Applied, MessageStatus.Queued],
        [ApplyOutcome.Applied, MessageStatus.Sent],
        [ApplyOutcome.Applied, MessageStatus.Delivered],
      ]);
      expect(kit.store.row(id)).toMatchObject({ status: MessageStatus.Read, sentAt: at(1), deliveredAt: at(3), readAt: at(7), deliveryTimeMs: 2 * MINUTE });
      expect(kit.published.map((e) => [e.previousStatus, e.status])).toEqual([
        [MessageStatus.Queued, MessageStatus.Sent],
        [MessageStatus.Sent, MessageStatus.Delivered],
        [MessageStatus.Delivered, MessageStatus.Read],
      ]);
      expect(kit.store.allEvents().map((e) => [e.status, e.applied])).toEqual([
        ['queued', false],
        ['sent', true],
        ['delivered', true],
        ['read', true],
      ]);
    });

    it('applies a later status before an earlier one of the same batch as a late callback: the status stays, the time is filled', async () => {
      const { id, messageSid } = await accepted();

      const [delivered, sent] = await Promise.all([callback(messageSid, 'delivered', 3), callback(messageSid, 'sent', 1)]);

      expect([delivered.outcome, sent.outcome]).toEqual([ApplyOutcome.Applied, ApplyOutcome.Stale]);
      expect(kit.store.row(id)).toMatchObject({ status: MessageStatus.Delivered, sentAt: at(1), deliveredAt: at(3), deliveryTimeMs: 2 * MINUTE });
    });

    it('applies the first of two equal events in one batch and answers the second as a duplicate', async () => {
      const { id, messageSid } = await accepted();
      const before = kit.store.transactionsRun;

      const [first, repeat, sent] = await Promise.all([callback(messageSid, 'delivered', 3), callback(messageSid, 'delivered', 9), callback(messageSid, 'sent', 1)]);

      expect(kit.store.transactionsRun - before).toBe(1);
      expect([first.outcome, repeat.outcome, sent.outcome]).toEqual([ApplyOutcome.Applied, ApplyOutcome.Duplicate, ApplyOutcome.Stale]);
      expect(kit.store.row(id)).toMatchObject({ status: MessageStatus.Delivered, deliveredAt: at(3), sentAt: at(1) });
      expect(kit.store.allEvents().filter((e) => e.status === 'delivered').map((e) => [e.receivedAt, e.applied])).toEqual([[at(3), true]]);
      expect(kit.published.map((e) => [e.status, e.statusChanged])).toEqual([
        [MessageStatus.Delivered, true],
        [MessageStatus.Delivered, false],
      ]);
    });

    it('applies events for several messages, and keeps one for an unknown SID, in one transaction per lane', async () => {
      const a = await accepted();
      const b = await accepted();
      const unknown = sid();
      const before = kit.store.transactionsRun;

      const results = await Promise.all([
        callback(a.messageSid, 'sent', 1),
        callback(b.messageSid, 'undelivered', 2, { errorCode: 30008, errorMessage: 'Unknown error' }),
        callback(unknown, 'sent', 1),
        callback(a.messageSid, 'delivered', 4),
      ]);

      // Events of one SID share a lane (and a transaction); each lane runs one transaction.
      expect(kit.store.transactionsRun - before).toBe(new Set([a.messageSid, b.messageSid, unknown].map(laneOf)).size);
      expect(results.map((r) => [r.outcome, r.message?.id])).toEqual([
        [ApplyOutcome.Applied, a.id],
        [ApplyOutcome.Applied, b.id],
        [ApplyOutcome.UnknownSid, undefined],
        [ApplyOutcome.Applied, a.id],
      ]);
      expect(kit.store.row(a.id)).toMatchObject({ status: MessageStatus.Delivered, sentAt: at(1), deliveredAt: at(4), deliveryTimeMs: 3 * MINUTE });
      expect(kit.store.row(b.id)).toMatchObject({ status: MessageStatus.Undelivered, failedAt: at(2), errorCode: 30008, errorMessage: 'Unknown error' });
      const stored = kit.store.allEvents().filter((e) => e.source === EventSource.Callback).map((e) => [e.messageSid, e.status, e.messageId, e.applied]);
      expect(stored).toHaveLength(4);
      expect(stored).toEqual(
        expect.arrayContaining([
          [a.messageSid, 'sent', a.id, true],
          [b.messageSid, 'undelivered', b.id, true],
          [unknown, 'sent', null, false],
          [a.messageSid, 'delivered', a.id, true],
        ]),
      );
      // Each message's changes are published in the order they were applied.
      expect(kit.published.filter((e) => e.messageId === a.id).map((e) => e.status)).toEqual([MessageStatus.Sent, MessageStatus.Delivered]);
      expect(kit.published.filter((e) => e.messageId === b.id).map((e) => e.status)).toEqual([MessageStatus.Undelivered]);
    });

    it('applies the events of a batch the database refused one by one, so none is lost', async () => {
      const a = await accepted();
      // Two messages whose events share a lane, so they form one batch.
      let b = await accepted();
      while (laneOf(b.messageSid) !== laneOf(a.messageSid)) b = await accepted();
      kit.store.failNext('insertManyUnlessSeen', new Error('deadlock detected'));

      const results = await Promise.all([callback(a.messageSid, 'sent', 1), callback(b.messageSid, 'sent', 2)]);

      expect(results.map((r) => r.outcome)).toEqual([ApplyOutcome.Applied, ApplyOutcome.Applied]);
      expect(kit.store.row(a.id)).toMatchObject({ status: MessageStatus.Sent, sentAt: at(1) });
      expect(kit.store.row(b.id)).toMatchObject({ status: MessageStatus.Sent, sentAt: at(2) });
      expect(kit.store.allEvents().filter((e) => e.status === 'sent')).toHaveLength(2);
    });
  });
});
