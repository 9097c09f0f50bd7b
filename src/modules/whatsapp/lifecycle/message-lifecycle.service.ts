import { Injectable, Logger } from '@nestjs/common';
import { ItemOutcome, MicroBatcher } from '../../../common/batching/micro-batcher';
import { DomainEvents, DomainEventType, MessageStatusAppliedEvent } from '../../../common/events/domain-events';
import { MessageChangeHooks } from '../../../common/events/message-change-hooks';
import { MessageEvent } from '../entities/message-event.entity';
import { WhatsAppMessage } from '../entities/whatsapp-message.entity';
import { MessageEventRepository } from '../messages/message-event.repository';
import { NewMessageEvent } from '../messages/message-event.repository';
import { ProgressPatch, Tx, WhatsAppMessageRepository } from '../messages/whatsapp-message.repository';
import { isMessageStatus, MessageStatus } from '../message-status';
import { decideTransition, TIMESTAMP_OF, TimestampField } from './status-transitions';

export enum EventSource {
  Callback = 'callback',
  Api = 'api',
  Reconcile = 'reconcile',
}

export interface StatusEventInput {
  messageSid: string;
  status: string;
  errorCode?: number | null;
  errorMessage?: string | null;
  source: EventSource;
  /** When the status was reached; defaults to now. */
  at?: Date;
  /** Twilio's date_sent, when known (a fetched or recovered message): when `sent` was reached. */
  sentAt?: Date | null;
  raw?: Record<string, unknown>;
  tokenIndex?: number | null;
}

export enum ApplyOutcome {
  Applied = 'applied',
  /** Recorded, but the message already had this status or a later one. */
  Stale = 'stale',
  /** The same (SID, status) was seen before: nothing changed. */
  Duplicate = 'duplicate',
  /** No message has this SID (yet): the event is kept and applied when the SID shows up. */
  UnknownSid = 'unknown_sid',
  /** Not a status Twilio documents: kept for the record, not applied. */
  UnknownStatus = 'unknown_status',
}

export interface ApplyResult {
  outcome: ApplyOutcome;
  message?: WhatsAppMessage;
  previousStatus?: MessageStatus;
}

/** The stages whose times follow each other: each is never later than the next. */
const STAGE_ORDER: readonly TimestampField[] = ['sentAt', 'deliveredAt', 'readAt'];
/** Stages whose time may be an estimate, filled when a later stage implied them. */
const IMPLIED_STAGES: ReadonlySet<TimestampField> = new Set(['sentAt', 'deliveredAt']);

/**
 * Status batches in flight at once per process (see statusLanes). Fewer lanes make bigger
 * batches, and a batch costs the same round trips whatever its size: on two cores, 50 callback
 * connections were applied at 2,050-2,170/s with four lanes and 2,420-2,530/s with two; once a
 * batch took its SID locks and read its messages in one statement, 2,760-2,870/s with two and
 * 2,950/s with one (bench callbacks section, alternating rounds). One batch in flight still
 * scales with load: what arrives while it commits forms the next batch (up to 200).
 */
export const STATUS_LANES = 1;

/** The lane of a SID: all events of one message go through the same lane, in order. */
export function laneOf(messageSid: string): number {
  let h = 0;
  for (let i = 0; i < messageSid.length; i++) h = (h * 31 + messageSid.charCodeAt(i)) | 0;
  return Math.abs(h) % STATUS_LANES;
}

/** What one transaction changed, written together at its end. */
interface Changes {
  /** Status events that changed something: the transaction publishes them once it committed. */
  applied: MessageStatusAppliedEvent[];
  /** Messages whose status columns changed (by id). */
  messages: Map<string, WhatsAppMessage>;
  /** Events that changed their message. */
  appliedEventIds: string[];
  /** Events stored as applied by their insert (see applyStatusEvents); corrected at the end if that was wrong. */
  insertedApplied: Set<string>;
}

/**
 * Applies Twilio statuses to messages through the transition table, whatever their source:
 * status callbacks, the send's own answer, or a fetch during reconciliation. Status events that
 * arrive together (a burst of callbacks) are applied together: one transaction, one statement
 * per step for all of them, each answered after the commit.
 */
@Injectable()
export class MessageLifecycleService {
  private readonly logger = new Logger(MessageLifecycleService.name);

  constructor(
    private readonly messages: WhatsAppMessageRepository,
    private readonly messageEvents: MessageEventRepository,
    private readonly events: DomainEvents,
    private readonly hooks: MessageChangeHooks,
  ) {}

  // Status events go to one of STATUS_LANES batchers by their SID, one batch in flight each: two
  // batches in flight never share a SID, so they never wait on each other's SID locks (a
  // message's callbacks often arrive close together), and each batch takes what arrived meanwhile.
  private readonly statusLanes = Array.from(
    { length: STATUS_LANES },
    () => new MicroBatcher<StatusEventInput, ApplyResult>({ maxBatch: 200, maxInFlight: 1, isolateFailures: true }, (batch) => this.applyStatusEvents(batch)),
  );

  /**
   * Runs `work` in a transaction, writes the changes it collected at its end, and publishes the
   * status changes once it committed.
   */
  private async inTransaction<T>(work: (tx: Tx, changes: Changes) => Promise<T>): Promise<T> {
    const changes: Changes = { applied: [], messages: new Map(), appliedEventIds: [], insertedApplied: new Set() };
    const result = await this.messages.transaction(async (tx) => {
      const value = await work(tx, changes);
      await this.messages.recordProgress(tx, [...changes.messages.values()]);
      // Usually every applied event was stored as applied already, and this writes nothing.
      const applied = new Set(changes.appliedEventIds);
      await this.messageEvents.markApplied(tx, changes.appliedEventIds.filter((id) => !changes.insertedApplied.has(id)));
      await this.messageEvents.markApplied(tx, [...changes.insertedApplied].filter((id) => !applied.has(id)), false);
      // Outbound webhooks record their deliveries here: committed with the change, or not at all.
      await this.hooks.statusesApplied(tx, changes.applied);
      return value;
    });
    for (const event of changes.applied) this.events.publish(event);
    return result;
  }

  /** Applies one status event (with any that arrive at the same time). */
  applyStatusEvent(input: StatusEventInput): Promise<ApplyResult> {
    return this.statusLanes[laneOf(input.messageSid)].submit(input);
  }

  /**
   * Applies status events in one transaction, in their order (two events for one message both
   * apply, the later on top of the earlier): SIDs locked, messages read, events stored with
   * de-duplication, then the messages and events written, one statement each.
   */
  private async applyStatusEvents(inputs: StatusEventInput[]): Promise<ItemOutcome<ApplyResult>[]> {
    return this.inTransaction(async (tx, changes) => {
      const sids = [...new Set(inputs.map((i) => i.messageSid))];
      const bySid = new Map((await this.messages.lockSidsAndFindForUpdate(tx, sids)).map((m) => [m.messageSid!, m]));
      const events = inputs.map((input) => this.newEvent(input, bySid.get(input.messageSid)?.id ?? null));
      const expected = this.expectedApplied(inputs, events, bySid);
      const stored = await this.messageEvents.insertManyUnlessSeen(
        tx,
        events.map((event, i) => (expected[i] ? { ...event, applied: true } : event)),
      );
      for (const e of stored) if (e.applied) changes.insertedApplied.add(e.id);
      // A repeat of (SID, status) within the batch was inserted once: the first one owns it.
      const insertedByKey = new Map(stored.map((e) => [`${e.messageSid}\n${e.status}`, e]));
      return inputs.map((input): ItemOutcome<ApplyResult> => {
        const message = bySid.get(input.messageSid);
        const key = `${input.messageSid}\n${input.status}`;
        const inserted = insertedByKey.get(key);
        insertedByKey.delete(key);
        if (!inserted) return { ok: true, value: { outcome: ApplyOutcome.Duplicate, message } };
        if (!isMessageStatus(input.status)) return { ok: true, value: { outcome: ApplyOutcome.UnknownStatus, message } };
        if (!message) return { ok: true, value: { outcome: ApplyOutcome.UnknownSid } };
        return { ok: true, value: this.applyToMessage(changes, message, inserted, input) };
      });
    });
  }

  /**
   * Stores the SID Twilio gave a message and settles its attempt, applies the status of
   * Twilio's answer, then any callbacks that arrived for that SID before it was known. The
   * common case (the answer says queued, no early callback) is one round trip.
   */
  async attachSid(
    message: WhatsAppMessage,
    snapshot: { sid: string; status: string; errorCode?: number | null; errorMessage?: string | null; dateSent?: Date | null },
  ): Promise<WhatsAppMessage> {
    const result = await this.messages.attachSid(message.id, snapshot.sid, snapshot.status);
    const settled = { ...message, messageSid: result.existingSid, ambiguousAttemptAt: null, sendingUntil: null } as WhatsAppMessage;
    if (!result.attached) {
      // Twilio holds two messages for one of ours: never hide the first. The second one's
      // callbacks stay stored under its SID for an operator to see.
      this.logger.error(`Message ${message.id} already has SID ${result.existingSid}; Twilio also created ${snapshot.sid} for it (a duplicate)`);
      return settled;
    }
    let current = settled;
    if (!result.statusRecorded) {
      const applied = await this.applyStatusEvent({
        messageSid: snapshot.sid,
        status: snapshot.status,
        errorCode: snapshot.errorCode ?? null,
        errorMessage: snapshot.errorMessage ?? null,
        // A recovered message may be well on its way: Twilio's date_sent is when it was sent.
        sentAt: snapshot.dateSent ?? null,
        source: EventSource.Api,
      });
      current = applied.message ?? current;
    }
    if (result.earlyEvents && (await this.applyPendingEvents(message.id)) > 0) {
      current = (await this.messages.findById(message.id)) ?? current;
    }
    return current;
  }

  /** Applies callbacks stored before the message's SID was known (reconciliation's safety net). */
  async applyPendingEvents(messageId: string): Promise<number> {
    return this.inTransaction(async (tx, changes) => {
      const message = await this.messages.findById(messageId, tx);
      if (!message?.messageSid) return 0;
      await this.messages.lockSid(tx, message.messageSid);
      const locked = await this.messages.findByIdForUpdate(tx, messageId);
      if (!locked) return 0;
      return this.applyOrphans(tx, locked, changes);
    });
  }

  /** Applies events stored before their SID was known. Called on attach and by reconciliation. */
  private async applyOrphans(tx: Tx, message: WhatsAppMessage, changes: Changes): Promise<number> {
    const orphans = await this.messageEvents.unattached(tx, message.messageSid!);
    for (const event of orphans) {
      await this.messageEvents.attach(tx, event.id, message.id);
      if (!isMessageStatus(event.status)) continue;
      this.applyToMessage(changes, message, event, {
        // Found by their SID: never null here.
        messageSid: event.messageSid!,
        status: event.status,
        errorCode: event.errorCode,
        errorMessage: event.errorMessage,
        source: event.source as EventSource,
        at: event.receivedAt,
        raw: event.raw,
      });
    }
    if (orphans.length > 0) this.logger.log(`Applied ${orphans.length} early callback(s) to message ${message.id}`);
    return orphans.length;
  }

  /**
   * Which of the events will change their message if none of them was seen before (the common
   * case), worked out on copies of the messages before the events are stored, so that an applied
   * event is stored as applied by its insert instead of being written a second time. The real
   * outcome is decided after the insert as always; inTransaction corrects the flag where this
   * guess was wrong (an event seen before that has not changed its message yet).
   */
  private expectedApplied(inputs: StatusEventInput[], events: NewMessageEvent[], bySid: Map<string, WhatsAppMessage>): boolean[] {
    const scratch: Changes = { applied: [], messages: new Map(), appliedEventIds: [], insertedApplied: new Set() };
    const copies = new Map<string, WhatsAppMessage>();
    const seen = new Set<string>();
    return inputs.map((input, i) => {
      const key = `${input.messageSid}\n${input.status}`;
      if (seen.has(key)) return false;
      seen.add(key);
      const message = bySid.get(input.messageSid);
      if (!message || !isMessageStatus(input.status)) return false;
      let copy = copies.get(input.messageSid);
      if (!copy) copies.set(input.messageSid, (copy = Object.assign(Object.create(Object.getPrototypeOf(message)) as WhatsAppMessage, message)));
      const before = scratch.appliedEventIds.length;
      this.applyToMessage(scratch, copy, { id: String(i), receivedAt: events[i].receivedAt } as MessageEvent, input);
      return scratch.appliedEventIds.length > before;
    });
  }

  /** Inserts the event unless (SID, status) was seen already; returns it, or null for a duplicate. */
  private newEvent(input: StatusEventInput, messageId: string | null): NewMessageEvent {
    return {
      messageId,
      messageSid: input.messageSid,
      status: input.status,
      errorCode: input.errorCode ?? null,
      errorMessage: input.errorMessage ?? null,
      source: input.source,
      tokenIndex: input.tokenIndex ?? null,
      raw: input.raw ?? {},
      receivedAt: input.at ?? new Date(),
    };
  }

  /** Applies the event to the message in memory and collects the writes (see inTransaction). */
  private applyToMessage(changes: Changes, message: WhatsAppMessage, event: MessageEvent, input: StatusEventInput): ApplyResult {
    const previousStatus = message.status;
    const decision = decideTransition(message.status, input.status as MessageStatus);
    const at = input.at ?? event.receivedAt ?? new Date();
    const patch: ProgressPatch = MessageLifecycleService.reachedTimes(message, decision.reached, input.status as MessageStatus, at, input.sentAt ?? null);
    if (decision.statusChanged) {
      patch.status = decision.status;
      if (input.errorCode || input.errorMessage) {
        patch.errorCode = input.errorCode ?? null;
        patch.errorMessage = input.errorMessage ?? null;
      }
    }
    if (Object.keys(patch).length === 0) {
      return { outcome: ApplyOutcome.Stale, message, previousStatus };
    }
    Object.assign(message, patch);
    const deliveryTimeMs = MessageLifecycleService.deliveryTimeMs(message);
    if (deliveryTimeMs !== message.deliveryTimeMs) {
      patch.deliveryTimeMs = deliveryTimeMs;
      message.deliveryTimeMs = deliveryTimeMs;
    }
    changes.messages.set(message.id, message);
    changes.appliedEventIds.push(event.id);
    changes.applied.push(MessageLifecycleService.appliedEvent(message, previousStatus, decision.statusChanged));
    return { outcome: decision.statusChanged ? ApplyOutcome.Applied : ApplyOutcome.Stale, message, previousStatus };
  }

  static appliedEvent(message: WhatsAppMessage, previousStatus: MessageStatus, statusChanged: boolean): MessageStatusAppliedEvent {
    return {
      type: DomainEventType.MessageStatusApplied,
      messageId: message.id,
      messageSid: message.messageSid,
      from: message.from,
      to: message.to,
      clientReference: message.clientReference ?? null,
      metadata: message.metadata ?? null,
      previousStatus,
      status: message.status,
      statusChanged,
      errorCode: message.errorCode,
      at: new Date(),
      queuedAt: message.queuedAt,
      sentAt: message.sentAt,
      deliveredAt: message.deliveredAt,
      readAt: message.readAt,
      failedAt: message.failedAt,
      scheduledAt: message.scheduledAt ?? null,
      canceledAt: message.canceledAt ?? null,
    };
  }

  /**
   * The times of the statuses an event shows were reached. The event's own status gets the
   * event's time; a status it implies (a delivery implies the send, `read` the delivery) that has
   * no time yet gets the best one known: Twilio's date_sent, else when the request left for Twilio,
   * for `sent`; the event's time for `delivered`. A later event for an implied status replaces
   * that estimate only with a time that fits between its neighbours: a callback that arrives late
   * carries its arrival time, which says nothing about when the stage happened. Every new time is
   * kept between the message's earlier and later ones, so sentAt <= deliveredAt <= readAt.
   */
  static reachedTimes(message: WhatsAppMessage, reached: MessageStatus[], incoming: MessageStatus, at: Date, twilioSentAt: Date | null): ProgressPatch {
    const patch: ProgressPatch = {};
    const ms = (d: Date | null | undefined) => (d ? new Date(d).getTime() : null);
    const bounds = (field: TimestampField) => {
      const i = STAGE_ORDER.indexOf(field);
      const known = (fields: readonly TimestampField[]) => fields.map((f) => ms(patch[f] ?? message[f])).filter((t): t is number => t !== null);
      return { notBefore: Math.max(-Infinity, ...known(STAGE_ORDER.slice(0, i))), notAfter: Math.min(Infinity, ...known(STAGE_ORDER.slice(i + 1))) };
    };
    for (const status of reached) {
      const field = TIMESTAMP_OF[status];
      if (!field) continue;
      if (status !== incoming) {
        if (!message[field]) patch[field] = field === 'sentAt' ? (twilioSentAt ?? message.lastAttemptAt ?? message.queuedAt ?? at) : at;
        continue;
      }
      const time = field === 'sentAt' && twilioSentAt ? twilioSentAt : at;
      if (!message[field]) {
        patch[field] = time;
      } else if (IMPLIED_STAGES.has(field)) {
        const { notBefore, notAfter } = bounds(field);
        if (time.getTime() >= notBefore && time.getTime() <= notAfter && time.getTime() !== ms(message[field])) patch[field] = time;
      }
    }
    for (const field of STAGE_ORDER) {
      const value = patch[field];
      if (!value) continue;
      const { notBefore, notAfter } = bounds(field);
      patch[field] = new Date(Math.max(notBefore, Math.min(notAfter, value.getTime())));
    }
    return patch;
  }

  /** Delivered time minus sent time (queued time when `sent` was never reported). */
  static deliveryTimeMs(m: Pick<WhatsAppMessage, 'deliveredAt' | 'sentAt' | 'queuedAt'>): number | null {
    if (!m.deliveredAt) return null;
    const start = m.sentAt ?? m.queuedAt;
    if (!start) return null;
    return Math.max(0, new Date(m.deliveredAt).getTime() - new Date(start).getTime());
  }
}
