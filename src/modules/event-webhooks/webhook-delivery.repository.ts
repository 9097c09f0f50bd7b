import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { OutboxSignal } from '../../database/outbox/outbox-signal';
import { DeliveryStatus, WebhookDelivery } from './entities/webhook-delivery.entity';
import { WebhookDeliveryAttempt } from './entities/webhook-delivery-attempt.entity';
import { WEBHOOKS_QUEUE, WebhookJobName } from './jobs/webhook-jobs';

export interface NewDelivery {
  subscriptionId: string;
  eventId: string;
  eventType: string;
  messageId: string | null;
  body: string;
}

/** A delivery taken for one attempt, with what the attempt needs from its subscription. */
export interface ClaimedDelivery {
  id: string;
  eventId: string;
  body: string;
  attempts: number;
  messageId: string | null;
  subscriptionId: string;
  url: string;
  /** The current secret, and the one before a rotation while it is still honoured. */
  secrets: string[];
}

export interface AttemptRecord {
  startedAt: Date;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  ok: boolean;
  /** Wait before the next attempt after a failure; null: the schedule is exhausted. */
  retryInMs: number | null;
}

export interface DisableRule {
  /** Consecutive failed attempts that disable the subscription; 0: only an exhausted delivery does. */
  afterFailures: number;
}

export interface DeliveryPageQuery {
  subscriptionId: string;
  status?: DeliveryStatus;
  /** Keyset: only deliveries older than this seq. */
  beforeSeq?: string;
  limit: number;
}

/**
 * An outbox job that attempts the delivery `idSql` (an SQL expression). The job id is fresh for
 * every job written (a delivery gets several: first try, retries, replays, releases), and the same
 * for a row relayed twice, which is what BullMQ de-duplicates.
 */
const DELIVER_JOB = (idSql: string) =>
  `'${WEBHOOKS_QUEUE}', '${WebhookJobName.Deliver}', 'whd-' || ${idSql} || '-' || substr(md5(random()::text), 1, 10), jsonb_build_object('deliveryId', ${idSql})`;

/** An earlier event of the same message on the same subscription still waits: this one waits behind it. */
const BEHIND_EARLIER = `d."messageId" IS NOT NULL AND EXISTS (
  SELECT 1 FROM webhook_deliveries p
   WHERE p."subscriptionId" = d."subscriptionId" AND p."messageId" = d."messageId" AND p.status = 'pending' AND p.seq < d.seq)`;

/** Advisory lock key of the overdue sweep (next to the other keys of the service: 7_413, 7_414). */
const SWEEP_LOCK_KEY = 7_415;

// TypeORM answers [rows, affected] to an UPDATE (also one after a WITH), and rows to anything else.

/** Every statement on the deliveries and their attempts; the delivery rules read as policy in WebhookDeliveryService. */
@Injectable()
export class WebhookDeliveryRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly signal: OutboxSignal,
  ) {}

  transaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  /**
   * Stores deliveries and their first jobs in the caller's transaction, in one statement. A
   * subscription disabled or deleted since the cache read it gets none. Rows are numbered in the
   * order given, which is the order of the events of a message.
   */
  async insertForEvents(tx: EntityManager, rows: NewDelivery[]): Promise<void> {
    await tx.query(
      `WITH d AS (
         INSERT INTO webhook_deliveries ("subscriptionId", "eventId", "eventType", "messageId", body, "nextAttemptAt")
         SELECT e."subscriptionId", e."eventId", e."eventType", e."messageId", e.body, now()
           FROM jsonb_to_recordset($1::jsonb) AS e(n int, "subscriptionId" uuid, "eventId" text, "eventType" text, "messageId" uuid, body text)
           JOIN webhook_subscriptions s ON s.id = e."subscriptionId" AND s.enabled
          ORDER BY e.n
         RETURNING id)
       INSERT INTO outbox (queue, "jobName", "jobId", payload) SELECT ${DELIVER_JOB('d.id')} FROM d`,
      [JSON.stringify(rows.map((r, n) => ({ n, ...r })))],
    );
    this.signal.written(tx.queryRunner);
  }

  /**
   * Takes a delivery for one attempt, if it is due, its subscription enabled, no attempt holds it
   * and no earlier event of its message waits on the same subscription.
   */
  async claim(id: string, leaseMs: number): Promise<ClaimedDelivery | null> {
    const [rows]: [ClaimedDelivery[], number] = await this.dataSource.query(
      `UPDATE webhook_deliveries d SET "leaseUntil" = now() + make_interval(secs => $2::float8 / 1000), "updatedAt" = now()
         FROM webhook_subscriptions s
        WHERE d.id = $1 AND s.id = d."subscriptionId" AND s.enabled
          AND d.status = 'pending' AND d."nextAttemptAt" <= now() AND (d."leaseUntil" IS NULL OR d."leaseUntil" <= now())
          AND NOT (${BEHIND_EARLIER})
        RETURNING d.id, d."eventId", d.body, d.attempts, d."messageId", d."subscriptionId", s.url,
                  array_remove(ARRAY[s.secret, CASE WHEN s."previousSecretExpiresAt" > now() THEN s."previousSecret" END], NULL) AS secrets`,
      [id, leaseMs],
    );
    return rows[0] ?? null;
  }

  /** Until when an attempt holds a pending delivery of an enabled subscription (null: none does). */
  async heldUntil(id: string): Promise<Date | null> {
    const [row]: { leaseUntil: Date }[] = await this.dataSource.query(
      `SELECT d."leaseUntil" FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d."subscriptionId" AND s.enabled
        WHERE d.id = $1 AND d.status = 'pending' AND d."leaseUntil" > now()`,
      [id],
    );
    return row?.leaseUntil ?? null;
  }

  /** An outbox job that attempts the delivery at `at`, in its own transaction or in `tx`. */
  async scheduleAttempt(tx: EntityManager | undefined, id: string, at: Date): Promise<void> {
    await (tx ?? this.dataSource.manager).query(
      `INSERT INTO outbox (queue, "jobName", "jobId", payload, "availableAt") SELECT ${DELIVER_JOB('$1::uuid::text')}, $2`,
      [id, at],
    );
    this.signal.written(tx?.queryRunner);
  }

  /**
   * Writes an attempt's outcome: the attempt row, the delivery's new state, its next job (a
   * retry) or, once it is settled, the job of the next event of its message waiting behind it.
   * Returns the delivery's status and when it is retried.
   */
  async recordAttempt(tx: EntityManager, claimed: ClaimedDelivery, attempt: AttemptRecord): Promise<{ status: DeliveryStatus; nextAttemptAt: Date | null }> {
    const status = attempt.ok ? DeliveryStatus.Succeeded : attempt.retryInMs === null ? DeliveryStatus.Failed : DeliveryStatus.Pending;
    const [[row]]: [{ nextAttemptAt: Date | null }[], number] = await tx.query(
      `WITH a AS (
         INSERT INTO webhook_delivery_attempts ("deliveryId", "startedAt", "statusCode", "durationMs", error, "nextRetryAt")
         SELECT id, $2, $3, $4, $5, CASE WHEN $7::int IS NULL THEN NULL ELSE now() + make_interval(secs => $7::float8 / 1000) END
           FROM webhook_deliveries WHERE id = $1)
       UPDATE webhook_deliveries SET status = $6, attempts = attempts + 1, "leaseUntil" = NULL, "updatedAt" = now(),
              "nextAttemptAt" = CASE WHEN $7::int IS NULL THEN NULL ELSE now() + make_interval(secs => $7::float8 / 1000) END,
              "lastStatusCode" = $3, "lastError" = $5
        WHERE id = $1 RETURNING "nextAttemptAt"`,
      [claimed.id, attempt.startedAt, attempt.statusCode, attempt.durationMs, attempt.error, status, status === DeliveryStatus.Pending ? attempt.retryInMs : null],
    );
    // Deleted with its subscription while the request was out: nothing left to record.
    if (!row) return { status, nextAttemptAt: null };
    const { nextAttemptAt } = row;
    if (status === DeliveryStatus.Pending) {
      await this.scheduleAttempt(tx, claimed.id, nextAttemptAt!);
    } else if (claimed.messageId) {
      await this.releaseNext(tx, claimed.subscriptionId, claimed.messageId);
    }
    return { status, nextAttemptAt };
  }

  /** The job of the earliest event of a message still waiting on a subscription. */
  private async releaseNext(tx: EntityManager, subscriptionId: string, messageId: string): Promise<void> {
    await tx.query(
      `INSERT INTO outbox (queue, "jobName", "jobId", payload, "availableAt")
       SELECT ${DELIVER_JOB('d.id::text')}, GREATEST(d."nextAttemptAt", now()) FROM (
         SELECT id, "nextAttemptAt" FROM webhook_deliveries
          WHERE "subscriptionId" = $1 AND "messageId" = $2 AND status = 'pending' ORDER BY seq LIMIT 1) d`,
      [subscriptionId, messageId],
    );
    this.signal.written(tx.queryRunner);
  }

  /**
   * Counts an attempt in the subscription's run of failures (or ends the run), and disables it
   * when the run is long enough or a delivery exhausted its retries. Returns the reason when this
   * call disabled it.
   */
  async countOutcome(tx: EntityManager, subscriptionId: string, ok: boolean, disable: { now: boolean; afterFailures: number; reasons: { exhausted: string; run: string } }): Promise<string | null> {
    if (ok) {
      await tx.query(`UPDATE webhook_subscriptions SET "consecutiveFailures" = 0 WHERE id = $1 AND "consecutiveFailures" <> 0`, [subscriptionId]);
      return null;
    }
    const [rows]: [{ disabledReason: string | null; justDisabled: boolean }[], number] = await tx.query(
      `WITH old AS (SELECT id, enabled FROM webhook_subscriptions WHERE id = $1 FOR UPDATE)
       UPDATE webhook_subscriptions s SET "consecutiveFailures" = s."consecutiveFailures" + 1,
              enabled = s.enabled AND NOT ($2 OR ($3 > 0 AND s."consecutiveFailures" + 1 >= $3)),
              "disabledReason" = CASE WHEN NOT s.enabled THEN s."disabledReason" WHEN $2 THEN $4 WHEN $3 > 0 AND s."consecutiveFailures" + 1 >= $3 THEN $5 ELSE s."disabledReason" END,
              "disabledAt" = CASE WHEN s.enabled AND ($2 OR ($3 > 0 AND s."consecutiveFailures" + 1 >= $3)) THEN now() ELSE s."disabledAt" END
         FROM old WHERE s.id = old.id
       RETURNING s."disabledReason", old.enabled AND NOT s.enabled AS "justDisabled"`,
      [subscriptionId, disable.now, disable.afterFailures, disable.reasons.exhausted, disable.reasons.run],
    );
    return rows[0]?.justDisabled ? rows[0].disabledReason : null;
  }

  /**
   * Jobs again for pending deliveries overdue by `graceMs` that no attempt holds and no earlier
   * event of their message waits before (their job was lost: Redis lost its data, or a process
   * died between two steps). Returns how many. A job that was only late runs into a claim that
   * lets one attempt through.
   */
  async requeueOverdue(graceMs: number, limit: number): Promise<number> {
    return this.dataSource.transaction(async (tx) => {
      // One sweep at a time across the worker processes.
      const [{ locked }] = await tx.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [SWEEP_LOCK_KEY]);
      if (!locked) return 0;
      const rows: unknown[] = await tx.query(
        `WITH d AS (
           SELECT d.id FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d."subscriptionId" AND s.enabled
            WHERE d.status = 'pending' AND d."nextAttemptAt" < now() - make_interval(secs => $1::float8 / 1000)
              AND (d."leaseUntil" IS NULL OR d."leaseUntil" <= now()) AND NOT (${BEHIND_EARLIER})
            ORDER BY d."nextAttemptAt" LIMIT $2)
         INSERT INTO outbox (queue, "jobName", "jobId", payload) SELECT ${DELIVER_JOB('d.id::text')} FROM d RETURNING 1`,
        [graceMs, limit],
      );
      if (rows.length > 0) this.signal.written(tx.queryRunner);
      return rows.length;
    });
  }

  /** Replaces the signing secret; the old one keeps signing (a second signature) for `overlapMs`. */
  async rotateSecret(subscriptionId: string, secret: string, overlapMs: number): Promise<boolean> {
    const [, affected]: [unknown, number] = await this.dataSource.query(
      `UPDATE webhook_subscriptions SET "previousSecret" = secret, "previousSecretExpiresAt" = now() + make_interval(secs => $3::float8 / 1000), secret = $2, "updatedAt" = now()
        WHERE id = $1`,
      [subscriptionId, secret, overlapMs],
    );
    return affected > 0;
  }

  /** Makes every pending delivery of a subscription due now, with a job each (re-enabling it). */
  async resumePending(tx: EntityManager, subscriptionId: string): Promise<number> {
    const rows: unknown[] = await tx.query(
      `WITH d AS (
         UPDATE webhook_deliveries SET "nextAttemptAt" = now(), "updatedAt" = now()
          WHERE "subscriptionId" = $1 AND status = 'pending' RETURNING id)
       INSERT INTO outbox (queue, "jobName", "jobId", payload) SELECT ${DELIVER_JOB('d.id::text')} FROM d RETURNING 1`,
      [subscriptionId],
    );
    this.signal.written(tx.queryRunner);
    return rows.length;
  }

  /** Starts a delivery over (a replay): pending, due now, the retry schedule from its start. */
  async restart(tx: EntityManager, subscriptionId: string, deliveryId: string): Promise<WebhookDelivery | null> {
    const [rows]: [WebhookDelivery[], number] = await tx.query(
      `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, "nextAttemptAt" = now(), "updatedAt" = now()
        WHERE id = $1 AND "subscriptionId" = $2 RETURNING *`,
      [deliveryId, subscriptionId],
    );
    if (!rows[0]) return null;
    await this.scheduleAttempt(tx, deliveryId, new Date());
    return rows[0];
  }

  async findOne(subscriptionId: string, deliveryId: string): Promise<WebhookDelivery | null> {
    return this.dataSource.manager.findOne(WebhookDelivery, { where: { id: deliveryId, subscriptionId } });
  }

  /** A page of a subscription's deliveries, newest first, one more than asked (to tell if there is a next page). */
  async page(q: DeliveryPageQuery): Promise<WebhookDelivery[]> {
    const params: unknown[] = [q.subscriptionId];
    const where = ['d."subscriptionId" = $1'];
    if (q.status) where.push(`d.status = $${params.push(q.status)}`);
    if (q.beforeSeq) where.push(`d.seq < $${params.push(q.beforeSeq)}`);
    return this.dataSource.query(`SELECT d.* FROM webhook_deliveries d WHERE ${where.join(' AND ')} ORDER BY d.seq DESC LIMIT $${params.push(q.limit + 1)}`, params);
  }

  async attemptsOf(deliveryIds: string[]): Promise<WebhookDeliveryAttempt[]> {
    if (deliveryIds.length === 0) return [];
    return this.dataSource.query(`SELECT * FROM webhook_delivery_attempts WHERE "deliveryId" = ANY($1::uuid[]) ORDER BY id`, [deliveryIds]);
  }
}
