import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { WebhookDelivery } from './webhook-delivery.entity';

/** One HTTP request of a delivery, successful or not. */
@Entity({ name: 'webhook_delivery_attempts' })
@Index('IDX_webhook_delivery_attempts_delivery', ['deliveryId', 'id'])
export class WebhookDeliveryAttempt {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id: string;

  @Column({ type: 'uuid' })
  deliveryId: string;

  @ManyToOne(() => WebhookDelivery, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'deliveryId' })
  delivery?: WebhookDelivery;

  @Column({ type: 'timestamptz' })
  startedAt: Date;

  /** The receiver's HTTP status; null when no answer came (timeout, refused connection, forbidden address). */
  @Column({ type: 'integer', nullable: true })
  statusCode: number | null;

  @Column({ type: 'integer' })
  durationMs: number;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  /** When the next attempt is due after this one failed; null after a success or the last try. */
  @Column({ type: 'timestamptz', nullable: true })
  nextRetryAt: Date | null;
}
