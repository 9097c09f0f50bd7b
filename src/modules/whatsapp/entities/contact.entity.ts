import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** What the service knows about a WhatsApp user: their customer-service window and opt-out. */
@Entity({ name: 'contacts' })
export class Contact {
  /** E.164 number without the `whatsapp:` prefix. */
  @PrimaryColumn({ type: 'varchar', length: 32 })
  phone: string;

  @Column({ type: 'varchar', length: 256, nullable: true })
  profileName: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  lastInboundAt: Date | null;

  /** Set while the number has opted out (STOP); sends to it are refused. */
  @Column({ type: 'timestamptz', nullable: true })
  optedOutAt: Date | null;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
