import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorage, ThrottlerStorageService } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import type { Cluster, Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';

export const THROTTLER_REDIS = Symbol('THROTTLER_REDIS');
export const THROTTLER_KEY_PREFIX = Symbol('THROTTLER_KEY_PREFIX');

/**
 * One hit against a key, on Redis time so that every process counts the same window: the hits of
 * the last `ttl` ms in a sorted set (a sliding window, as @nestjs/throttler's in-memory storage
 * counts), and a block key once the limit is passed. Same answers as the in-memory storage:
 * a blocked key counts no further hits until its block ends, then starts afresh; without a block
 * duration, a hit over the limit is refused and not counted.
 * KEYS: hits, block. ARGV: ttl ms, limit, block ms, a unique member for this hit.
 * Returns { totalHits, msToExpire, blocked (0/1), msToBlockExpire }.
 */
const HIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local block = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
local blockedUntil = tonumber(redis.call('GET', KEYS[2]) or '0')
local function expiresIn()
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if oldest[2] == nil then return ttl end
  return tonumber(oldest[2]) + ttl - now
end
if blockedUntil > now then
  return { redis.call('ZCARD', KEYS[1]), expiresIn(), 1, blockedUntil - now }
end
if blockedUntil > 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
end
local hits = redis.call('ZCARD', KEYS[1])
if block <= 0 and hits >= limit then
  return { hits + 1, expiresIn(), 1, expiresIn() }
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], ttl)
hits = hits + 1
if block > 0 and hits > limit then
  redis.call('SET', KEYS[2], now + block, 'PX', block)
  return { hits, expiresIn(), 1, block }
end
return { hits, expiresIn(), 0, 0 }
`;

/** How long a hit may take before this process counts on its own: a request must not wait for Redis. */
export const THROTTLER_REDIS_TIMEOUT_MS = 250;

/**
 * The API's rate limits in Redis, so every API process draws on one budget per user (and per
 * address for logins). While Redis cannot answer, each process counts in memory as it did before
 * there was more than one: the limit then holds per process, requests keep being served, and the
 * shared count resumes as soon as Redis answers again.
 */
@Injectable()
export class RedisThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger(RedisThrottlerStorage.name);
  private readonly fallback = new ThrottlerStorageService();
  private lastWarning = 0;
  /** Hits are sorted-set members and must be unique across processes: a random prefix, then a counter. */
  private readonly memberPrefix = `${randomBytes(6).toString('hex')}:`;
  private hits = 0;
  private readonly hit: (...args: Array<string | number>) => Promise<number[]>;

  constructor(
    @Inject(THROTTLER_REDIS) private readonly redis: Redis | Cluster,
    @Inject(THROTTLER_KEY_PREFIX) private readonly prefix: string,
  ) {
    // A defined command goes as EVALSHA (ioredis loads the script again after NOSCRIPT): every
    // request otherwise sends the whole script and has Redis hash it.
    redis.defineCommand('apiRateLimitHit', { numberOfKeys: 2, lua: HIT });
    const commands = redis as unknown as { apiRateLimitHit: (...args: Array<string | number>) => Promise<number[]> };
    this.hit = (...args) => commands.apiRateLimitHit(...args);
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    const base = `${this.prefix}:throttle:${throttlerName}:${key}`;
    try {
      const member = `${this.memberPrefix}${(this.hits = (this.hits + 1) % Number.MAX_SAFE_INTEGER).toString(36)}`;
      const [totalHits, msToExpire, blocked, msToBlockExpire] = await this.hit(base, `${base}:block`, ttl, limit, blockDuration, member);
      return {
        totalHits,
        timeToExpire: Math.ceil(msToExpire / 1000),
        isBlocked: blocked === 1,
        timeToBlockExpire: Math.ceil(msToBlockExpire / 1000),
      };
    } catch (err) {
      if (Date.now() - this.lastWarning > 10_000) {
        this.lastWarning = Date.now();
        this.logger.warn(`API rate limit counted per process until Redis answers again: ${(err as Error).message}`);
      }
      return this.fallback.increment(key, ttl, limit, blockDuration, throttlerName);
    }
  }

  onApplicationShutdown(): void {
    this.fallback.onApplicationShutdown();
  }
}
