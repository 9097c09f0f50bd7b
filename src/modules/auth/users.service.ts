import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { Repository } from 'typeorm';
import { User, UserRole } from './entities/user.entity';
import { hashPassword } from './password-hasher';

export interface CreatedUser {
  user: User;
  /** Set when the password was generated; shown once, never stored in clear. */
  generatedPassword?: string;
}

export class UserAlreadyExistsError extends Error {
  constructor(email: string) {
    super(`A user with email ${email} already exists`);
  }
}

/**
 * How long a bearer token's user check is remembered. Deactivation through this service clears
 * it at once in this process; other processes notice within this time.
 */
export const ACTIVE_USER_CACHE_MS = 5_000;
const ACTIVE_USER_CACHE_MAX = 10_000;

@Injectable()
export class UsersService {
  /** Active users by id (null: unknown or inactive), with the time the entry stops counting. */
  private readonly activeCache = new Map<string, { user: Promise<User | null>; until: number }>();

  constructor(@InjectRepository(User) private readonly users: Repository<User>) {}

  /**
   * The active user with this id, or null; every authenticated request asks, so the answer is
   * kept ACTIVE_USER_CACHE_MS (concurrent requests share one query). A failed query is not kept.
   */
  findActiveById(id: string): Promise<User | null> {
    const now = Date.now();
    const hit = this.activeCache.get(id);
    if (hit && hit.until > now) return hit.user;
    if (this.activeCache.size >= ACTIVE_USER_CACHE_MAX) this.activeCache.clear();
    const user = this.users.findOne({ where: { id } }).then((u) => (u?.active ? u : null));
    this.activeCache.set(id, { user, until: now + ACTIVE_USER_CACHE_MS });
    user.catch(() => this.activeCache.delete(id));
    return user;
  }

  /** Activates or deactivates a user; a deactivated user's tokens stop working at once here. */
  async setActive(id: string, active: boolean): Promise<void> {
    await this.users.update({ id }, { active });
    this.activeCache.delete(id);
  }

  static generatePassword(): string {
    return randomBytes(18).toString('base64url');
  }

  count(): Promise<number> {
    return this.users.count();
  }

  findById(id: string): Promise<User | null> {
    return this.users.findOne({ where: { id } });
  }

  /** Includes the password hash, for login only. */
  findForLogin(email: string): Promise<User | null> {
    return this.users
      .createQueryBuilder('u')
      .addSelect('u.passwordHash')
      .where('u.email = :email', { email: email.trim().toLowerCase() })
      .getOne();
  }

  async create(email: string, role: UserRole, password?: string): Promise<CreatedUser> {
    const generatedPassword = password ? undefined : UsersService.generatePassword();
    const normalized = email.trim().toLowerCase();
    const result = await this.users
      .createQueryBuilder()
      .insert()
      .values({ email: normalized, role, passwordHash: await hashPassword(password ?? generatedPassword!) })
      .orIgnore() // ON CONFLICT DO NOTHING: two processes creating the first admin at once
      .returning(['id'])
      .execute();
    if (!Array.isArray(result.raw) || result.raw.length === 0) throw new UserAlreadyExistsError(normalized);
    const user = await this.users.findOneOrFail({ where: { email: normalized } });
    return { user, generatedPassword };
  }
}
