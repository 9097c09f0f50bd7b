import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { UserRole } from './user.entity';

/**
 * A machine's credential. It acts as a principal of its own: its id is what messages sent with it
 * record as their creator, so a sender key sees its own messages and nobody else's.
 */
@Entity({ name: 'api_keys' })
export class ApiKey {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ type: 'varchar', length: 16 })
  role: UserRole;

  /** SHA-256 of the whole key, hex. The key is 256 random bits, so a fast hash is enough. */
  @Index('UQ_api_keys_secretHash', { unique: true })
  @Column({ type: 'char', length: 64, select: false })
  secretHash: string;

  /** The key's first characters (`wsk_` and six more), to recognise it in a list. */
  @Column({ type: 'varchar', length: 16 })
  prefix: string;

  @Column({ type: 'varchar', length: 4 })
  lastFour: string;

  /** The admin who created it. */
  @Column({ type: 'uuid' })
  createdBy: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  expiresAt: Date | null;

  /** Kept to the minute: written at most once a minute per key, not on every request. */
  @Column({ type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  revokedAt: Date | null;
}
