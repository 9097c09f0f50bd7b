import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { MessageDirection, MessageStatus } from '../message-status';

/** A flat JSON object: values are strings, numbers, booleans or null. */
export type MessageMetadata = Record<string, string | number | boolean | null>;

/**
 * One WhatsApp message, outbound or inbound. The table and column names are quoted camelCase
 * because the operators' runbook queries them exactly that way
 * (`SELECT ... FROM "WhatsAppMessage" WHERE status = 'failed' ORDER BY "createdAt"`).
 */
@Entity({ name: 'WhatsAppMessage' })
@Index('IDX_WhatsAppMessage_status_createdAt', ['status', 'createdAt'])
@Index('IDX_WhatsAppMessage_createdAt_id', ['createdAt', 'id'])
@Index('IDX_WhatsAppMessage_to_createdAt', ['to', 'createdAt'])
// A sender's own messages, newest first (GET /messages for the sender role).
@Index('IDX_WhatsAppMessage_createdBy_createdAt_id', ['createdBy', 'createdAt', 'id'])
// GET /messages?clientReference=..., newest first; only rows that have one.
@Index('IDX_WhatsAppMessage_clientReference_createdAt_id', ['clientReference', 'createdAt', 'id'], { where: '"clientReference" IS NOT NULL' })
@Index('IDX_WhatsAppMessage_unsettled', ['updatedAt'], {
  where: `direction = 'outbound' AND status IN ('queued', 'accepted', 'scheduled', 'sending', 'sent')`,
})
export class WhatsAppMessage {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index('UQ_WhatsAppMessage_messageSid', { unique: true, where: '"messageSid" IS NOT NULL' })
  @Column({ type: 'varchar', length: 64, nullable: true })
  messageSid: string | null;

  @Column({ type: 'varchar', length: 16 })
  direction: MessageDirection;

  @Column({ name: 'from', type: 'varchar', length: 64 })
  from: string;

  @Column({ name: 'to', type: 'varchar', length: 64 })
  to: string;

  @Column({ type: 'text', nullable: true })
  body: string | null;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  mediaUrls: string[];

  /** Content type of each media URL, in the same order (inbound messages report them). */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  mediaContentTypes: string[];

  /** Approved template (Twilio Content API) sent instead of a free-form body. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  contentSid: string | null;

  @Column({ type: 'jsonb', nullable: true })
  contentVariables: Record<string, string> | null;

  /** WhatsApp profile name and id of the sender, for inbound messages. */
  @Column({ type: 'varchar', length: 256, nullable: true })
  profileName: string | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  waId: string | null;

  /**
   * Outbound: the API client's own flat key-value data, echoed back and never sent to Twilio.
   * Inbound: further fields of the message (buttons, location, referral), as Twilio posted them.
   */
  @Column({ type: 'jsonb', nullable: true })
  metadata: MessageMetadata | null;

  /** The API client's own reference (an order or ticket id): echoed back, and a listing filter. Not unique. */
  @Column({ type: 'varchar', length: 128, nullable: true })
  clientReference: string | null;

  /** For a re-send, the message it retries; the original keeps its own history. */
  /** At most one direct retry per message, even when two retry requests race. */
  @Index('UQ_WhatsAppMessage_retryOf', { unique: true, where: '"retryOf" IS NOT NULL' })
  @Column({ type: 'uuid', nullable: true })
  retryOf: string | null;

  @Column({ type: 'varchar', length: 32 })
  status: MessageStatus;

  @Column({ type: 'integer', nullable: true })
  errorCode: number | null;

  /**
   * Postgres folds unquoted identifiers to lower case, so the runbook's unquoted
   * `GROUP BY errorCode` reads this column. It always mirrors "errorCode".
   */
  @Column({
    name: 'errorcode',
    type: 'integer',
    nullable: true,
    generatedType: 'STORED',
    asExpression: '"errorCode"',
    insert: false,
    update: false,
    select: false,
  })
  errorCodeFolded: number | null;

  @Column({ type: 'text', nullable: true })
  errorMessage: string | null;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  /** Start of the latest send attempt. */
  @Column({ type: 'timestamptz', nullable: true })
  lastAttemptAt: Date | null;

  /**
   * Start of an attempt that may have reached Twilio although no answer came back (timeout or
   * reset after the request left). Before sending again the service looks for that message at
   * Twilio instead of sending blind.
   */
  @Column({ type: 'timestamptz', nullable: true })
  ambiguousAttemptAt: Date | null;

  /**
   * While set and in the future, an attempt owns the message (or Twilio may still be working on
   * its unanswered request): no other job may send it before then.
   */
  @Column({ type: 'timestamptz', nullable: true })
  sendingUntil: Date | null;

  /** The user who sent it (outbound through the API); null for inbound and internal sends. */
  @Column({ type: 'uuid', nullable: true })
  createdBy: string | null;

  /** A scheduled send: not sent before this time (the status is `scheduled` until it is due and claimed). */
  @Column({ type: 'timestamptz', nullable: true })
  scheduledAt: Date | null;

  /** When the API client canceled it, before it reached Twilio. */
  @Column({ type: 'timestamptz', nullable: true })
  canceledAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  queuedAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  sentAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  deliveredAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  readAt: Date | null;

  /** When the message reached failed or undelivered (see `status` for which). */
  @Column({ type: 'timestamptz', nullable: true })
  failedAt: Date | null;

  @Column({ type: 'integer', nullable: true })
  deliveryTimeMs: number | null;

  /** Millisecond precision, like JavaScript dates, so list cursors compare exactly. */
  @CreateDateColumn({ type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
