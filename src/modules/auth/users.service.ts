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

@Injectable()
export class UsersService {
  constructor(@InjectRepository(User) private readonly users: Repository<User>) {}

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
