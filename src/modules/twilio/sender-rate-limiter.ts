import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type Redis from 'ioredis';
import { AppConfig } from '../../config/configuration';

export const RATE_LIMIT_REDIS = Symbol('RATE_LIMIT_REDIS');

/**
 * GCRA on Redis time: each call reserves the sender's next slot (its "theoretical arrival time")
 * and returns how long to wait for it, in microseconds. One key per sender, shared by every
 * worker of every process, so the sender's rate holds however many processes run.
 */
const RESERVE_SLOT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local penalty = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local reserve = 1
if penalty > 0 then reserve = 0 end
local nextTat = tat + interval * reserve + penalty
redis.call('SET', KEYS[1], string.format('%d', nextTat), 'PX', math.floor((nextTat - now) / 1000) + 1000)
return math.floor((tat - now) / 1000)
`;

/**
 * Requests are spaced a little wider than 1/MPS so that network jitter between here and Twilio
 * cannot squeeze MPS+1 requests into one second at Twilio's end.
 */
const SPACING_MARGIN = 1.03;
/** How much a 429/20429/63018 from Twilio pushes the sender's next slot back. */
export const RATE_LIMIT_PENALTY_MS = 1000;

/** Keeps every WhatsApp sender within TWILIO_MPS messages per second across all processes. */
@Injectable()
export class SenderRateLimiter implements OnApplicationShutdown {
  private readonly logger = new Logger(SenderRateLimiter.name);
  private readonly intervalUs: number;
  private readonly prefix: string;
  private lastWarning = 0;

  constructor(
    @Inject(RATE_LIMIT_REDIS) private readonly redis: Redis,
    config: ConfigService<AppConfig, true>,
  ) {
    this.intervalUs = Math.ceil((1_000_000 / config.get('whatsapp', { infer: true }).mps) * SPACING_MARGIN);
    this.prefix = `${config.get('redis', { infer: true }).prefix}:sender-rate:`;
  }

  /** Waits for the sender's next slot; returns the milliseconds waited. */
  async acquire(sender: string): Promise<number> {
    const waitMs = await this.reserve(sender, 0);
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    return waitMs;
  }

  /** Twilio said the sender is over its rate: slow it down further. */
  async penalize(sender: string, ms = RATE_LIMIT_PENALTY_MS): Promise<void> {
    await this.reserve(sender, ms * 1000);
  }

  /** Milliseconds until the sender's next free slot (0 when idle). */
  async nextSlotDelayMs(sender: string): Promise<number> {
    try {
      const raw = await this.redis.get(this.prefix + sender);
      const [sec, usec] = await this.redis.time();
      const now = Number(sec) * 1_000_000 + Number(usec);
      return raw ? Math.max(0, Math.floor((Number(raw) - now) / 1000)) : 0;
    } catch {
      return 0;
    }
  }

  private async reserve(sender: string, penaltyUs: number): Promise<number> {
    try {
      const result = await this.redis.eval(RESERVE_SLOT, 1, this.prefix + sender, this.intervalUs, penaltyUs);
      return Number(result);
    } catch (err) {
      // Redis unreachable: send anyway rather than not at all. Twilio queues a sender's
      // excess for up to 4 hours, so a short burst over the rate is delayed, not lost.
      if (Date.now() - this.lastWarning > 10_000) {
        this.lastWarning = Date.now();
        this.logger.warn(`Sender rate limit not enforced (Redis: ${(err as Error).message})`);
      }
      return 0;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.redis.disconnect();
  }
}
