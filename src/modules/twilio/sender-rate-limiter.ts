import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type Redis from 'ioredis';
import { AppConfig } from '../../config/configuration';

export const RATE_LIMIT_REDIS = Symbol('RATE_LIMIT_REDIS');

/*
 * Two clocks per sender, both in Redis (microseconds of Redis time, so every process agrees):
 *
 * - the gate: GCRA's "theoretical arrival time" of the sender's next request. A request may leave
 *   only with a slot from it, taken at the moment it leaves, so TWILIO_MPS holds across every
 *   worker of every process, whatever the queue did before.
 * - the line: when the last message scheduled for the sender gets its turn. Jobs are put in the
 *   queue delayed to their turn, so a backlog waits in BullMQ's delayed set, holding no worker,
 *   while another sender's message is ready at once.
 *
 * A job that finds the gate further away than a worker should wait (its turn came late, another
 * process sent meanwhile, Twilio pushed the sender back) takes a new turn at the end of the line.
 */

/** Takes the gate's next slot if it is at most ARGV[2] away; answers {taken 0/1, wait µs}. */
const TAKE_SLOT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local wait = tat - now
if wait > tonumber(ARGV[2]) then return {0, wait} end
local nextTat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', nextTat), 'PX', math.floor((nextTat - now) / 1000) + 1000)
return {1, wait}
`;

/** Gives ARGV[2] messages consecutive turns at the end of the sender's line; answers the first one's offset from now, in µs. */
const TAKE_TURNS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local first = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'), tonumber(redis.call('GET', KEYS[2]) or '0'))
local last = first + interval * tonumber(ARGV[2])
redis.call('SET', KEYS[2], string.format('%d', last), 'PX', math.floor((last - now) / 1000) + 1000)
return first - now
`;

/**
 * Twilio refused a request for the sender's rate (429): counts the strike, keeps the sender quiet
 * for interval * 2^(strikes-1) (capped), or for Retry-After when Twilio said longer, and gives the
 * refused message a turn at the end of the line after that. Answers {pause µs, turn offset µs}.
 */
const PENALIZE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local strikes = redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[4]))
local pause = math.min(interval * math.pow(2, math.min(strikes - 1, 30)), tonumber(ARGV[2]))
pause = math.max(pause, tonumber(ARGV[3]))
local quietUntil = now + pause
local gate = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), quietUntil)
redis.call('SET', KEYS[1], string.format('%d', gate), 'PX', math.floor((gate - now) / 1000) + 1000)
local turn = math.max(gate, tonumber(redis.call('GET', KEYS[2]) or '0'))
redis.call('SET', KEYS[2], string.format('%d', turn + interval), 'PX', math.floor((turn + interval - now) / 1000) + 1000)
return {pause, turn - now}
`;

/** A request got through: the sender's strikes halve, so an isolated 429 is soon forgotten. */
const FORGIVE = `
local strikes = tonumber(redis.call('GET', KEYS[1]) or '0')
if strikes <= 1 then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], math.floor(strikes / 2), 'KEEPTTL') end
return strikes
`;

/**
 * Requests are spaced 10 % wider than 1/MPS, so that up to 100 ms of jitter between the slot and
 * Twilio's clock (a late timer under load, the network, Twilio's own intake) cannot squeeze MPS+1
 * requests into one second at Twilio's end. At 3 % (30 ms), a loaded two-core machine running the
 * scale-out test put 26 requests of a 25 MPS sender into one second at the sandbox.
 */
export const SPACING_MARGIN = 1.1;
/** The longest a run of 429s without Retry-After keeps a sender quiet. */
export const MAX_PENALTY_MS = 30_000;
/** A Retry-After beyond this is taken as a mistake rather than as a reason to stop a sender for longer. */
export const MAX_RETRY_AFTER_MS = 300_000;
/** Strikes are forgotten after this long without another 429. */
const STRIKES_TTL_MS = 60_000;

export interface SlotAnswer {
  /** The slot is this request's: send once `waitMs` has passed. */
  taken: boolean;
  /** Milliseconds to the gate's next slot. */
  waitMs: number;
}

export interface PenaltyAnswer {
  /** How long the sender stays quiet. */
  pauseMs: number;
  /** When the refused message has its new turn. */
  retryAt: Date;
}

/** Keeps every WhatsApp sender within its messages per second (TWILIO_MPS, TWILIO_MPS_BY_SENDER) across all processes. */
@Injectable()
export class SenderRateLimiter implements OnApplicationShutdown {
  private readonly logger = new Logger(SenderRateLimiter.name);
  private readonly defaultMps: number;
  private readonly mpsBySender: Record<string, number>;
  private readonly prefix: string;
  /** Senders this process saw refused lately: only their successes need to reach Redis. */
  private readonly struck = new Map<string, number>();
  private lastWarning = 0;

  constructor(
    @Inject(RATE_LIMIT_REDIS) private readonly redis: Redis,
    config: ConfigService<AppConfig, true>,
  ) {
    const whatsapp = config.get('whatsapp', { infer: true });
    this.defaultMps = whatsapp.mps;
    this.mpsBySender = whatsapp.mpsBySender ?? {};
    this.prefix = `${config.get('redis', { infer: true }).prefix}:sender-`;
  }

  /** The sender's messages per second. */
  mpsOf(sender: string): number {
    return this.mpsBySender[sender] ?? this.defaultMps;
  }

  /**
   * Takes the sender's next slot when it is at most `maxWaitMs` away. Otherwise takes nothing:
   * the caller should not hold a worker that long, and gives the message a later turn instead.
   */
  async takeSlot(sender: string, maxWaitMs: number): Promise<SlotAnswer> {
    const answer = await this.run<[number, number]>(TAKE_SLOT, [this.gateKey(sender)], [this.intervalUs(sender), maxWaitMs * 1000]);
    // Redis unreachable: send anyway rather than not at all. Twilio queues a sender's excess
    // for up to 4 hours, so a short burst over the rate is delayed, not lost.
    if (!answer) return { taken: true, waitMs: 0 };
    return { taken: answer[0] === 1, waitMs: Math.ceil(answer[1] / 1000) };
  }

  /**
   * Turns for `count` messages of the sender, one slot apart after everything already scheduled
   * for it: milliseconds from now until each one's turn (all 0 while Redis is unreachable: the
   * gate then decides alone).
   */
  async takeTurns(sender: string, count: number): Promise<number[]> {
    const interval = this.intervalUs(sender);
    const firstUs = await this.run<number>(TAKE_TURNS, [this.gateKey(sender), this.lineKey(sender)], [interval, count]);
    return Array.from({ length: count }, (_, i) => (firstUs === null ? 0 : Math.ceil((firstUs + i * interval) / 1000)));
  }

  /**
   * Twilio refused a request of the sender for its rate. The pause grows with consecutive refusals
   * (one slot, two, four... up to MAX_PENALTY_MS), is at least Twilio's Retry-After, and applies to
   * every process; the refused message gets a turn after it.
   */
  async penalize(sender: string, retryAfterMs: number | null = null): Promise<PenaltyAnswer> {
    this.struck.set(sender, Date.now());
    const retryAfterUs = Math.min(Math.max(retryAfterMs ?? 0, 0), MAX_RETRY_AFTER_MS) * 1000;
    const answer = await this.run<[number, number]>(
      PENALIZE,
      [this.gateKey(sender), this.lineKey(sender), this.strikesKey(sender)],
      [this.intervalUs(sender), MAX_PENALTY_MS * 1000, retryAfterUs, STRIKES_TTL_MS],
    );
    const pauseMs = answer ? Math.ceil(answer[0] / 1000) : Math.max(retryAfterMs ?? 0, 0);
    const turnMs = answer ? Math.ceil(answer[1] / 1000) : pauseMs;
    return { pauseMs, retryAt: new Date(Date.now() + turnMs) };
  }

  /** A request of the sender got through: earlier refusals count for less. */
  async succeeded(sender: string): Promise<void> {
    const since = this.struck.get(sender);
    if (since === undefined) return;
    if (Date.now() - since > STRIKES_TTL_MS) this.struck.delete(sender);
    await this.run(FORGIVE, [this.strikesKey(sender)], []);
  }

  /** Milliseconds until a message queued now for the sender would get its turn (0 when idle). */
  async nextSlotDelayMs(sender: string): Promise<number> {
    try {
      const [gate, line] = await this.redis.mget(this.gateKey(sender), this.lineKey(sender));
      const [sec, usec] = await this.redis.time();
      const now = Number(sec) * 1_000_000 + Number(usec);
      return Math.max(0, Math.floor((Math.max(Number(gate ?? 0), Number(line ?? 0)) - now) / 1000));
    } catch {
      return 0;
    }
  }

  private intervalUs(sender: string): number {
    return Math.ceil((1_000_000 / this.mpsOf(sender)) * SPACING_MARGIN);
  }

  private gateKey(sender: string): string {
    return `${this.prefix}rate:${sender}`;
  }

  private lineKey(sender: string): string {
    return `${this.prefix}line:${sender}`;
  }

  private strikesKey(sender: string): string {
    return `${this.prefix}429:${sender}`;
  }

  /** Runs a script; null while Redis is unreachable (logged at most every 10 s). */
  private async run<T>(script: string, keys: string[], args: number[]): Promise<T | null> {
    try {
      return (await this.redis.eval(script, keys.length, ...keys, ...args)) as T;
    } catch (err) {
      if (Date.now() - this.lastWarning > 10_000) {
        this.lastWarning = Date.now();
        this.logger.warn(`Sender rate limit not enforced (Redis: ${(err as Error).message})`);
      }
      return null;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.redis.disconnect();
  }
}
