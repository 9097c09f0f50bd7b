import { randomUUID } from 'node:crypto';
import { OutboxEntry } from '../../../../database/outbox/outbox-entry.entity';
import { OutboxInsert, OutboxJob, OutboxWriter } from '../../../../database/outbox/outbox.writer';
import { MessageEvent } from '../../entities/message-event.entity';
import { WhatsAppMessage } from '../../entities/whatsapp-message.entity';
import { MessageDirection, MessageStatus } from '../../message-status';
import { contactKey, phoneOf } from '../../phone-number';
import { MessageEventRepository, NewMessageEvent } from '../message-event.repository';
import {
  Claim,
  FailurePatch,
  InsertedMessage,
  LookalikeQuery,
  MessagePageQuery,
  NewMessage,
  RETRYABLE_STATUSES,
  SidAttachment,
  Tx,
  UNSETTLED_STATUSES,
  WhatsAppMessageRepository,
} from '../whatsapp-message.repository';

/** The public methods of a class, as a type a fake can implement (private members left out). */
export type PublicApi<T> = { [K in keyof T]: T[K] };
export type WhatsAppMessageRepositoryApi = PublicApi<WhatsAppMessageRepository>;
export type MessageEventRepositoryApi = PublicApi<MessageEventRepository>;
export type OutboxWriterApi = PublicApi<OutboxWriter>;

// `implements` accepts a method with fewer parameters than the real one; these checks do not, so
// a parameter added to (or changed in) a real repository breaks the fake's compilation.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type ParametersOf<T> = { [K in keyof T]: T[K] extends (...args: infer P) => unknown ? P : never };
type AssertTrue<T extends true> = T;
export type SameParametersAsRepositories = [
  AssertTrue<Equal<ParametersOf<Pick<InMemoryWhatsAppMessageRepository, keyof WhatsAppMessageRepositoryApi>>, ParametersOf<WhatsAppMessageRepositoryApi>>>,
  AssertTrue<Equal<ParametersOf<Pick<InMemoryMessageEventRepository, keyof MessageEventRepositoryApi>>, ParametersOf<MessageEventRepositoryApi>>>,
  AssertTrue<Equal<ParametersOf<Pick<InMemoryOutboxWriter, keyof OutboxWriterApi>>, ParametersOf<OutboxWriterApi>>>,
];

/** A repository method (or outbox writer method) a test can make fail once. */
export type FaultPoint = keyof WhatsAppMessageRepositoryApi | keyof MessageEventRepositoryApi | `outbox.${keyof OutboxWriterApi}`;

/** The row as Postgres returns it; `errorcode` (the folded copy) is never selected. */
type MessageRow = Omit<WhatsAppMessage, 'errorCodeFolded'>;

/** What Postgres says when a unique index refuses a row (TypeORM passes the message through). */
function uniqueViolation(index: string): Error {
  return new Error(`duplicate key value violates unique constraint "${index}"`);
}

/** A deep copy of a row (Dates, arrays, JSON objects); not structuredClone, whose Dates come from another realm under jest. */
function clone<T>(value: T): T {
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (Array.isArray(value)) return value.map(clone) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clone(v)])) as T;
  }
  return value;
}

function asMessage(row: MessageRow): WhatsAppMessage {
  return Object.assign(new WhatsAppMessage(), clone(row));
}

function asEvent(row: MessageEvent): MessageEvent {
  return Object.assign(new MessageEvent(), clone(row));
}

function time(d: Date | null | undefined): number | null {
  return d ? d.getTime() : null;
}

/** The columns recordProgress writes (the status columns of ProgressPatch). */
const PROGRESS_COLUMNS = ['status', 'errorCode', 'errorMessage', 'queuedAt', 'sentAt', 'deliveredAt', 'readAt', 'failedAt', 'deliveryTimeMs'] as const;

/** A row of the contacts table, as far as sending reads it. */
interface ContactRow {
  phone: string;
  optedOutAt: Date | null;
}

/** `bigint` ids come back from pg as strings; they order as numbers. */
function byNumericId(a: { id: string }, b: { id: string }): number {
  return Number(BigInt(a.id) - BigInt(b.id));
}

interface Undo {
  table: Map<string, object>;
  key: string;
  before: object | undefined;
}

/**
 * The message, event, outbox and contacts tables in memory, with the same semantics as the SQL
 * of WhatsAppMessageRepository (including the whatsapp_attach_sid function), MessageEventRepository
 * and OutboxWriter (their contract spec runs the same cases against Postgres and against this).
 * `transaction` hands out a marker tx and undoes that transaction's writes when its work throws,
 * as a rollback would. Row and advisory locks are no-ops.
 */
export class InMemoryMessageStore {
  readonly messages: InMemoryWhatsAppMessageRepository;
  readonly events: InMemoryMessageEventRepository;
  readonly outbox: InMemoryOutboxWriter;

  /** @internal tables, in insertion order (what Postgres returns for an unordered scan of a fresh table). */
  readonly messageRows = new Map<string, MessageRow>();
  /** @internal */
  readonly eventRows = new Map<string, MessageEvent>();
  /** @internal */
  readonly outboxRows = new Map<string, OutboxEntry>();
  /** @internal by phone (the contact key, as the inbound path stores it) */
  readonly contactRows = new Map<string, ContactRow>();
  /** How many transactions ran (committed or rolled back): what a batch shares. */
  transactionsRun = 0;

  private readonly openTransactions = new Map<Tx, Undo[]>();
  private readonly faults = new Map<FaultPoint, Error>();
  private sequence = 0;

  constructor(readonly now: () => Date = () => new Date()) {
    this.messages = new InMemoryWhatsAppMessageRepository(this);
    this.events = new InMemoryMessageEventRepository(this);
    this.outbox = new InMemoryOutboxWriter(this);
  }

  // --- For tests ------------------------------------------------------------------------------

  /** The stored message, as findById would return it. */
  row(id: string): WhatsAppMessage {
    const row = this.messageRows.get(id);
    if (!row) throw new Error(`No message ${id} in the store`);
    return asMessage(row);
  }

  /** Sets columns directly, like an UPDATE in psql (no updatedAt bump): to give a row its past. */
  patch(id: string, columns: Partial<MessageRow>): void {
    const row = this.messageRows.get(id);
    if (!row) throw new Error(`No message ${id} in the store`);
    Object.assign(row, clone(columns));
  }

  /**
   * Stores a contact row as an INSERT into contacts would: `phone` is the key, written as the
   * inbound path writes it (contactKey of the E.164 number).
   */
  putContact(phone: string, columns: { optedOutAt: Date | null }): void {
    this.contactRows.set(phone, { phone, optedOutAt: columns.optedOutAt ? new Date(columns.optedOutAt) : null });
  }

  /** Every stored message, in insertion order. */
  allMessages(): WhatsAppMessage[] {
    return [...this.messageRows.values()].map(asMessage);
  }

  /** Every stored status event, oldest first. */
  allEvents(): MessageEvent[] {
    return [...this.eventRows.values()].map(asEvent);
  }

  /** Every job in the outbox, oldest first. */
  outboxJobs(): OutboxEntry[] {
    return [...this.outboxRows.values()].map((r) => clone(r));
  }

  /** The next call of `point` throws `error` (a database failure on that statement). */
  failNext(point: FaultPoint, error: Error): void {
    this.faults.set(point, error);
  }

  // --- For the fakes --------------------------------------------------------------------------

  /** @internal */
  fault(point: FaultPoint): void {
    const error = this.faults.get(point);
    if (!error) return;
    this.faults.delete(point);
    throw error;
  }

  /** @internal */
  nextId(): string {
    return String(++this.sequence);
  }

  /** @internal Runs `work` as a transaction: its writes are undone if it throws. */
  async transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const tx = { inMemoryTransaction: this.nextId() } as unknown as Tx;
    this.transactionsRun += 1;
    const undo: Undo[] = [];
    this.openTransactions.set(tx, undo);
    try {
      return await work(tx);
    } catch (err) {
      for (const u of undo.reverse()) {
        if (u.before === undefined) u.table.delete(u.key);
        else u.table.set(u.key, u.before);
      }
      throw err;
    } finally {
      this.openTransactions.delete(tx);
    }
  }

  /** @internal A tx must come from a transaction that is still open (TypeORM refuses a released one). */
  checkTx(tx: Tx | undefined, required: boolean): void {
    if (tx === undefined && !required) return;
    if (tx === undefined || !this.openTransactions.has(tx)) throw new Error('Query runner already released: the transaction this tx belongs to has ended');
  }

  /** @internal Writes `row` under `key`, remembering the previous version for a rollback of `tx`. */
  write<T extends object>(table: Map<string, T>, key: string, row: T | undefined, tx: Tx | undefined): void {
    const undo = tx ? this.openTransactions.get(tx) : undefined;
    const before = table.get(key);
    undo?.push({ table: table as Map<string, object>, key, before: before === undefined ? undefined : clone(before) });
    if (row === undefined) table.delete(key);
    else table.set(key, row);
  }

  /** @internal Applies `change` to a message row and bumps updatedAt, like an UPDATE statement. */
  update(id: string, change: (row: MessageRow) => void, tx?: Tx): void {
    const current = this.messageRows.get(id);
    if (!current) return;
    const next = clone(current);
    change(next);
    next.updatedAt = this.now();
    if (next.messageSid !== null && next.messageSid !== current.messageSid) {
      for (const other of this.messageRows.values()) {
        if (other.id !== id && other.messageSid === next.messageSid) throw uniqueViolation('UQ_WhatsAppMessage_messageSid');
      }
    }
    this.write(this.messageRows, id, next, tx);
  }
}

/** "Unsent": waiting for its first successful create at Twilio (a scheduled message from its time on). */
function isUnsent(m: MessageRow, now: Date): boolean {
  if (m.messageSid !== null) return false;
  return m.status === MessageStatus.Queued || (m.status === MessageStatus.Scheduled && m.scheduledAt !== null && m.scheduledAt.getTime() <= now.getTime());
}

/** When an unsent message was last set on its way. */
function lastStarted(m: MessageRow): Date {
  return m.lastAttemptAt ?? m.scheduledAt ?? m.createdAt;
}

export class InMemoryWhatsAppMessageRepository implements WhatsAppMessageRepositoryApi {
  constructor(private readonly store: InMemoryMessageStore) {}

  private get rows(): MessageRow[] {
    return [...this.store.messageRows.values()];
  }

  /** No attempt owns the message: never leased, or the lease ran out. */
  private leaseFree(m: MessageRow): boolean {
    return m.sendingUntil === null || m.sendingUntil.getTime() <= this.store.now().getTime();
  }

  private get(id: string): MessageRow | undefined {
    return this.store.messageRows.get(id);
  }

  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.store.transaction(work);
  }

  /** One statement: the rows and the jobs together or neither. */
  async insertWithJobs(rows: NewMessage[], jobs: OutboxInsert): Promise<void> {
    if (rows.length === 0) return;
    this.store.fault('insertWithJobs');
    await this.store.transaction(async (tx) => {
      await this.insert(tx, rows);
      await this.store.outbox.add(tx, jobs.jobs);
    });
    // A statement on its own, not a transaction of the caller's (the undo log above makes it atomic).
    this.store.transactionsRun -= 1;
  }

  async insert(tx: Tx | undefined, rows: NewMessage[]): Promise<InsertedMessage[]> {
    this.store.checkTx(tx, false);
    this.store.fault('insert');
    const now = this.store.now();
    const inserted: InsertedMessage[] = [];
    // One statement: a row that breaks a NOT NULL column stores none of them...
    for (const r of rows) {
      for (const column of ['direction', 'from', 'to', 'status'] as const) {
        if (r[column] === undefined || r[column] === null) throw new Error(`null value in column "${column}" of relation "WhatsAppMessage" violates not-null constraint`);
      }
      // ...and so does one too long for "clientReference" varchar(128).
      if ((r.clientReference?.length ?? 0) > 128) throw new Error('value too long for type character varying(128)');
    }
    for (const r of rows) {
      const id = r.id ?? randomUUID();
      const messageSid = r.messageSid ?? null;
      const retryOf = r.retryOf ?? null;
      // ON CONFLICT DO NOTHING: the primary key and both partial unique indexes, also among these rows.
      const conflict = this.rows.some((m) => m.id === id || (messageSid !== null && m.messageSid === messageSid) || (retryOf !== null && m.retryOf === retryOf));
      if (conflict) continue;
      const row: MessageRow = {
        id,
        messageSid,
        direction: r.direction,
        from: r.from,
        to: r.to,
        body: r.body ?? null,
        mediaUrls: [...(r.mediaUrls ?? [])],
        mediaContentTypes: [...(r.mediaContentTypes ?? [])],
        contentSid: r.contentSid ?? null,
        contentVariables: r.contentVariables ? clone(r.contentVariables) : null,
        profileName: r.profileName ?? null,
        waId: r.waId ?? null,
        metadata: r.metadata ? clone(r.metadata) : null,
        clientReference: r.clientReference ?? null,
        retryOf,
        status: r.status,
        errorCode: null,
        errorMessage: null,
        attempts: 0,
        lastAttemptAt: null,
        ambiguousAttemptAt: null,
        sendingUntil: null,
        createdBy: r.createdBy ?? null,
        queuedAt: r.queuedAt ? new Date(r.queuedAt) : null,
        scheduledAt: r.scheduledAt ? new Date(r.scheduledAt) : null,
        canceledAt: null,
        sentAt: null,
        deliveredAt: null,
        readAt: null,
        failedAt: null,
        deliveryTimeMs: null,
        createdAt: now,
        updatedAt: now,
      };
      this.store.write(this.store.messageRows, id, row, tx);
      inserted.push({ id, retryOf });
    }
    return inserted;
  }

  async findById(id: string, tx?: Tx): Promise<WhatsAppMessage | null> {
    this.store.checkTx(tx, false);
    this.store.fault('findById');
    const row = this.get(id);
    return row ? asMessage(row) : null;
  }

  async findBySid(messageSid: string): Promise<WhatsAppMessage | null> {
    this.store.fault('findBySid');
    const row = this.rows.find((m) => m.messageSid === messageSid);
    return row ? asMessage(row) : null;
  }

  async findByIds(ids: string[]): Promise<WhatsAppMessage[]> {
    this.store.fault('findByIds');
    return this.rows.filter((m) => ids.includes(m.id)).map(asMessage);
  }

  async findByIdForUpdate(tx: Tx, id: string): Promise<WhatsAppMessage | null> {
    this.store.checkTx(tx, true);
    this.store.fault('findByIdForUpdate');
    const row = this.get(id);
    return row ? asMessage(row) : null;
  }

  async findBySidForUpdate(tx: Tx, messageSid: string): Promise<WhatsAppMessage | null> {
    this.store.checkTx(tx, true);
    this.store.fault('findBySidForUpdate');
    const row = this.rows.find((m) => m.messageSid === messageSid);
    return row ? asMessage(row) : null;
  }

  async lockSid(tx: Tx, _messageSid: string): Promise<void> {
    this.store.checkTx(tx, true);
    this.store.fault('lockSid');
  }

  async lockSids(tx: Tx, _messageSids: string[]): Promise<void> {
    this.store.checkTx(tx, true);
    this.store.fault('lockSids');
  }

  async lockSidsAndFindForUpdate(tx: Tx, messageSids: string[]): Promise<WhatsAppMessage[]> {
    await this.lockSids(tx, messageSids);
    return this.findBySidsForUpdate(tx, messageSids);
  }

  async findBySidsForUpdate(tx: Tx, messageSids: string[]): Promise<WhatsAppMessage[]> {
    this.store.checkTx(tx, true);
    this.store.fault('findBySidsForUpdate');
    // ORDER BY id: uuids order like their lower-case text.
    return this.rows
      .filter((m) => m.messageSid !== null && messageSids.includes(m.messageSid))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map(asMessage);
  }

  /** Whether the recipient of `to` has opted out: CONTACT_KEY_SQL is contactKey(phoneOf(to)). */
  private optedOut(to: string): boolean {
    return !!this.store.contactRows.get(contactKey(phoneOf(to)))?.optedOutAt;
  }

  async claim(id: string, leaseMs: number): Promise<Claim | null> {
    this.store.fault('claim');
    const row = this.get(id);
    if (!row || !isUnsent(row, this.store.now()) || !this.leaseFree(row)) return null;
    const hadUnansweredAttempt = row.ambiguousAttemptAt !== null;
    const now = this.store.now();
    this.store.update(id, (m) => {
      m.attempts += 1;
      m.lastAttemptAt = now;
      m.status = MessageStatus.Queued;
      m.queuedAt = m.queuedAt ?? now;
      m.ambiguousAttemptAt = m.ambiguousAttemptAt ?? now;
      m.sendingUntil = new Date(now.getTime() + leaseMs);
    });
    return { message: asMessage(this.get(id)!), hadUnansweredAttempt, optedOut: this.optedOut(row.to) };
  }

  async renewLease(id: string, attempts: number, leaseMs: number): Promise<boolean> {
    this.store.fault('renewLease');
    const row = this.get(id);
    if (!row || row.attempts !== attempts || !isUnsent(row, this.store.now())) return false;
    const now = this.store.now();
    this.store.update(id, (m) => {
      m.lastAttemptAt = now;
      m.sendingUntil = new Date(now.getTime() + leaseMs);
    });
    return true;
  }

  async returnClaim(id: string, attempts: number, error: { errorCode: number | null; errorMessage: string } | null): Promise<void> {
    this.store.fault('returnClaim');
    const row = this.get(id);
    if (!row || row.attempts !== attempts || !isUnsent(row, this.store.now())) return;
    this.store.update(id, (m) => {
      m.attempts -= 1;
      m.sendingUntil = null;
      m.ambiguousAttemptAt = null;
      if (error) {
        m.errorCode = error.errorCode;
        m.errorMessage = error.errorMessage;
      }
    });
  }

  async releaseLease(id: string, attempts: number): Promise<void> {
    this.store.fault('releaseLease');
    const row = this.get(id);
    if (!row || row.attempts !== attempts) return;
    this.store.update(id, (m) => {
      m.sendingUntil = null;
    });
  }

  async attachSid(id: string, messageSid: string, answeredStatus: string): Promise<SidAttachment> {
    this.store.fault('attachSid');
    if (!this.get(id)) throw new Error(`Message ${id} does not exist`);
    // One statement: the message keeps a SID it already has; the attempt is settled either way.
    this.store.update(id, (m) => {
      m.messageSid = m.messageSid ?? messageSid;
      m.ambiguousAttemptAt = null;
      m.sendingUntil = null;
    });
    const row = this.get(id)!;
    const existingSid = row.messageSid!;
    if (existingSid !== messageSid) return { attached: false, existingSid, statusRecorded: false, earlyEvents: false };
    let statusRecorded = false;
    if (answeredStatus === row.status) {
      // INSERT ... ON CONFLICT DO NOTHING: recorded also when (SID, status) was stored before.
      this.store.events.insertRow({
        messageId: id,
        messageSid,
        status: answeredStatus,
        errorCode: null,
        errorMessage: null,
        source: 'api',
        tokenIndex: null,
        raw: {},
        receivedAt: this.store.now(),
      }, undefined);
      statusRecorded = true;
    }
    const earlyEvents = [...this.store.eventRows.values()].some((e) => e.messageSid === messageSid && e.messageId === null);
    return { attached: true, existingSid, statusRecorded, earlyEvents };
  }

  async recordFailure(id: string, patch: FailurePatch, _tx?: Tx): Promise<boolean> {
    this.store.fault('recordFailure');
    const row = this.get(id);
    if (!row || !isUnsent(row, this.store.now())) return false;
    this.store.update(id, (m) => {
      m.errorCode = patch.errorCode;
      m.errorMessage = patch.errorMessage;
      m.ambiguousAttemptAt = patch.ambiguousSince ? new Date(patch.ambiguousSince) : null;
      m.sendingUntil = patch.busyUntil ? new Date(patch.busyUntil) : null;
      if (patch.failedAt) {
        m.status = MessageStatus.Failed;
        m.failedAt = new Date(patch.failedAt);
      }
    });
    return true;
  }

  async markUndecided(id: string, attempts: number, note: string): Promise<void> {
    this.store.fault('markUndecided');
    if (this.get(id)?.attempts !== attempts) return;
    this.store.update(id, (m) => {
      m.errorMessage = note;
      m.sendingUntil = null;
    });
  }

  async sidsTaken(sids: string[]): Promise<Set<string>> {
    this.store.fault('sidsTaken');
    return new Set(this.rows.filter((m) => m.messageSid !== null && sids.includes(m.messageSid)).map((m) => m.messageSid!));
  }

  async unansweredLookalikes(q: LookalikeQuery): Promise<string[]> {
    this.store.fault('unansweredLookalikes');
    return this.rows
      .filter((m) => m.to === q.to && m.from === q.from && isUnsent(m, this.store.now()) && m.ambiguousAttemptAt !== null && m.ambiguousAttemptAt.getTime() >= q.since.getTime())
      .filter((m) => q.body === null || (m.body === q.body && m.contentSid === null))
      .sort((a, b) => time(a.ambiguousAttemptAt)! - time(b.ambiguousAttemptAt)! || a.createdAt.getTime() - b.createdAt.getTime())
      .map((m) => m.id);
  }

  async recordProgress(tx: Tx, messages: WhatsAppMessage[]): Promise<void> {
    this.store.checkTx(tx, true);
    this.store.fault('recordProgress');
    // Every status column from the message, a missing one as NULL (jsonb_to_recordset).
    for (const message of messages) {
      this.store.update(message.id, (m) => {
        for (const column of PROGRESS_COLUMNS) {
          const value = message[column] ?? null;
          Object.assign(m, { [column]: value instanceof Date ? new Date(value) : value });
        }
      }, tx);
    }
  }

  async findStuckAtTwilio(cutoff: Date, limit: number): Promise<WhatsAppMessage[]> {
    this.store.fault('findStuckAtTwilio');
    return this.rows
      .filter((m) => m.direction === MessageDirection.Outbound && UNSETTLED_STATUSES.includes(m.status) && m.messageSid !== null && m.updatedAt.getTime() < cutoff.getTime())
      .sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime())
      .slice(0, limit)
      .map(asMessage);
  }

  async findDeliveredUnread(windowMs: number, cutoff: Date, limit: number): Promise<WhatsAppMessage[]> {
    this.store.fault('findDeliveredUnread');
    const now = Date.now();
    return this.rows
      .filter(
        (m) =>
          m.direction === MessageDirection.Outbound &&
          m.status === MessageStatus.Delivered &&
          m.messageSid !== null &&
          m.createdAt.getTime() > now - windowMs &&
          m.updatedAt.getTime() < cutoff.getTime() &&
          m.deliveredAt !== null &&
          m.updatedAt.getTime() - m.deliveredAt.getTime() < (now - m.deliveredAt.getTime()) / 2,
      )
      .sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime())
      .slice(0, limit)
      .map(asMessage);
  }

  async touch(id: string): Promise<void> {
    this.store.fault('touch');
    this.store.update(id, () => undefined);
  }

  async findUnanswered(cutoff: Date, limit: number): Promise<WhatsAppMessage[]> {
    this.store.fault('findUnanswered');
    return this.rows
      .filter(
        (m) =>
          m.direction === MessageDirection.Outbound &&
          isUnsent(m, this.store.now()) &&
          m.ambiguousAttemptAt !== null &&
          m.lastAttemptAt !== null &&
          m.lastAttemptAt.getTime() < cutoff.getTime() &&
          this.leaseFree(m),
      )
      .sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime())
      .slice(0, limit)
      .map(asMessage);
  }

  async cancel(tx: Tx, id: string): Promise<WhatsAppMessage | null> {
    this.store.checkTx(tx, true);
    this.store.fault('cancel');
    const row = this.get(id);
    const cancelable =
      row &&
      row.direction === MessageDirection.Outbound &&
      row.messageSid === null &&
      (row.status === MessageStatus.Queued || row.status === MessageStatus.Scheduled) &&
      row.ambiguousAttemptAt === null &&
      this.leaseFree(row);
    if (!cancelable) return null;
    this.store.update(id, (m) => {
      m.status = MessageStatus.Canceled;
      m.canceledAt = this.store.now();
    }, tx);
    return asMessage(this.get(id)!);
  }

  async failUnanswered(id: string, attempts: number, errorMessage: string, failedAt: Date, _tx?: Tx): Promise<boolean> {
    this.store.fault('failUnanswered');
    const row = this.get(id);
    if (!row || row.attempts !== attempts || !isUnsent(row, this.store.now()) || !this.leaseFree(row)) return false;
    this.store.update(id, (m) => {
      m.status = MessageStatus.Failed;
      m.failedAt = new Date(failedAt);
      m.ambiguousAttemptAt = null;
      m.errorMessage = errorMessage;
    });
    return true;
  }

  async findStalled(cutoff: Date, limit: number): Promise<WhatsAppMessage[]> {
    this.store.fault('findStalled');
    const jobFor = new Set([...this.store.outboxRows.values()].map((o) => String(o.payload.messageId)));
    return this.rows
      .filter(
        (m) =>
          m.direction === MessageDirection.Outbound &&
          isUnsent(m, this.store.now()) &&
          m.ambiguousAttemptAt === null &&
          lastStarted(m).getTime() < cutoff.getTime() &&
          !jobFor.has(m.id),
      )
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .slice(0, limit)
      .map(asMessage);
  }

  async unsentWithoutOutboxJob(afterId: string | null, limit: number): Promise<{ id: string; from: string }[]> {
    this.store.fault('unsentWithoutOutboxJob');
    const jobFor = new Set([...this.store.outboxRows.values()].map((o) => String(o.payload.messageId)));
    return this.rows
      .filter((m) => m.direction === MessageDirection.Outbound && isUnsent(m, this.store.now()) && !jobFor.has(m.id) && (afterId === null || m.id > afterId))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, limit)
      .map((m) => ({ id: m.id, from: m.from }));
  }

  async takeForRequeue(tx: Tx, id: string, attempts: number, cutoff: Date, clearUnanswered: boolean): Promise<boolean> {
    this.store.checkTx(tx, true);
    this.store.fault('takeForRequeue');
    const row = this.get(id);
    if (!row || row.attempts !== attempts || lastStarted(row).getTime() >= cutoff.getTime() || !isUnsent(row, this.store.now()) || !this.leaseFree(row)) return false;
    this.store.update(id, (m) => {
      if (clearUnanswered) m.ambiguousAttemptAt = null;
    }, tx);
    return true;
  }

  private hasRetry(id: string): boolean {
    return this.rows.some((r) => r.retryOf === id);
  }

  async findUnretriedFailures(errorCodes: number[], failedAfter: Date, failedBefore: Date, limit: number): Promise<WhatsAppMessage[]> {
    this.store.fault('findUnretriedFailures');
    return this.rows
      .filter(
        (m) =>
          m.direction === MessageDirection.Outbound &&
          RETRYABLE_STATUSES.includes(m.status) &&
          m.errorCode !== null &&
          errorCodes.includes(m.errorCode) &&
          m.retryOf === null &&
          m.failedAt !== null &&
          m.failedAt.getTime() > failedAfter.getTime() &&
          m.failedAt.getTime() < failedBefore.getTime() &&
          !this.hasRetry(m.id),
      )
      .slice(0, limit)
      .map(asMessage);
  }

  async idsWithEarlyEvents(limit: number): Promise<string[]> {
    this.store.fault('idsWithEarlyEvents');
    const ids = new Set<string>();
    for (const e of this.store.eventRows.values()) {
      if (e.messageId !== null) continue;
      const m = this.rows.find((r) => r.messageSid === e.messageSid);
      if (m) ids.add(m.id);
    }
    return [...ids].slice(0, limit);
  }

  async findRetryableFailures(q: { since: Date; errorCodes?: number[]; limit: number }): Promise<WhatsAppMessage[]> {
    this.store.fault('findRetryableFailures');
    const codes = q.errorCodes?.length ? q.errorCodes : null;
    return this.rows
      .filter(
        (m) =>
          m.direction === MessageDirection.Outbound &&
          RETRYABLE_STATUSES.includes(m.status) &&
          m.createdAt.getTime() >= q.since.getTime() &&
          (codes === null || (m.errorCode !== null && codes.includes(m.errorCode))) &&
          !this.hasRetry(m.id),
      )
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .slice(0, q.limit)
      .map(asMessage);
  }

  async retriedAmong(ids: string[]): Promise<Set<string>> {
    this.store.fault('retriedAmong');
    return new Set(this.rows.filter((m) => m.retryOf !== null && ids.includes(m.retryOf)).map((m) => m.retryOf!));
  }

  async unsentBacklogBySender(): Promise<Map<string, number>> {
    this.store.fault('unsentBacklogBySender');
    const counts = new Map<string, number>();
    for (const m of this.rows) if (isUnsent(m, this.store.now()) && m.direction === MessageDirection.Outbound) counts.set(m.from, (counts.get(m.from) ?? 0) + 1);
    return counts;
  }

  async page(q: MessagePageQuery): Promise<WhatsAppMessage[]> {
    this.store.fault('page');
    const before = q.before ? { at: new Date(q.before.createdAt).getTime(), id: q.before.id.toLowerCase() } : null;
    return this.rows
      .filter(
        (m) =>
          (!q.createdBy || m.createdBy === q.createdBy) &&
          (!q.direction || m.direction === q.direction) &&
          (!q.status || m.status === q.status) &&
          (!q.to || m.to === q.to) &&
          (!q.from || m.from === q.from) &&
          (q.clientReference === undefined || m.clientReference === q.clientReference) &&
          (!q.since || m.createdAt.getTime() >= q.since.getTime()) &&
          (!q.until || m.createdAt.getTime() < q.until.getTime()) &&
          // Row comparison (createdAt, id) < (cursor); uuids compare like their lower-case text.
          (!before || m.createdAt.getTime() < before.at || (m.createdAt.getTime() === before.at && m.id < before.id)),
      )
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .slice(0, q.limit)
      .map(asMessage);
  }
}

export class InMemoryMessageEventRepository implements MessageEventRepositoryApi {
  constructor(private readonly store: InMemoryMessageStore) {}

  async insertUnlessSeen(tx: Tx, event: NewMessageEvent): Promise<MessageEvent | null> {
    this.store.checkTx(tx, true);
    this.store.fault('insertUnlessSeen');
    return this.insertRow(event, tx);
  }

  async insertManyUnlessSeen(tx: Tx, events: NewMessageEvent[]): Promise<MessageEvent[]> {
    this.store.checkTx(tx, true);
    this.store.fault('insertManyUnlessSeen');
    // One statement: a row refused by NOT NULL stores none; a repeat within `events` meets the
    // row its first occurrence inserted.
    for (const e of events) {
      for (const column of ['messageSid', 'status', 'source', 'receivedAt'] as const) {
        if (e[column] === undefined || e[column] === null) throw new Error(`null value in column "${column}" of relation "message_events" violates not-null constraint`);
      }
    }
    const inserted: MessageEvent[] = [];
    for (const e of events) {
      const row = this.insertRow(e, tx);
      if (row) inserted.push(row);
    }
    return inserted;
  }

  /** @internal INSERT ... ON CONFLICT DO NOTHING on UQ_message_events_sid_status; null for a conflict. */
  insertRow(event: NewMessageEvent, tx: Tx | undefined): MessageEvent | null {
    for (const e of this.store.eventRows.values()) if (event.messageSid !== null && e.messageSid === event.messageSid && e.status === event.status) return null;
    const row: MessageEvent = Object.assign(new MessageEvent(), {
      id: this.store.nextId(),
      messageId: event.messageId,
      messageSid: event.messageSid,
      status: event.status,
      errorCode: event.errorCode ?? null,
      errorMessage: event.errorMessage ?? null,
      source: event.source,
      tokenIndex: event.tokenIndex ?? null,
      applied: event.applied ?? false,
      raw: clone(event.raw ?? {}),
      receivedAt: new Date(event.receivedAt),
    });
    this.store.write(this.store.eventRows, row.id, row, tx);
    return asEvent(row);
  }

  async unattached(tx: Tx, messageSid: string): Promise<MessageEvent[]> {
    this.store.checkTx(tx, true);
    this.store.fault('unattached');
    return [...this.store.eventRows.values()]
      .filter((e) => e.messageSid === messageSid && e.messageId === null)
      .sort(byNumericId)
      .map(asEvent);
  }

  private change(tx: Tx, eventId: string, patch: Partial<MessageEvent>): void {
    const current = this.store.eventRows.get(eventId);
    if (!current) return;
    this.store.write(this.store.eventRows, eventId, Object.assign(asEvent(current), patch), tx);
  }

  async attach(tx: Tx, eventId: string, messageId: string): Promise<void> {
    this.store.checkTx(tx, true);
    this.store.fault('attach');
    this.change(tx, eventId, { messageId });
  }

  async markApplied(tx: Tx, eventIds: string[], applied = true): Promise<void> {
    this.store.checkTx(tx, true);
    this.store.fault('markApplied');
    for (const eventId of eventIds) this.change(tx, eventId, { applied });
  }

  async forMessage(messageId: string): Promise<MessageEvent[]> {
    this.store.fault('forMessage');
    return [...this.store.eventRows.values()]
      .filter((e) => e.messageId === messageId)
      .sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime() || byNumericId(a, b))
      .map(asEvent);
  }
}

/** The outbox table: jobs written in the caller's transaction (nothing relays them). */
export class InMemoryOutboxWriter implements OutboxWriterApi {
  constructor(private readonly store: InMemoryMessageStore) {}

  async add(manager: Tx, jobs: OutboxJob[]): Promise<void> {
    this.store.checkTx(manager, true);
    this.store.fault('outbox.add');
    // One statement: a job that breaks a NOT NULL column stores none of them.
    for (const job of jobs) {
      for (const column of ['queue', 'jobName', 'jobId', 'payload'] as const) {
        if (job[column] === undefined || job[column] === null) throw new Error(`null value in column "${column}" of relation "outbox" violates not-null constraint`);
      }
    }
    const now = this.store.now();
    for (const job of jobs) {
      const id = this.store.nextId();
      const row: OutboxEntry = Object.assign(new OutboxEntry(), {
        id,
        queue: job.queue,
        jobName: job.jobName,
        jobId: job.jobId,
        payload: clone(job.payload),
        relayAttempts: 0,
        lastError: null,
        availableAt: job.availableAt ? new Date(job.availableAt) : now,
        createdAt: now,
      });
      this.store.write(this.store.outboxRows, id, row, manager);
    }
  }

  insertStatement(jobs: OutboxJob[], firstParam = 1): OutboxInsert {
    return { sql: `-- ${jobs.length} jobs from $${firstParam}`, params: [], jobs };
  }

  written(): void {
    // Nothing relays the in-memory outbox.
  }

  async cancel(tx: Tx | undefined, jobId: string): Promise<void> {
    this.store.checkTx(tx, false);
    this.store.fault('outbox.cancel');
    for (const [id, row] of this.store.outboxRows) if (row.jobId === jobId) this.store.write(this.store.outboxRows, id, undefined, tx);
  }

  async releaseNow(tx: Tx | undefined, jobId: string): Promise<void> {
    this.store.checkTx(tx, false);
    this.store.fault('outbox.releaseNow');
    const now = this.store.now();
    for (const [id, row] of this.store.outboxRows) if (row.jobId === jobId) this.store.write(this.store.outboxRows, id, Object.assign(clone(row), { availableAt: now }), tx);
  }
}
