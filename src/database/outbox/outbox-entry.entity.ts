import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A job written in the same transaction as the data it acts on, and moved into BullMQ by the
 * outbox relay. This is what makes an accepted message survive a Redis outage or a crash
 * between the answer and the enqueue.
 */
@Entity({ name: 'outbox' })
@Index('IDX_outbox_availableAt', ['availableAt'])
@Index('IDX_outbox_jobId', ['jobId'])
export class OutboxEntry {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id: string;

  @Column({ type: 'varchar', length: 64 })
  queue: string;

  @Column({ type: 'varchar', length: 64 })
  jobName: string;

  /** BullMQ job id; the same id is never enqueued twice while the job exists. */
  @Column({ type: 'varchar', length: 128 })
  jobId: string;

  @Column({ type: 'jsonb' })
  payload: Record<string, unknown>;

  @Column({ type: 'integer', default: 0 })
  relayAttempts: number;

  @Column({ type: 'text', nullable: true })
  lastError: string | null;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  availableAt: Date;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;
}
