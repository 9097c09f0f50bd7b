import { sleep } from '../bench/support/infra';
import { HealthWatch, ProcessStack, uniqueBody, waitUntilAllFinal } from './support/process-stack';
import { TestRedisServer } from './support/redis-server';
import { createTestDatabase, freePort } from './support/test-app';

/**
 * Issue 12: with a few hundred messages queued, a kill -9 of Redis and a restart a few seconds
 * later left the worker's fetch loop spinning on "Stream isn't writeable" (the queue's fail-fast
 * connection): 100% CPU, /health silent, an error line per turn, SIGTERM ignored. The service runs
 * as its own process here, so a wedged one fails the test instead of hanging it.
 */
describe('a Redis restart under a backlog (e2e, separate processes)', () => {
  let redis: TestRedisServer;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let stack: ProcessStack;

  beforeAll(async () => {
    redis = new TestRedisServer(await freePort(), { persistent: true });
    await redis.start();
    db = await createTestDatabase();
    // A slow sender keeps a backlog in Redis when it goes away.
    stack = new ProcessStack({ redisUrl: redis.url, databaseUrl: db.url, env: { TWILIO_MPS: '25' } });
    await stack.start();
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await redis?.destroy();
    await db?.drop();
  });

  it('keeps answering /health, logs the outage a few times, sends every message once and stops on SIGTERM', async () => {
    const count = 200;
    const bodies = Array.from({ length: count }, (_, i) => uniqueBody('backlog', i));
    const bulk = await stack.api('/api/v1/whatsapp/send/bulk', {
      body: { messages: bodies.map((message, i) => ({ to: `+1415556${String(1000 + i)}`, message })) },
    });
    expect(bulk.body.accepted).toBe(count);
    for (;;) {
      const sent = (await stack.sandboxMessagesByBody()).size;
      if (sent >= 20) break;
      await sleep(100);
    }
    const backlogBefore = count - (await stack.sandboxMessagesByBody()).size;
    expect(backlogBefore).toBeGreaterThan(100);

    const health = new HealthWatch(stack);
    await redis.stop();
    await sleep(5000);
    await redis.start();

    const counts = await waitUntilAllFinal(db.url, count, 120_000);
    const { probes, silent } = await health.stop();
    expect((counts.read ?? 0) + (counts.delivered ?? 0)).toBe(count);
    expect(probes).toBeGreaterThan(0);
    expect(silent).toBe(0);

    const atSandbox = await stack.sandboxMessagesByBody();
    expect(bodies.filter((b) => atSandbox.get(b) !== 1)).toEqual([]);
    expect(atSandbox.size).toBe(count);

    // The outage is reported, not once per fetch of every worker.
    const workerErrors = stack.serviceLog().split('\n').filter((line) => line.includes('Worker error'));
    expect(workerErrors.length).toBeLessThan(20);

    expect(await stack.signalService('SIGTERM', 30_000)).toMatch(/with code 0$/);
  }, 240_000);
});
