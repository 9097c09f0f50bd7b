import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export enum IdempotencyState {
  InFlight = 'in_flight',
  Completed = 'completed',
}

/**
 * One Idempotency-Key of one user on one route: claimed while the request runs, then holding the
 * answer to replay. Rows past expiresAt count as absent and are purged in small batches.
 */
@Entity({ name: 'idempotency_keys' })
@Index('UQ_idempotency_keys_user_route_key', ['userId', 'route', 'key'], { unique: true })
@Index('IDX_idempotency_keys_expiresAt', ['expiresAt'])
export class IdempotencyKey {
  /**
   * A new id for every claim, including a takeover of an expired or abandoned one: the request
   * that made the claim completes or releases it by id, so a request whose claim was taken over
   * cannot overwrite or delete its successor's.
   */
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  userId: string;

  @Column({ type: 'varchar', length: 64 })
  route: string;

  @Column({ type: 'varchar', length: 255 })
  key: string;

  /** Hex SHA-256 of the body's canonical JSON (object keys sorted). */
  @Column({ type: 'char', length: 64 })
  requestHash: string;

  @Column({ type: 'varchar', length: 16 })
  state: IdempotencyState;

  @Column({ type: 'smallint', nullable: true })
  responseStatus: number | null;

  @Column({ type: 'jsonb', nullable: true })
  responseBody: unknown;

  /**
   * The message the request stored, set in the same transaction as the message: a claim that
   * holds one is never taken over (that would store the message twice); it is answered from it.
   */
  @Column({ type: 'uuid', nullable: true })
  messageId: string | null;

  /** When the current claim was made; an in-flight claim older than the lease may be taken over. */
  @Column({ type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ type: 'timestamptz' })
  expiresAt: Date;
}
