import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { IdempotencyKey, IdempotencyState } from './idempotency-key.entity';

export interface IdempotencyScope {
  userId: string;
  /** IdempotentRoute: a key is only ever compared with keys of the same route. */
  route: string;
  key: string;
}

export type LiveIdempotencyKey = Pick<IdempotencyKey, 'id' | 'requestHash' | 'state' | 'responseStatus' | 'responseBody'> & {
  /** The message the request stored (in the same transaction), as it stands now; null before that. */
  message: BoundMessage | null;
  /** An in-flight claim older than the lease: the request that made it is no longer running. */
  abandoned: boolean;
};

export interface BoundMessage {
  id: string;
  messageSid: string | null;
  status: string;
}

/** A claim's message, and its answer when the answer is known once the message is stored. */
export interface MessageBinding {
  claimId: string;
  /** null for a request that stored several (a bulk send): its answer is bound instead. */
  messageId: string | null;
  answer?: { status: number; body: unknown };
}

/** The idempotency_keys queries; all times are the database's, so app clocks may differ. */
@Injectable()
export class IdempotencyKeyRepository {
  constructor(@InjectRepository(IdempotencyKey) private readonly keys: Repository<IdempotencyKey>) {}

  /**
   * One round trip: inserts a new claim, or takes over an expired row or an in-flight claim of
   * the same request that outlived its lease (its process died). Returns the claim's id, or null
   * when a live row holds the key. Concurrent claims of one key serialize on the unique index,
   * so exactly one of them gets an id.
   */
  async claim(scope: IdempotencyScope, requestHash: string, ttlMs: number, leaseMs: number): Promise<string | null> {
    const rows: { id: string }[] = await this.keys.query(
      `INSERT INTO idempotency_keys ("userId", route, key, "requestHash", state, "expiresAt")
       VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))
       ON CONFLICT ("userId", route, key) DO UPDATE
         SET id = gen_random_uuid(), "requestHash" = EXCLUDED."requestHash", state = EXCLUDED.state,
             "responseStatus" = NULL, "responseBody" = NULL, "messageId" = NULL, "createdAt" = now(), "expiresAt" = EXCLUDED."expiresAt"
         WHERE idempotency_keys."expiresAt" <= now()
            OR (idempotency_keys.state = $5 AND idempotency_keys."requestHash" = EXCLUDED."requestHash"
                AND idempotency_keys."createdAt" <= now() - make_interval(secs => $7) AND idempotency_keys."messageId" IS NULL)
       RETURNING id`,
      [scope.userId, scope.route, scope.key, requestHash, IdempotencyState.InFlight, ttlMs / 1000, leaseMs / 1000],
    );
    return rows[0]?.id ?? null;
  }

  /** The unexpired row holding the key, if any, with the message it stored. */
  async findLive(scope: IdempotencyScope, leaseMs: number): Promise<LiveIdempotencyKey | null> {
    const rows: (Omit<LiveIdempotencyKey, 'message'> & { messageId: string | null; messageSid: string | null; messageStatus: string | null })[] = await this.keys.query(
      `SELECT k.id, k."requestHash", k.state, k."responseStatus", k."responseBody",
              k."createdAt" <= now() - make_interval(secs => $4) AS abandoned,
              m.id AS "messageId", m."messageSid", m.status AS "messageStatus"
         FROM idempotency_keys k LEFT JOIN "WhatsAppMessage" m ON m.id = k."messageId"
        WHERE k."userId" = $1 AND k.route = $2 AND k.key = $3 AND k."expiresAt" > now()`,
      [scope.userId, scope.route, scope.key, leaseMs / 1000],
    );
    const row = rows[0];
    if (!row) return null;
    const { messageId, messageSid, messageStatus, ...key } = row;
    return { ...key, message: messageId ? { id: messageId, messageSid, status: messageStatus! } : null };
  }

  /**
   * Inside the transaction that stores the messages: each claim records its message, and those
   * whose answer is already known (a queued send) complete with it, so the answer commits with
   * the message. One statement for the whole group.
   */
  async bindMessages(tx: EntityManager, bindings: MessageBinding[]): Promise<void> {
    if (bindings.length === 0) return;
    const rows = bindings.map((b) => ({ claimId: b.claimId, messageId: b.messageId, status: b.answer?.status ?? null, body: b.answer?.body ?? null }));
    await tx.query(
      `UPDATE idempotency_keys k
          SET "messageId" = r."messageId",
              state = CASE WHEN r.status IS NULL THEN k.state ELSE $2 END,
              "responseStatus" = COALESCE(r.status, k."responseStatus"),
              "responseBody" = CASE WHEN r.status IS NULL THEN k."responseBody" ELSE r.body END
         FROM jsonb_to_recordset($1::jsonb) AS r("claimId" uuid, "messageId" uuid, status smallint, body jsonb)
        WHERE k.id = r."claimId" AND k.state = $3`,
      [JSON.stringify(rows), IdempotencyState.Completed, IdempotencyState.InFlight],
    );
  }

  /** Stores the answer of a claim; false when the claim is gone (taken over or purged). */
  async complete(claimId: string, responseStatus: number, responseBody: unknown): Promise<boolean> {
    const result = await this.keys
      .createQueryBuilder()
      .update()
      .set({ state: IdempotencyState.Completed, responseStatus, responseBody: responseBody as object })
      .where('id = :claimId AND state = :inFlight', { claimId, inFlight: IdempotencyState.InFlight })
      .execute();
    return (result.affected ?? 0) > 0;
  }

  async release(claimId: string): Promise<void> {
    await this.keys.delete({ id: claimId, state: IdempotencyState.InFlight });
  }

  /** Deletes up to `limit` expired rows; returns how many. */
  async purgeExpired(limit: number): Promise<number> {
    const [, count]: [unknown, number] = await this.keys.query(
      `DELETE FROM idempotency_keys WHERE id IN (
         SELECT id FROM idempotency_keys WHERE "expiresAt" <= now() ORDER BY "expiresAt" LIMIT $1 FOR UPDATE SKIP LOCKED)`,
      [limit],
    );
    return count;
  }
}
