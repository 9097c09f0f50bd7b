import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import { QueueName } from '../src/modules/queue/queue.types';
import { RECONCILE_SCHEDULER_ID } from '../src/modules/whatsapp/jobs/whatsapp-jobs';
import { WhatsAppProcessor } from '../src/modules/whatsapp/jobs/whatsapp.processor';
import { startTestAppWithPrivateRedis, TestRedisServer } from './support/redis-server';
import { TestApp, waitFor } from './support/test-app';

/**
 * Issue 12: after a FLUSHALL mid-run, 602 accepted messages stayed queued with 0 attempts (their
 * jobs were gone, the outbox rows already deleted) and reconciliation, whose schedule lived in
 * Redis and was declared only at start, never ran again. Recovery must need no restart.
 */
describe('Redis loses its data under a backlog (e2e)', () => {
  let redis: TestRedisServer;
  let t: TestApp;
  let queue: Queue;

  beforeAll(async () => {
    // A slow sender keeps a backlog in Redis; reconciliation's own re-queue (10 minutes) is out of reach.
    ({ redis, t } = await startTestAppWithPrivateRedis({ TWILIO_MPS: '40', REDIS_WATCH_INTERVAL_MS: '500' }));
    queue = t.app.get<Queue>(getQueueToken(QueueName.WhatsApp));
  });
  afterAll(async () => {
    await t?.close();
    await redis?.destroy();
  });

  it('sends every accepted message once after a FLUSHALL, and declares the reconciliation schedule again', async () => {
    const count = 200;
    const bodies = Array.from({ length: count }, (_, i) => `flushed ${i} ${process.pid}`);
    const bulk = await t.api('/api/v1/whatsapp/send/bulk', {
      body: { messages: bodies.map((message, i) => ({ to: `+1415557${String(1000 + i)}`, message })) },
      token: t.adminToken,
    });
    expect(bulk.body.accepted).toBe(count);
    await waitFor(async () => t.sandbox.control.messages().length >= 10, 'the first messages at the sandbox');
    expect(await queue.getJobScheduler(RECONCILE_SCHEDULER_ID)).toBeDefined();

    await redis.command('FLUSHALL');

    await waitFor(
      async () => {
        const [{ final }] = await t.query<{ final: number }>(`SELECT count(*)::int AS final FROM "WhatsAppMessage" WHERE status IN ('delivered', 'read')`);
        return final === count;
      },
      `all ${count} messages delivered after the FLUSHALL`,
      60_000,
      250,
    );
    const atSandbox = new Map<string, number>();
    for (const m of t.sandbox.control.messages()) atSandbox.set(m.resource.body, (atSandbox.get(m.resource.body) ?? 0) + 1);
    expect(bodies.filter((b) => atSandbox.get(b) !== 1)).toEqual([]);
    expect(await queue.getJobScheduler(RECONCILE_SCHEDULER_ID)).toMatchObject({ every: t.config.whatsapp.reconcileIntervalMs });
  }, 90_000);

  it("runs the worker on a connection of its own that waits for Redis, while the queue's fails fast", () => {
    const { hostname, port } = new URL(redis.url);
    const server = { host: hostname, port: Number(port) };
    expect(t.app.get(WhatsAppProcessor).worker.opts.connection).toMatchObject({ ...server, enableOfflineQueue: true, maxRetriesPerRequest: null });
    expect(queue.opts.connection).toMatchObject({ ...server, enableOfflineQueue: false });
  });
});
