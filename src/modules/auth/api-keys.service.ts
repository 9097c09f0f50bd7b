import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { isUUID } from 'class-validator';
import { IsNull, LessThan, Or, Repository } from 'typeorm';
import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';
import { generateApiKey, hashApiKey, isWellFormedApiKey } from './credentials';
import { AuthenticatedUser } from './auth.types';
import { ApiKey } from './entities/api-key.entity';
import { UserRole } from './entities/user.entity';
import { ACTIVE_USER_CACHE_MS } from './users.service';

export enum ApiKeyRejection {
  Invalid = 'invalid',
  Expired = 'expired',
  Revoked = 'revoked',
}

export type ApiKeyVerification = { user: AuthenticatedUser } | { rejection: ApiKeyRejection };

export interface CreatedApiKey {
  apiKey: ApiKey;
  /** The key itself: answered once, stored only as a hash. */
  key: string;
}

const KEY_CACHE_MAX = 10_000;
/** lastUsedAt is a hint for admins ("is this key still in use?"), so it is written at most this often. */
const LAST_USED_RESOLUTION_MS = 60_000;

export const API_KEY_REJECTION_ERRORS: Record<ApiKeyRejection, { code: ErrorCode; message: string }> = {
  [ApiKeyRejection.Invalid]: { code: ErrorCode.ApiKeyInvalid, message: 'Invalid API key' },
  [ApiKeyRejection.Expired]: { code: ErrorCode.ApiKeyExpired, message: 'The API key has expired; ask an admin for a new one' },
  [ApiKeyRejection.Revoked]: { code: ErrorCode.ApiKeyRevoked, message: 'The API key has been revoked' },
};

function notFound(id: string): DomainException {
  return new DomainException(ErrorCode.ApiKeyNotFound, `No API key with id ${id}`);
}

@Injectable()
export class ApiKeysService {
  private readonly logger = new Logger(ApiKeysService.name);
  /**
   * Keys by hash (null: no such key), kept ACTIVE_USER_CACHE_MS like the user check: a revocation
   * here clears it at once; other processes notice within that time.
   */
  private readonly cache = new Map<string, { key: Promise<ApiKey | null>; until: number }>();

  constructor(@InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>) {}

  async create(input: { name: string; role: UserRole; expiresAt?: Date }, createdBy: string): Promise<CreatedApiKey> {
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
      throw new DomainException(ErrorCode.ValidationFailed, 'expiresAt must be in the future');
    }
    const secret = generateApiKey();
    const saved = await this.keys.save(
      this.keys.create({
        name: input.name,
        role: input.role,
        secretHash: secret.secretHash,
        prefix: secret.prefix,
        lastFour: secret.lastFour,
        createdBy,
        expiresAt: input.expiresAt ?? null,
      }),
    );
    const apiKey = await this.keys.findOneByOrFail({ id: saved.id });
    return { apiKey, key: secret.key };
  }

  list(): Promise<ApiKey[]> {
    return this.keys.find({ order: { createdAt: 'DESC', id: 'ASC' } });
  }

  /** Revokes at once in this process; revoking a revoked key keeps its first revocation time. */
  async revoke(id: string): Promise<ApiKey> {
    if (!isUUID(id)) throw notFound(id);
    await this.keys.update({ id, revokedAt: IsNull() }, { revokedAt: () => 'now()' });
    const apiKey = await this.keys.findOneBy({ id });
    if (!apiKey) throw notFound(id);
    for (const [hash, entry] of this.cache) {
      if (entry.until > Date.now() && (await entry.key.catch(() => null))?.id === id) this.cache.delete(hash);
    }
    return apiKey;
  }

  /** A failed look-up (the database is down) rejects, so the guard answers 503 rather than 401. */
  async verify(presented: string): Promise<ApiKeyVerification> {
    if (!isWellFormedApiKey(presented)) return { rejection: ApiKeyRejection.Invalid };
    const key = await this.findByHash(hashApiKey(presented));
    if (!key) return { rejection: ApiKeyRejection.Invalid };
    if (key.revokedAt) return { rejection: ApiKeyRejection.Revoked };
    if (key.expiresAt && key.expiresAt.getTime() <= Date.now()) return { rejection: ApiKeyRejection.Expired };
    return { user: { id: key.id, role: key.role, apiKey: { name: key.name, createdBy: key.createdBy } } };
  }

  private findByHash(secretHash: string): Promise<ApiKey | null> {
    const now = Date.now();
    const hit = this.cache.get(secretHash);
    if (hit && hit.until > now) return hit.key;
    if (this.cache.size >= KEY_CACHE_MAX) this.cache.clear();
    const key = this.keys.findOneBy({ secretHash });
    this.cache.set(secretHash, { key, until: now + ACTIVE_USER_CACHE_MS });
    key.then((k) => k && this.noteUse(k), () => this.cache.delete(secretHash));
    return key;
  }

  private noteUse(key: ApiKey): void {
    if (key.revokedAt || (key.lastUsedAt && Date.now() - key.lastUsedAt.getTime() < LAST_USED_RESOLUTION_MS)) return;
    const staleBefore = new Date(Date.now() - LAST_USED_RESOLUTION_MS);
    this.keys
      .update({ id: key.id, lastUsedAt: Or(IsNull(), LessThan(staleBefore)) }, { lastUsedAt: () => 'now()' })
      .catch((err: Error) => this.logger.warn(`Could not record the use of API key ${key.id}: ${err.message}`));
  }
}
