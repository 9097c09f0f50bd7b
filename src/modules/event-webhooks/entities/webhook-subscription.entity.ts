import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** An HTTPS endpoint of a client that receives the events it subscribed to, signed with its own secret. */
@Entity({ name: 'webhook_subscriptions' })
export class WebhookSubscription {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 2048 })
  url: string;

  /** Event types delivered (WebhookEventType values). */
  @Column({ type: 'text', array: true })
  events: string[];

  @Column({ type: 'varchar', length: 256, nullable: true })
  description: string | null;

  /**
   * The signing secret (`whsec_` + base64). Kept as is because every delivery is signed with it;
   * it is answered once, at creation, and never again.
   */
  @Column({ type: 'varchar', length: 128, select: false })
  secret: string;

  /** The secret before the last rotation: deliveries carry a signature with it too until previousSecretExpiresAt. */
  @Column({ type: 'varchar', length: 128, nullable: true, select: false })
  previousSecret: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  previousSecretExpiresAt: Date | null;

  @Column({ type: 'boolean', default: true })
  enabled: boolean;

  @Column({ type: 'text', nullable: true })
  disabledReason: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  disabledAt: Date | null;

  /** Failed attempts since the last successful one (any delivery): a long run disables the subscription. */
  @Column({ type: 'integer', default: 0 })
  consecutiveFailures: number;

  @Column({ type: 'uuid', nullable: true })
  createdBy: string | null;

  @CreateDateColumn({ type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
