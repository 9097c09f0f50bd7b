import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { IdempotencyKey, IdempotencyState } from './idempotency-key.entity';

export interface IdempotencyScope {
  userId: string;
  /** IdempotentRoute: a key is only ever compared with keys of the same route. */
  route: string;
  key: string;
}

export type LiveIdempotencyKey = Pick<IdempotencyKey, 'id' | 'requestHash' | 'state' | 'responseStatus' | 'responseBody'>;

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
             "responseStatus" = NULL, "responseBody" = NULL, "createdAt" = now(), "expiresAt" = EXCLUDED."expiresAt"
         WHERE idempotency_keys."expiresAt" <= now()
            OR (idempotency_keys.state = $5 AND idempotency_keys."requestHash" = EXCLUDED."requestHash"
                AND idempotency_keys."createdAt" <= now() - make_interval(secs => $7))
       RETURNING id`,
      [scope.userId, scope.route, scope.key, requestHash, IdempotencyState.InFlight, ttlMs / 1000, leaseMs / 1000],
    );
    return rows[0]?.id ?? null;
  }

  /** The unexpired row holding the key, if any. */
  async findLive(scope: IdempotencyScope): Promise<LiveIdempotencyKey | null> {
    const rows: LiveIdempotencyKey[] = await this.keys.query(
      `SELECT id, "requestHash", state, "responseStatus", "responseBody" FROM idempotency_keys
        WHERE "userId" = $1 AND route = $2 AND key = $3 AND "expiresAt" > now()`,
      [scope.userId, scope.route, scope.key],
    );
    return rows[0] ?? null;
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
