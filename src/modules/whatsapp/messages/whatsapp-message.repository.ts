import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager, In } from 'typeorm';
import type { OutboxInsert } from '../../../database/outbox/outbox.writer';
import { ItemOutcome, MicroBatcher } from '../../../common/batching/micro-batcher';
import { MessageMetadata, WhatsAppMessage } from '../entities/whatsapp-message.entity';
import { MessageDirection, MessageStatus } from '../message-status';

/** Statements given the same `tx` commit or roll back together. */
export type Tx = EntityManager;

/**
 * "Unsent": waiting for its first successful create at Twilio. Every send, lease and requeue
 * statement is guarded by it, so a message that got its SID is never touched by them again. A
 * scheduled message is unsent from its time on (the claim makes it queued), never before: no
 * job, sweep or re-drive can send it early.
 */
const UNSENT = `m."messageSid" IS NULL AND (m.status = 'queued' OR (m.status = 'scheduled' AND m."scheduledAt" <= now()))`;
/** No attempt owns the message: never leased, or the lease ran out. */
const LEASE_FREE = `(m."sendingUntil" IS NULL OR m."sendingUntil" <= now())`;
/**
 * Cancelable: not at Twilio and not on its way there. No SID, no attempt holding it, and no
 * unanswered attempt that may have reached Twilio (whose mark the claim sets before any request
 * leaves): cancel and claim both lock the row, so exactly one of them wins.
 */
const CANCELABLE = `m.direction = 'outbound' AND m."messageSid" IS NULL AND m.status IN ('queued', 'scheduled') AND m."ambiguousAttemptAt" IS NULL AND ${LEASE_FREE}`;
/** When an unsent message was last set on its way: its last attempt, else its time, else its creation. */
const LAST_STARTED = `COALESCE(m."lastAttemptAt", m."scheduledAt", m."createdAt")`;
/**
 * The row with this id, by its physical address, locked first. Statements on one message also
 * test its status, which the (status, createdAt) index matches; with statistics older than a
 * campaign (a backlog of `queued` rows ANALYZE has not seen yet, as after any burst) the planner
 * prices that index under the primary key and walks the whole backlog for every claim or lease
 * change: 56 ms a claim at 20,000 queued instead of 0.5, and end-to-end delivery quadratic in the
 * backlog. A TID scan has no other plan. FOR UPDATE makes the address the row's newest version,
 * so a concurrent change is waited for, never missed.
 */
const THE_ROW = (idParam: string) => `m.ctid = (SELECT ctid FROM "WhatsAppMessage" WHERE id = ${idParam} FOR UPDATE)`;

/** Outbound statuses short of a final one, while Twilio still has the message's fate in hand. */
export const UNSETTLED_STATUSES: readonly MessageStatus[] = [MessageStatus.Queued, MessageStatus.Accepted, MessageStatus.Scheduled, MessageStatus.Sending, MessageStatus.Sent];
export const RETRYABLE_STATUSES: readonly MessageStatus[] = [MessageStatus.Failed, MessageStatus.Undelivered];

/** A row to insert; columns left out take their defaults. */
export interface NewMessage {
  id?: string;
  direction: MessageDirection;
  from: string;
  to: string;
  body: string | null;
  mediaUrls: string[];
  mediaContentTypes?: string[];
  contentSid?: string | null;
  contentVariables?: Record<string, string> | null;
  status: MessageStatus;
  messageSid?: string | null;
  queuedAt?: Date | null;
  /** A scheduled send (status scheduled): not claimed before this time. */
  scheduledAt?: Date | null;
  createdBy?: string | null;
  retryOf?: string | null;
  profileName?: string | null;
  waId?: string | null;
  metadata?: MessageMetadata | null;
  clientReference?: string | null;
}

export interface InsertedMessage {
  id: string;
  retryOf: string | null;
}

export interface Claim {
  message: WhatsAppMessage;
  /** An earlier attempt may have reached Twilio unanswered: look it up before sending. */
  hadUnansweredAttempt: boolean;
  /** The recipient replied STOP (checked in the same statement). */
  optedOut: boolean;
}

interface ClaimRequest {
  id: string;
  leaseMs: number;
}

interface SidAttachRequest {
  id: string;
  messageSid: string;
  answeredStatus: string;
}

export interface SidAttachment {
  /** False when the message already had another SID (which it keeps: see existingSid). */
  attached: boolean;
  existingSid: string;
  /** The answer's status was the message's own and is recorded; otherwise the caller applies it. */
  statusRecorded: boolean;
  /** Callbacks for the SID arrived before it was attached and wait to be applied. */
  earlyEvents: boolean;
}

export interface FailurePatch {
  errorCode: number | null;
  errorMessage: string;
  /** Keeps (or, when null, clears) the may-be-at-Twilio mark. */
  ambiguousSince: Date | null;
  /** Keeps other attempts away while Twilio may still be processing this one. */
  busyUntil: Date | null;
  /** Set when the failure is final: the message becomes failed. */
  failedAt: Date | null;
}

/** The columns status events change (statuses, reached-stage timestamps, error, delivery time). */
const PROGRESS_COLUMNS = ['status', 'errorCode', 'errorMessage', 'queuedAt', 'sentAt', 'deliveredAt', 'readAt', 'failedAt', 'deliveryTimeMs'] as const;
export type ProgressPatch = Partial<Pick<WhatsAppMessage, (typeof PROGRESS_COLUMNS)[number]>>;

export interface MessagePageQuery {
  createdBy?: string;
  direction?: MessageDirection;
  status?: MessageStatus;
  to?: string;
  from?: string;
  clientReference?: string;
  since?: Date;
  until?: Date;
  /** Keyset: only rows strictly older than this (createdAt, id). */
  before?: { createdAt: string; id: string };
  limit: number;
}

export interface LookalikeQuery {
  to: string;
  from: string;
  since: Date;
  /** Only unanswered free-form sends with this text (null: every unanswered send counts). */
  body: string | null;
}

/** Postgres advisory-lock key space for per-SID serialisation (see lockSid; the AttachSid migration uses it too). */
const SID_LOCK_NAMESPACE = 7_413;

/**
 * The contacts key of a message's recipient, in SQL: contactKey(phoneOf(to)) of phone-number.ts
 * (Mexican +521 and Brazilian numbers without the ninth digit meet their dialable form). A test
 * holds the two to the same answers.
 */
export const CONTACT_KEY_SQL = (address: string) => `(SELECT CASE
    WHEN p ~ '^\\+521[0-9]{10}$' THEN '+52' || substr(p, 5)
    WHEN p ~ '^\\+55[0-9]{2}[6-9][0-9]{7}$' THEN '+55' || substr(p, 4, 2) || '9' || substr(p, 6)
    ELSE p END FROM (SELECT regexp_replace(${address}, '^whatsapp:', '', 'i') AS p) a)`;

/**
 * Every statement on "WhatsAppMessage": the message row has named states and guarded
 * transitions (claim, lease, attach SID, settle, requeue), and their predicates live here once.
 * Services hold the policy; `tx` joins a statement to the caller's transaction.
 */
/** insert()'s statement: the rows as one jsonb parameter ($1); a row colliding with a unique key is skipped. */
const INSERT_MESSAGES = `INSERT INTO "WhatsAppMessage" AS m (id, direction, "from", "to", body, "mediaUrls", "mediaContentTypes", "contentSid", "contentVariables",
        status, "messageSid", "queuedAt", "scheduledAt", "createdBy", "retryOf", "profileName", "waId", metadata, "clientReference")
 SELECT r.id, r.direction, r."from", r."to", r.body,
        ARRAY(SELECT jsonb_array_elements_text(COALESCE(r."mediaUrls", '[]'))),
        ARRAY(SELECT jsonb_array_elements_text(COALESCE(r."mediaContentTypes", '[]'))),
        r."contentSid", r."contentVariables", r.status, r."messageSid", r."queuedAt", r."scheduledAt", r."createdBy", r."retryOf",
        r."profileName", r."waId", r.metadata, r."clientReference"
   FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, direction varchar, "from" varchar, "to" varchar, body text, "mediaUrls" jsonb,
        "mediaContentTypes" jsonb, "contentSid" varchar, "contentVariables" jsonb, status varchar, "messageSid" varchar,
        "queuedAt" timestamptz, "scheduledAt" timestamptz, "createdBy" uuid, "retryOf" uuid, "profileName" varchar, "waId" varchar, metadata jsonb,
        "clientReference" varchar)
 ON CONFLICT DO NOTHING
 RETURNING m.id, m."retryOf"`;

@Injectable()
export class WhatsAppMessageRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  private db(tx?: Tx): EntityManager {
    return tx ?? this.dataSource.manager;
  }

  private toEntity(row: Record<string, unknown>): WhatsAppMessage {
    return this.dataSource.manager.create(WhatsAppMessage, row as Partial<WhatsAppMessage>);
  }

  /**
   * The one way rows are inserted (single, bulk, retry and inbound): one statement with one
   * parameter however many rows (TypeORM's insert builder takes ~160 ms to build a 1,000-row
   * VALUES list; this ~25 ms). A row that collides with a unique key (an inbound SID seen
   * before, a message already retried) is skipped: only inserted rows are returned.
   */
  async insert(tx: Tx | undefined, rows: NewMessage[]): Promise<InsertedMessage[]> {
    if (rows.length === 0) return [];
    return this.db(tx).query(INSERT_MESSAGES, [JSON.stringify(rows.map((r) => ({ ...r, id: r.id ?? randomUUID() })))]);
  }

  /**
   * insert() and the outbox jobs that send the rows, as one statement (the jobs' INSERT under a
   * data-modifying WITH): atomic on its own, so a batch of sends needs no transaction, and saves
   * its BEGIN and COMMIT round trips. `jobs` takes its parameters from $2 (the rows are $1).
   * The caller wakes the outbox relays once it succeeded.
   */
  async insertWithJobs(rows: NewMessage[], jobs: OutboxInsert): Promise<void> {
    if (rows.length === 0) return;
    await this.dataSource.query(`WITH inserted_messages AS (${INSERT_MESSAGES}) ${jobs.sql}`, [
      JSON.stringify(rows.map((r) => ({ ...r, id: r.id ?? randomUUID() }))),
      ...jobs.params,
    ]);
  }

  // The two look-ups behind every GET of a message: plain statements, because TypeORM's findOne
  // builds a query builder, its alias maps and its SQL on every call (tens of kilobytes of garbage
  // per look-up, which the young generation then has to scavenge in the middle of requests).
  async findById(id: string, tx?: Tx): Promise<WhatsAppMessage | null> {
    const rows: Record<string, unknown>[] = await this.db(tx).query(`SELECT m.* FROM "WhatsAppMessage" m WHERE m.id = $1`, [id]);
    return rows.length > 0 ? this.toEntity(rows[0]) : null;
  }

  async findBySid(messageSid: string): Promise<WhatsAppMessage | null> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(`SELECT m.* FROM "WhatsAppMessage" m WHERE m."messageSid" = $1 LIMIT 1`, [messageSid]);
    return rows.length > 0 ? this.toEntity(rows[0]) : null;
  }

  findByIds(ids: string[]): Promise<WhatsAppMessage[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.dataSource.manager.find(WhatsAppMessage, { where: { id: In(ids) } });
  }

  /** The row, locked until `tx` ends (status changes on one message are applied one at a time). */
  findByIdForUpdate(tx: Tx, id: string): Promise<WhatsAppMessage | null> {
    return tx.findOne(WhatsAppMessage, { where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  findBySidForUpdate(tx: Tx, messageSid: string): Promise<WhatsAppMessage | null> {
    return tx.findOne(WhatsAppMessage, { where: { messageSid }, lock: { mode: 'pessimistic_write' } });
  }

  /**
   * Serialises everything that touches one SID within `tx`: a callback that overtakes the
   * send's answer either commits before the SID is attached (and is picked up then) or waits.
   */
  async lockSid(tx: Tx, messageSid: string): Promise<void> {
    await this.lockSids(tx, [messageSid]);
  }

  /** lockSid for several SIDs at once, always in key order, so two batches never deadlock. */
  async lockSids(tx: Tx, messageSids: string[]): Promise<void> {
    if (messageSids.length === 0) return;
    await tx.query(
      `SELECT count(pg_advisory_xact_lock($1, k)) FROM (SELECT DISTINCT hashtext(s) AS k FROM unnest($2::text[]) s ORDER BY k) keys`,
      [SID_LOCK_NAMESPACE, messageSids],
    );
  }

  /**
   * lockSids, then findBySidsForUpdate, with one round trip when every SID has its message (the
   * usual case): the advisory locks are taken in the same statement, before any row lock. That
   * statement reads with the snapshot it started with, before it waited for the SID locks, so a
   * SID attached meanwhile (whose attach held the lock) is not seen by it: SIDs it did not find
   * are looked up again once the locks are held.
   */
  async lockSidsAndFindForUpdate(tx: Tx, messageSids: string[]): Promise<WhatsAppMessage[]> {
    if (messageSids.length === 0) return [];
    const rows: Record<string, unknown>[] = await tx.query(
      `WITH locked AS MATERIALIZED (
         SELECT count(pg_advisory_xact_lock($1, k)) AS n FROM (SELECT DISTINCT hashtext(s) AS k FROM unnest($2::text[]) s ORDER BY k) keys
       )
       SELECT m.* FROM "WhatsAppMessage" m
        WHERE m."messageSid" = ANY($2::text[]::varchar[]) AND (SELECT n FROM locked) >= 0
        ORDER BY m.id FOR UPDATE OF m`,
      [SID_LOCK_NAMESPACE, messageSids],
    );
    const found = rows.map((r) => this.toEntity(r));
    const seen = new Set(found.map((m) => m.messageSid));
    const missing = messageSids.filter((sid) => !seen.has(sid));
    if (missing.length === 0) return found;
    const late = await this.findBySidsForUpdate(tx, missing);
    return late.length === 0 ? found : [...found, ...late].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** The messages with these SIDs, locked until `tx` ends (in id order). */
  async findBySidsForUpdate(tx: Tx, messageSids: string[]): Promise<WhatsAppMessage[]> {
    if (messageSids.length === 0) return [];
    const rows: Record<string, unknown>[] = await tx.query(
      `SELECT m.* FROM "WhatsAppMessage" m WHERE m."messageSid" = ANY($1::varchar[]) ORDER BY m.id FOR UPDATE`,
      [messageSids],
    );
    return rows.map((r) => this.toEntity(r));
  }

  // --- Sending: claim, lease, outcome ---------------------------------------------------------

  /**
   * Takes an unsent message for one attempt, in one statement: counts the attempt, leases the
   * message for `leaseMs`, and marks it "may reach Twilio" until the outcome is known, so a
   * crash after Twilio accepted it makes the next attempt look for it instead of sending again;
   * and tells whether the recipient opted out. Null when the message has a SID, is no longer
   * queued, or another attempt holds the lease. A due scheduled message becomes queued here.
   */
  claim(id: string, leaseMs: number): Promise<Claim | null> {
    return this.claims.submit({ id, leaseMs });
  }

  // Claims that workers make at the same moment share one statement, as attachments do.
  private readonly claims = new MicroBatcher<ClaimRequest, Claim | null>({ maxBatch: 100, maxInFlight: 4, isolateFailures: true }, (batch) =>
    this.claimMany(batch),
  );

  /**
   * claim() for several messages in one statement, their rows locked in id order (the order
   * status batches lock rows in). Asked twice for one message, the first request gets it and the
   * later ones get null, as they would one after the other: the first holds the lease.
   */
  private async claimMany(batch: ClaimRequest[]): Promise<ItemOutcome<Claim | null>[]> {
    const first = new Map<string, number>();
    batch.forEach((b, i) => {
      if (!first.has(b.id)) first.set(b.id, i);
    });
    const ids = [...first.keys()];
    // An UPDATE answers [rows, count]; `prev` reads the mark as it was before this claim, and
    // finds the rows by their address (see THE_ROW).
    const [rows]: [(Record<string, unknown> & { hadUnansweredAttempt: boolean; optedOut: boolean })[], number] = await this.dataSource.query(
      `WITH prev AS (SELECT ctid, id, "ambiguousAttemptAt" FROM "WhatsAppMessage" WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE),
            asked AS (SELECT * FROM unnest($1::uuid[], $2::float8[]) AS a(id, lease_s))
       UPDATE "WhatsAppMessage" m
          SET attempts = m.attempts + 1, "lastAttemptAt" = now(), "updatedAt" = now(),
              status = 'queued', "queuedAt" = COALESCE(m."queuedAt", now()),
              "ambiguousAttemptAt" = COALESCE(m."ambiguousAttemptAt", now()),
              "sendingUntil" = now() + make_interval(secs => asked.lease_s)
         FROM prev JOIN asked ON asked.id = prev.id
        WHERE m.ctid = prev.ctid AND ${UNSENT} AND ${LEASE_FREE}
        RETURNING m.*, prev."ambiguousAttemptAt" IS NOT NULL AS "hadUnansweredAttempt",
                  EXISTS (SELECT 1 FROM contacts c WHERE c.phone = ${CONTACT_KEY_SQL('m."to"')} AND c."optedOutAt" IS NOT NULL) AS "optedOut"`,
      [ids, ids.map((id) => batch[first.get(id)!].leaseMs / 1000)],
    );
    const claimed = new Map<string, Claim>();
    for (const { hadUnansweredAttempt, optedOut, ...row } of rows) {
      const message = this.toEntity(row);
      claimed.set(message.id, { message, hadUnansweredAttempt, optedOut });
    }
    return batch.map((b, i) => ({ ok: true, value: first.get(b.id) === i ? (claimed.get(b.id) ?? null) : null }));
  }

  /**
   * Restarts the lease of attempt number `attempts` as its request leaves (a rate-limit wait may
   * have outlasted the first lease). False when another attempt took the message meanwhile.
   */
  async renewLease(id: string, attempts: number, leaseMs: number): Promise<boolean> {
    const [, affected]: [unknown, number] = await this.dataSource.query(
      `UPDATE "WhatsAppMessage" m SET "lastAttemptAt" = now(), "updatedAt" = now(), "sendingUntil" = now() + make_interval(secs => $3)
        WHERE ${THE_ROW('$1')} AND m.attempts = $2 AND ${UNSENT}`,
      [id, attempts, leaseMs / 1000],
    );
    return affected > 0;
  }

  /**
   * Undoes the claim of attempt number `attempts`, which sent nothing (the sender's rate): the
   * attempt no longer counts, and the lease and the may-be-at-Twilio mark are cleared. `error`,
   * when given, is kept as the message's last error (Twilio's 429).
   */
  async returnClaim(id: string, attempts: number, error: { errorCode: number | null; errorMessage: string } | null): Promise<void> {
    await this.dataSource.query(
      `UPDATE "WhatsAppMessage" m
          SET attempts = m.attempts - 1, "sendingUntil" = NULL, "ambiguousAttemptAt" = NULL, "updatedAt" = now(),
              "errorCode" = CASE WHEN $3 THEN $4 ELSE m."errorCode" END, "errorMessage" = CASE WHEN $3 THEN $5 ELSE m."errorMessage" END
        WHERE ${THE_ROW('$1')} AND m.attempts = $2 AND ${UNSENT}`,
      [id, attempts, error !== null, error?.errorCode ?? null, error?.errorMessage ?? null],
    );
  }

  /** Frees the lease of attempt number `attempts` at once (our own failure; the mark stays). */
  async releaseLease(id: string, attempts: number): Promise<void> {
    await this.dataSource.query(`UPDATE "WhatsAppMessage" m SET "sendingUntil" = NULL, "updatedAt" = now() WHERE m.id = $1 AND m.attempts = $2`, [id, attempts]);
  }

  /**
   * Stores the SID Twilio gave the message and settles the attempt (nothing is in doubt any
   * more), with the whatsapp_attach_sid function of the AttachSid migration. Attachments that
   * workers make at the same moment share one statement (see attachSids).
   */
  attachSid(id: string, messageSid: string, answeredStatus: string): Promise<SidAttachment> {
    return this.sidAttachments.submit({ id, messageSid, answeredStatus });
  }

  // Every sent message ends its attempt here, one statement each: with many workers sending at
  // once, most of a worker process's round trips to Postgres were these and the claims.
  private readonly sidAttachments = new MicroBatcher<SidAttachRequest, SidAttachment>(
    { maxBatch: 100, maxInFlight: 4, isolateFailures: true },
    (batch) => this.attachSids(batch),
  );

  /**
   * whatsapp_attach_sid for each request, in one statement. The calls run in the order of their
   * SID's lock key, the order in which a status batch takes the same locks, so two of these, or
   * one and a status batch, never wait for each other in a cycle. Each call still reads with its
   * own snapshot (the function's statements each take one). All commit together; if one fails
   * (a message that does not exist), the batch is run again one request at a time, so only that
   * one fails.
   */
  private async attachSids(batch: SidAttachRequest[]): Promise<ItemOutcome<SidAttachment>[]> {
    const rows = await this.dataSource.query<{ ord: string; attached: boolean; existing_sid: string; status_recorded: boolean; early_events: boolean }[]>(
      `SELECT a.ord, r.*
         FROM (SELECT * FROM unnest($1::uuid[], $2::varchar[], $3::varchar[]) WITH ORDINALITY AS u(id, sid, status, ord)
                ORDER BY hashtext(u.sid), u.sid OFFSET 0) a
        CROSS JOIN LATERAL whatsapp_attach_sid(a.id, a.sid, a.status) r`,
      [batch.map((b) => b.id), batch.map((b) => b.messageSid), batch.map((b) => b.answeredStatus)],
    );
    const byOrd = new Map(rows.map((row) => [Number(row.ord), row]));
    return batch.map((_, i) => {
      const row = byOrd.get(i + 1);
      if (!row) return { ok: false, error: new Error(`No SID attachment answered for message ${batch[i].id}`) };
      return { ok: true, value: { attached: row.attached, existingSid: row.existing_sid, statusRecorded: row.status_recorded, earlyEvents: row.early_events } };
    });
  }

  /**
   * Records a failed attempt while the message is still unsent (a concurrent success is never
   * overwritten); with `failedAt` the message becomes failed. True when the row changed.
   */
  async recordFailure(id: string, patch: FailurePatch, tx?: Tx): Promise<boolean> {
    const [, affected]: [unknown, number] = await this.db(tx).query(
      `UPDATE "WhatsAppMessage" m
          SET "errorCode" = $2, "errorMessage" = $3, "ambiguousAttemptAt" = $4, "sendingUntil" = $5, "updatedAt" = now(),
              status = CASE WHEN $6::timestamptz IS NULL THEN m.status ELSE 'failed' END,
              "failedAt" = COALESCE($6::timestamptz, m."failedAt")
        WHERE ${THE_ROW('$1')} AND ${UNSENT}`,
      [id, patch.errorCode, patch.errorMessage, patch.ambiguousSince, patch.busyUntil, patch.failedAt],
    );
    return affected > 0;
  }

  /**
   * Leaves the message queued with a note for an operator, and free for nobody to send blindly;
   * unless an attempt after number `attempts` took it meanwhile (its lease is not ours to free).
   */
  async markUndecided(id: string, attempts: number, note: string): Promise<void> {
    await this.dataSource.query(`UPDATE "WhatsAppMessage" m SET "errorMessage" = $3, "sendingUntil" = NULL, "updatedAt" = now() WHERE m.id = $1 AND m.attempts = $2`, [id, attempts, note]);
  }

  /** Which of these Twilio SIDs already belong to one of our messages. */
  async sidsTaken(sids: string[]): Promise<Set<string>> {
    if (sids.length === 0) return new Set();
    const rows: { messageSid: string }[] = await this.dataSource.query(`SELECT "messageSid" FROM "WhatsAppMessage" WHERE "messageSid" = ANY($1::varchar[])`, [sids]);
    return new Set(rows.map((r) => r.messageSid));
  }

  /**
   * Our unanswered messages from `from` to `to` since `since` that Twilio would show alike,
   * oldest attempt first (ids).
   */
  async unansweredLookalikes(q: LookalikeQuery): Promise<string[]> {
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT m.id FROM "WhatsAppMessage" m
        WHERE m."to" = $1 AND m."from" = $2 AND ${UNSENT} AND m."ambiguousAttemptAt" >= $3
          AND ($4::text IS NULL OR (m.body = $4 AND m."contentSid" IS NULL))
        ORDER BY m."ambiguousAttemptAt" ASC, m."createdAt" ASC`,
      [q.to, q.from, q.since, q.body],
    );
    return rows.map((r) => r.id);
  }

  // --- Status lifecycle -----------------------------------------------------------------------

  /**
   * Writes the status columns of messages locked in `tx` (their state after the events applied),
   * in one statement however many.
   */
  async recordProgress(tx: Tx, messages: WhatsAppMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const rows = messages.map((m) => Object.fromEntries(['id', ...PROGRESS_COLUMNS].map((c) => [c, m[c as keyof WhatsAppMessage] ?? null])));
    await tx.query(
      `UPDATE "WhatsAppMessage" m
          SET status = r.status, "errorCode" = r."errorCode", "errorMessage" = r."errorMessage", "queuedAt" = r."queuedAt", "sentAt" = r."sentAt",
              "deliveredAt" = r."deliveredAt", "readAt" = r."readAt", "failedAt" = r."failedAt", "deliveryTimeMs" = r."deliveryTimeMs", "updatedAt" = now()
         FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, status varchar, "errorCode" integer, "errorMessage" text, "queuedAt" timestamptz, "sentAt" timestamptz,
              "deliveredAt" timestamptz, "readAt" timestamptz, "failedAt" timestamptz, "deliveryTimeMs" integer)
        WHERE m.id = r.id`,
      [JSON.stringify(rows)],
    );
  }

  // --- Reconciliation ------------------------------------------------------------------------

  /** Messages Twilio has whose status has not moved since `cutoff`, least recently updated first. */
  async findStuckAtTwilio(cutoff: Date, limit: number): Promise<WhatsAppMessage[]> {
    return this.select(
      `m.direction = 'outbound' AND m.status = ANY($1::varchar[]) AND m."messageSid" IS NOT NULL AND m."updatedAt" < $2 ORDER BY m."updatedAt" ASC LIMIT $3`,
      [UNSETTLED_STATUSES, cutoff, limit],
    );
  }

  /**
   * Delivered messages created within `windowMs` that never reported `read` (WhatsApp reports
   * reads, so a lost read callback would leave them delivered for good), not updated since
   * `cutoff`. Each comes back less often as it ages: once the time since its delivery is twice
   * what it was at the last look (touch), so a message never read costs a few fetches over the
   * window, not one per pass. Least recently looked at first.
   */
  async findDeliveredUnread(windowMs: number, cutoff: Date, limit: number): Promise<WhatsAppMessage[]> {
    return this.select(
      `m.direction = 'outbound' AND m.status = 'delivered' AND m."messageSid" IS NOT NULL AND m."createdAt" > now() - make_interval(secs => $1)
         AND m."updatedAt" < $2 AND m."updatedAt" - m."deliveredAt" < (now() - m."deliveredAt") / 2
       ORDER BY m."updatedAt" ASC LIMIT $3`,
      [windowMs / 1000, cutoff, limit],
    );
  }

  /** Puts the message at the back of the reconciliation order. */
  async touch(id: string): Promise<void> {
    await this.dataSource.query(`UPDATE "WhatsAppMessage" SET "updatedAt" = now() WHERE id = $1`, [id]);
  }

  /**
   * Unsent messages whose last attempt went unanswered before `cutoff`, and no attempt holds
   * now; least recently looked at first (updatedAt: a pass that cannot settle one touches it),
   * so messages no pass can settle do not hide the others (the unsettled index serves the order).
   */
  async findUnanswered(cutoff: Date, limit: number): Promise<WhatsAppMessage[]> {
    return this.select(
      `m.direction = 'outbound' AND ${UNSENT} AND m."ambiguousAttemptAt" IS NOT NULL AND m."lastAttemptAt" < $1 AND ${LEASE_FREE}
       ORDER BY m."updatedAt" ASC LIMIT $2`,
      [cutoff, limit],
    );
  }

  /**
   * Cancels a message that has not reached Twilio and that no attempt holds (see CANCELABLE),
   * in `tx`; null when it cannot be (or is no outbound message).
   */
  async cancel(tx: Tx, id: string): Promise<WhatsAppMessage | null> {
    const [rows]: [Record<string, unknown>[], number] = await tx.query(
      `UPDATE "WhatsAppMessage" m SET status = 'canceled', "canceledAt" = now(), "updatedAt" = now()
        WHERE ${THE_ROW('$1')} AND ${CANCELABLE}
        RETURNING m.*`,
      [id],
    );
    return rows.length > 0 ? this.toEntity(rows[0]) : null;
  }

  /** Fails an unanswered message not found at Twilio, unless an attempt started since (`attempts` moved). */
  async failUnanswered(id: string, attempts: number, errorMessage: string, failedAt: Date, tx?: Tx): Promise<boolean> {
    const [, affected]: [unknown, number] = await this.db(tx).query(
      `UPDATE "WhatsAppMessage" m SET status = 'failed', "failedAt" = $4, "ambiguousAttemptAt" = NULL, "errorMessage" = $3, "updatedAt" = now()
        WHERE ${THE_ROW('$1')} AND m.attempts = $2 AND ${UNSENT} AND ${LEASE_FREE}`,
      [id, attempts, errorMessage, failedAt],
    );
    return affected > 0;
  }

  /** Accepted outbound messages never attempted (or not since `cutoff`) with no job waiting in the outbox. */
  async findStalled(cutoff: Date, limit: number): Promise<WhatsAppMessage[]> {
    return this.select(
      `m.direction = 'outbound' AND ${UNSENT} AND m."ambiguousAttemptAt" IS NULL AND ${LAST_STARTED} < $1
         AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.payload->>'messageId' = m.id::text)
       ORDER BY m."createdAt" ASC LIMIT $2`,
      [cutoff, limit],
    );
  }

  /**
   * Unsent outbound messages with no job waiting in the outbox, in id order after `afterId` (a
   * page): after Redis lost its data, the ones no job is left for, however recent.
   */
  async unsentWithoutOutboxJob(afterId: string | null, limit: number): Promise<{ id: string; from: string }[]> {
    return this.dataSource.query(
      `SELECT m.id, m."from" FROM "WhatsAppMessage" m
        WHERE m.direction = 'outbound' AND ${UNSENT} AND ($1::uuid IS NULL OR m.id > $1::uuid)
          AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.payload->>'messageId' = m.id::text)
        ORDER BY m.id LIMIT $2`,
      [afterId, limit],
    );
  }

  /**
   * Takes a stalled message back for a new job, unless a worker attempted it since `cutoff` or
   * holds it now; `clearUnanswered` drops the may-be-at-Twilio mark (it was looked for).
   */
  async takeForRequeue(tx: Tx, id: string, attempts: number, cutoff: Date, clearUnanswered: boolean): Promise<boolean> {
    const [, affected]: [unknown, number] = await tx.query(
      `UPDATE "WhatsAppMessage" m
          SET "updatedAt" = now(), "ambiguousAttemptAt" = CASE WHEN $4 THEN NULL ELSE m."ambiguousAttemptAt" END
        WHERE ${THE_ROW('$1')} AND m.attempts = $2 AND ${LAST_STARTED} < $3 AND ${UNSENT} AND ${LEASE_FREE}`,
      [id, attempts, cutoff, clearUnanswered],
    );
    return affected > 0;
  }

  /** Failures with one of `errorCodes` between the two times that were never retried. */
  async findUnretriedFailures(errorCodes: number[], failedAfter: Date, failedBefore: Date, limit: number): Promise<WhatsAppMessage[]> {
    return this.select(
      `m.direction = 'outbound' AND m.status = ANY($1::varchar[]) AND m."errorCode" = ANY($2::int[]) AND m."retryOf" IS NULL
         AND m."failedAt" > $3 AND m."failedAt" < $4
         AND NOT EXISTS (SELECT 1 FROM "WhatsAppMessage" r WHERE r."retryOf" = m.id)
       LIMIT $5`,
      [RETRYABLE_STATUSES, errorCodes, failedAfter, failedBefore, limit],
    );
  }

  /** Messages with a SID for which status events arrived before the SID was attached. */
  async idsWithEarlyEvents(limit: number): Promise<string[]> {
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT DISTINCT m.id FROM message_events e JOIN "WhatsAppMessage" m ON m."messageSid" = e."messageSid" WHERE e."messageId" IS NULL LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.id);
  }

  // --- Retries -------------------------------------------------------------------------------

  /** Failed outbound messages created since `since` that have no retry yet, oldest first. */
  async findRetryableFailures(q: { since: Date; errorCodes?: number[]; limit: number }): Promise<WhatsAppMessage[]> {
    return this.select(
      `m.direction = 'outbound' AND m.status = ANY($1::varchar[]) AND m."createdAt" >= $2
         AND ($3::int[] IS NULL OR m."errorCode" = ANY($3::int[]))
         AND NOT EXISTS (SELECT 1 FROM "WhatsAppMessage" r WHERE r."retryOf" = m.id)
       ORDER BY m."createdAt" ASC LIMIT $4`,
      [RETRYABLE_STATUSES, q.since, q.errorCodes?.length ? q.errorCodes : null, q.limit],
    );
  }

  /** Which of these messages already have a retry. */
  async retriedAmong(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows: { retryOf: string }[] = await this.dataSource.query(`SELECT "retryOf" FROM "WhatsAppMessage" WHERE "retryOf" = ANY($1::uuid[])`, [ids]);
    return new Set(rows.map((r) => r.retryOf));
  }

  // --- Reading -------------------------------------------------------------------------------

  /** Accepted messages not yet answered by Twilio, per sender (served by the status+createdAt index). */
  async unsentBacklogBySender(): Promise<Map<string, number>> {
    const rows: { from: string; count: number }[] = await this.dataSource.query(
      `SELECT m."from", count(*)::int AS count FROM "WhatsAppMessage" m WHERE ${UNSENT} AND m.direction = 'outbound' GROUP BY m."from"`,
    );
    return new Map(rows.map((r) => [r.from, r.count]));
  }

  /** A page of messages, newest first, by keyset (stable and cheap however deep the page). */
  async page(q: MessagePageQuery): Promise<WhatsAppMessage[]> {
    const qb = this.dataSource.manager.createQueryBuilder(WhatsAppMessage, 'm');
    if (q.createdBy) qb.andWhere('m.createdBy = :createdBy', { createdBy: q.createdBy });
    if (q.direction) qb.andWhere('m.direction = :direction', { direction: q.direction });
    if (q.status) qb.andWhere('m.status = :status', { status: q.status });
    if (q.to) qb.andWhere('m.to = :to', { to: q.to });
    if (q.from) qb.andWhere('m.from = :from', { from: q.from });
    if (q.clientReference !== undefined) qb.andWhere('m.clientReference = :clientReference', { clientReference: q.clientReference });
    if (q.since) qb.andWhere('m.createdAt >= :since', { since: q.since });
    if (q.until) qb.andWhere('m.createdAt < :until', { until: q.until });
    if (q.before) qb.andWhere(`(m."createdAt", m.id) < (:cc::timestamptz, :ci::uuid)`, { cc: q.before.createdAt, ci: q.before.id });
    return qb.orderBy('m.createdAt', 'DESC').addOrderBy('m.id', 'DESC').limit(q.limit).getMany();
  }

  private async select(where: string, params: unknown[]): Promise<WhatsAppMessage[]> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(`SELECT m.* FROM "WhatsAppMessage" m WHERE ${where}`, params);
    return rows.map((r) => this.toEntity(r));
  }
}
