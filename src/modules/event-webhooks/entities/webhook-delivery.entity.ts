import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { WebhookSubscription } from './webhook-subscription.entity';

export enum DeliveryStatus {
  /** Waiting for its first attempt, for a retry, or for an earlier event of its message. */
  Pending = 'pending',
  Succeeded = 'succeeded',
  /** Every retry failed. */
  Failed = 'failed',
}

/**
 * One event for one subscription. Written in the transaction of the change it reports, so an
 * event is never lost to a crash; attempted by the worker until a 2xx or the end of the retry
 * schedule.
 */
@Entity({ name: 'webhook_deliveries' })
// The deliveries listing, newest first (seq is the insertion order).
@Index('IDX_webhook_deliveries_subscription_seq', ['subscriptionId', 'seq'])
// The ordering check: an earlier pending event of the same message on the same subscription.
@Index('IDX_webhook_deliveries_pending_message', ['subscriptionId', 'messageId', 'seq'], { where: `status = 'pending'` })
// The sweep for pending deliveries whose job was lost (Redis lost its data, a crash between steps).
@Index('IDX_webhook_deliveries_pending_due', ['nextAttemptAt'], { where: `status = 'pending'` })
export class WebhookDelivery {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** Insertion order: events of one message are delivered in this order. */
  @Column({ type: 'bigint', generated: 'increment' })
  seq: string;

  @Column({ type: 'uuid' })
  subscriptionId: string;

  /** Deleting a subscription deletes its deliveries and their attempts. */
  @ManyToOne(() => WebhookSubscription, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'subscriptionId' })
  subscription?: WebhookSubscription;

  /** The webhook-id header: the same for every attempt and every subscription of one event. */
  @Column({ type: 'varchar', length: 64 })
  eventId: string;

  @Column({ type: 'varchar', length: 32 })
  eventType: string;

  @Column({ type: 'uuid', nullable: true })
  messageId: string | null;

  /** The JSON body exactly as signed and sent. */
  @Column({ type: 'text' })
  body: string;

  @Column({ type: 'varchar', length: 16, default: DeliveryStatus.Pending })
  status: DeliveryStatus;

  /** Attempts made since the delivery was (re)started; indexes the retry schedule. */
  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ type: 'timestamptz', nullable: true })
  nextAttemptAt: Date | null;

  /** While in the future, an attempt is in progress: nobody else attempts the delivery. */
  @Column({ type: 'timestamptz', nullable: true })
  leaseUntil: Date | null;

  @Column({ type: 'integer', nullable: true })
  lastStatusCode: number | null;

  @Column({ type: 'text', nullable: true })
  lastError: string | null;

  @CreateDateColumn({ type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
