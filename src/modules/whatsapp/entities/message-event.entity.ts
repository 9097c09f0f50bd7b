import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One status callback (or status observed by polling Twilio) for a message SID. Kept even when
 * the SID is not known yet, so a callback that overtakes the send's own response is not lost.
 */
@Entity({ name: 'message_events' })
@Index('UQ_message_events_sid_status', ['messageSid', 'status'], { unique: true })
@Index('IDX_message_events_unattached', ['messageSid'], { where: '"messageId" IS NULL' })
export class MessageEvent {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id: string;

  @Index('IDX_message_events_messageId')
  @Column({ type: 'uuid', nullable: true })
  messageId: string | null;

  /** Null for an event of our own before Twilio had the message (a cancel). */
  @Column({ type: 'varchar', length: 64, nullable: true })
  messageSid: string | null;

  @Column({ type: 'varchar', length: 32 })
  status: string;

  @Column({ type: 'integer', nullable: true })
  errorCode: number | null;

  @Column({ type: 'text', nullable: true })
  errorMessage: string | null;

  /** Where the event came from: `callback`, `api` (send response) or `reconcile` (fetched from Twilio). */
  @Column({ type: 'varchar', length: 16 })
  source: string;

  /** Index of the auth token that signed the callback (0 = current); null when unsigned or not a callback. */
  @Column({ type: 'smallint', nullable: true })
  tokenIndex: number | null;

  /** Whether the event changed the message (false: stale or out of order, kept for the record). */
  @Column({ type: 'boolean', default: false })
  applied: boolean;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  raw: Record<string, unknown>;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  receivedAt: Date;
}
