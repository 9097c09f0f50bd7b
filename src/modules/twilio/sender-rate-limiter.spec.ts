import { ConfigService } from '@nestjs/config';
import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { MAX_PENALTY_MS, MAX_RETRY_AFTER_MS, SenderRateLimiter, SPACING_MARGIN } from './sender-rate-limiter';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SLOW = 'whatsapp:+14155550010';
const FAST = 'whatsapp:+14155550020';
/** One message a second: its next slot stays further away than a caller's short wait, however slow the machine. */
const ONE_PER_SECOND = 'whatsapp:+14155550030';
/** 1/MPS widened by the limiter's 3 % margin, in ms. */
const interval = (mps: number) => Math.ceil((1_000_000 / mps) * SPACING_MARGIN) / 1000;

describe('SenderRateLimiter (on Redis)', () => {
  let redis: Redis;
  let prefix: string;
  let limiter: SenderRateLimiter;

  beforeAll(() => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  beforeEach(() => {
    prefix = `limiter-spec-${process.pid}-${randomBytes(4).toString('hex')}`;
    limiter = new SenderRateLimiter(redis, new ConfigService({ whatsapp: { mps: 10, mpsBySender: { [FAST]: 200, [ONE_PER_SECOND]: 1 } }, redis: { prefix } }));
  });
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
  });
  afterAll(() => redis.disconnect());

  it('holds each sender to its own rate: TWILIO_MPS_BY_SENDER where named, TWILIO_MPS otherwise', () => {
    expect(limiter.mpsOf(FAST)).toBe(200);
    expect(limiter.mpsOf(SLOW)).toBe(10);
  });

  it('gives a slot at once to an idle sender, and refuses (taking nothing) one further away than the caller waits', async () => {
    const started = Date.now();
    expect(await limiter.takeSlot(ONE_PER_SECOND, 25)).toEqual({ taken: true, waitMs: 0 });
    const refused = await limiter.takeSlot(ONE_PER_SECOND, 25);
    const elapsed = Date.now() - started;
    expect(refused.taken).toBe(false);
    // The next slot is one interval after the first, less the time that passed between the calls.
    expect(refused.waitMs).toBeGreaterThan(25);
    expect(refused.waitMs).toBeGreaterThanOrEqual(interval(1) - elapsed - 1);
    expect(refused.waitMs).toBeLessThanOrEqual(interval(1) + 1);
    // Nothing was taken: the next slot is still the same one.
    const taken = await limiter.takeSlot(ONE_PER_SECOND, 2_000);
    expect(taken.taken).toBe(true);
    expect(taken.waitMs).toBeLessThanOrEqual(refused.waitMs);
    // The faster sender is not held up by the slower one.
    expect(await limiter.takeSlot(FAST, 0)).toEqual({ taken: true, waitMs: 0 });
  });

  it('gives turns one slot apart at the end of the sender’s line, each sender its own line and spacing', async () => {
    const first = await limiter.takeTurns(SLOW, 3);
    expect(first[0]).toBe(0);
    expect(first[1] - first[0]).toBeGreaterThanOrEqual(Math.floor(interval(10)));
    expect(first[2] - first[1]).toBeLessThanOrEqual(Math.ceil(interval(10)) + 1);
    const next = await limiter.takeTurns(SLOW, 1);
    expect(next[0]).toBeGreaterThan(first[2]);
    expect(next[0]).toBeLessThanOrEqual(first[2] + Math.ceil(interval(10)) + 1);

    const fast = await limiter.takeTurns(FAST, 200);
    expect(fast[0]).toBe(0);
    expect(fast[199]).toBeGreaterThanOrEqual(Math.floor(199 * interval(200)));
    expect(fast[199]).toBeLessThanOrEqual(Math.ceil(199 * interval(200)) + 1);
  });

  it('pauses a sender one slot for an isolated 429, doubling with each 429 in a row up to a cap, and forgives on success', async () => {
    const pauses: number[] = [];
    for (let i = 0; i < 4; i++) pauses.push((await limiter.penalize(FAST)).pauseMs);
    const slot = interval(200);
    expect(pauses).toEqual([1, 2, 4, 8].map((k) => Math.ceil(k * slot)));

    await limiter.succeeded(FAST); // 4 strikes -> 2
    expect((await limiter.penalize(FAST)).pauseMs).toBe(Math.ceil(4 * slot));
    for (let i = 0; i < 30; i++) await limiter.penalize(FAST);
    expect((await limiter.penalize(FAST)).pauseMs).toBe(MAX_PENALTY_MS);
  });

  it('keeps the sender quiet for at least Twilio’s Retry-After (within reason), and gives the refused message a turn after it', async () => {
    const before = Date.now();
    const answer = await limiter.penalize(SLOW, 3_000);
    expect(answer.pauseMs).toBe(3_000);
    expect(answer.retryAt.getTime()).toBeGreaterThanOrEqual(before + 3_000);
    // Nobody sends meanwhile, in any process: the gate's next slot is after the pause.
    const slot = await limiter.takeSlot(SLOW, 25);
    expect(slot.taken).toBe(false);
    expect(slot.waitMs).toBeGreaterThan(2_500);
    // New messages line up behind the refused one.
    const [turn] = await limiter.takeTurns(SLOW, 1);
    expect(turn).toBeGreaterThanOrEqual(answer.retryAt.getTime() - Date.now());
    expect(await limiter.nextSlotDelayMs(SLOW)).toBeGreaterThan(3_000);

    expect((await limiter.penalize(FAST, 24 * 3600 * 1000)).pauseMs).toBe(MAX_RETRY_AFTER_MS);
  });

  it('lets sends through while Redis is unreachable rather than stopping them', async () => {
    const down = new Redis({ lazyConnect: true, port: 1, enableOfflineQueue: false, retryStrategy: () => null });
    const offline = new SenderRateLimiter(down, new ConfigService({ whatsapp: { mps: 1, mpsBySender: {} }, redis: { prefix } }));
    expect(await offline.takeSlot(SLOW, 0)).toEqual({ taken: true, waitMs: 0 });
    expect(await offline.takeSlot(SLOW, 0)).toEqual({ taken: true, waitMs: 0 });
    expect(await offline.takeTurns(SLOW, 2)).toEqual([0, 0]);
    down.disconnect();
  });
});
