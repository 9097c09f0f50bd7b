import { randomBytes } from 'node:crypto';
import { startTestAppWithPrivateRedis, TestRedisServer } from './support/redis-server';
import { startTestApp, TestApp, waitFor } from './support/test-app';

const LIMIT = 5;
const LIST = '/api/v1/whatsapp/messages?limit=1';

/**
 * The API's rate limits are counted in Redis: one budget per user however many API processes
 * serve it. While Redis is unreachable each process counts on its own, and keeps answering.
 */
describe('API rate limit shared by every API process (e2e)', () => {
  let redis: TestRedisServer;
  let first: TestApp;
  let second: TestApp | undefined;

  beforeAll(async () => {
    // One deployment, one signing secret (and passport keeps one JWT strategy per Node process).
    const shared = { API_RATE_LIMIT_PER_MINUTE: String(LIMIT), JWT_SECRET: randomBytes(32).toString('hex') };
    ({ redis, t: first } = await startTestAppWithPrivateRedis(shared));
    second = await startTestApp({
      ...shared,
      DATABASE_URL: first.databaseUrl,
      REDIS_URL: first.config.redis.url,
      REDIS_PREFIX: first.config.redis.prefix,
    });
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
    await redis?.stop();
  });

  it('counts one user across two processes: the budget runs out in whichever serves the next request', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT; i++) {
      const app = i % 2 === 0 ? first : second!;
      statuses.push((await app.api(LIST, { token: app.adminToken })).status);
      // The count is a script Redis keeps by its hash; after a restart or SCRIPT FLUSH it is loaded again.
      if (i === 1) expect(await redis.command('SCRIPT', 'FLUSH')).toBe('OK');
    }
    expect(statuses).toEqual(Array(LIMIT).fill(200));
    const over = await second!.api(LIST, { token: second!.adminToken });
    expect(over.status).toBe(429);
    expect(over.body.code).toBe('RATE_LIMITED');
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await first.api(LIST, { token: first.adminToken })).status).toBe(429);
  });

  it('counts logins per address across processes', async () => {
    // 20 a minute per address; two were made at start (one per process).
    const statuses: number[] = [];
    for (let i = 0; i < 19; i++) {
      const app = i % 2 === 0 ? first : second!;
      statuses.push((await app.api('/api/v1/auth/login', { body: { email: 'nobody@example.com', password: 'wrong-password' } })).status);
    }
    expect(statuses.filter((s) => s === 429)).toHaveLength(1);
    expect(statuses[18]).toBe(429);
  });

  it('while Redis is unreachable, each process counts on its own and keeps serving', async () => {
    // One process is enough to show it (and a second would only wait for Redis to close).
    await second?.close();
    second = undefined;
    await redis.stop();
    try {
      const statuses: number[] = [];
      for (let i = 0; i <= LIMIT; i++) statuses.push((await first.api(LIST, { token: first.adminToken })).status);
      expect(statuses).toEqual([...Array(LIMIT).fill(200), 429]);
    } finally {
      await redis.start();
    }
    // Back to one shared count once Redis answers (and BullMQ has reconnected before the app closes).
    await waitFor(async () => (await first.api('/api/v1/health/ready')).status === 200, 'readiness after Redis is back', 20_000, 100);
  });
});
