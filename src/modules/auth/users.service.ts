import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { isUUID } from 'class-validator';
import { randomBytes } from 'node:crypto';
import { Repository } from 'typeorm';
import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';
import { User, UserRole } from './entities/user.entity';
import { hashPassword } from './password-hasher';

export interface CreatedUser {
  user: User;
  /** Set when the password was generated; shown once, never stored in clear. */
  generatedPassword?: string;
}

export interface UserChanges {
  role?: UserRole;
  active?: boolean;
  password?: string;
  /** Generate a new password (answered once). */
  resetPassword?: boolean;
}

export class UserAlreadyExistsError extends Error {
  constructor(email: string) {
    super(`A user with email ${email} already exists`);
  }
}

function userNotFound(id: string): DomainException {
  return new DomainException(ErrorCode.UserNotFound, `No user with id ${id}`);
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

  /** Oldest first, so the first admin leads the list. */
  list(): Promise<User[]> {
    return this.users.find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /**
   * Changes a user's role, active flag or password. No change may leave the service without an
   * active admin (nobody could then manage users without a shell): the active admins are locked
   * first, so two admins demoting each other at the same moment cannot both succeed.
   */
  async update(id: string, changes: UserChanges): Promise<CreatedUser> {
    if (changes.password !== undefined && changes.resetPassword) {
      throw new DomainException(ErrorCode.ValidationFailed, 'Send either password or resetPassword: true, not both');
    }
    if (changes.role === undefined && changes.active === undefined && changes.password === undefined && !changes.resetPassword) {
      throw new DomainException(ErrorCode.ValidationFailed, 'Nothing to change: send role, active, password or resetPassword: true');
    }
    if (!isUUID(id)) throw userNotFound(id);
    const generatedPassword = changes.resetPassword ? UsersService.generatePassword() : undefined;
    const newPassword = changes.password ?? generatedPassword;
    // Hashed before the transaction: the locks are held for the update only, not ~20 ms of argon2.
    const passwordHash = newPassword === undefined ? undefined : await hashPassword(newPassword);
    const user = await this.users.manager.transaction(async (em) => {
      const admins = await em
        .createQueryBuilder(User, 'u')
        .setLock('pessimistic_write')
        .where('u.role = :role AND u.active', { role: UserRole.Admin })
        .getMany();
      const target = await em.findOne(User, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!target) throw userNotFound(id);
      const losesAdmin = target.role === UserRole.Admin && target.active && ((changes.role !== undefined && changes.role !== UserRole.Admin) || changes.active === false);
      if (losesAdmin && admins.length <= 1) {
        throw new DomainException(ErrorCode.LastActiveAdmin, `${target.email} is the last active admin: make another user an admin first`);
      }
      await em.update(User, { id }, { ...(changes.role !== undefined && { role: changes.role }), ...(changes.active !== undefined && { active: changes.active }), ...(passwordHash && { passwordHash }) });
      return em.findOneOrFail(User, { where: { id } });
    });
    this.activeCache.delete(id);
    return { user, generatedPassword };
  }

  async findOrFail(id: string): Promise<User> {
    const user = isUUID(id) ? await this.findById(id) : null;
    if (!user) throw userNotFound(id);
    return user;
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
