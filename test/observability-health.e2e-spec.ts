import { getQueueToken } from '@nestjs/bullmq';
import type { Worker } from 'bullmq';
import { GracefulShutdown } from '../src/modules/health/graceful-shutdown.service';
import { QueueName } from '../src/modules/queue/queue.types';
import { startTestAppWithPrivateRedis, TestRedisServer } from './support/redis-server';
import { TestApp, waitFor } from './support/test-app';

describe('liveness and readiness (e2e)', () => {
  let redis: TestRedisServer;
  let t: TestApp;

  beforeAll(async () => {
    ({ redis, t } = await startTestAppWithPrivateRedis());
  });
  afterAll(async () => {
    await t?.close();
    await redis?.stop();
  });

  const live = () => t.api('/api/v1/health');
  const ready = () => t.api('/api/v1/health/ready', { token: t.adminToken });

  it('is live with the measured event-loop lag, and ready with every dependency named', async () => {
    const l = await live();
    expect(l.status).toBe(200);
    expect(l.body).toMatchObject({ status: 'ok', details: { eventLoop: { status: 'up', p99Ms: expect.any(Number), maxMs: expect.any(Number) } } });
    const r = await ready();
    expect(r.status).toBe(200);
    for (const key of ['shutdown', 'database', 'redis', 'migrations', 'workers', 'twilio']) expect(r.body.details[key]).toMatchObject({ status: 'up' });
    expect(r.body.details.twilio.sandbox).toBe(t.sandbox.baseUrl);
  });

  it('turns readiness 503 while Redis is unreachable and back to 200 after, liveness staying 200', async () => {
    await redis.stop();
    const down = await waitFor(async () => {
      const r = await ready();
      return r.status === 503 ? r : undefined;
    }, 'readiness to notice Redis is down');
    expect(down.body).toMatchObject({ status: 'error', code: 'SERVICE_UNAVAILABLE', error: { redis: { status: 'down' } } });
    expect(down.body.details.database.status).toBe('up');
    expect((await live()).status).toBe(200);

    await redis.start();
    await waitFor(async () => (await ready()).status === 200, 'readiness to recover with Redis', 20_000, 200);
    expect((await live()).status).toBe(200);
  }, 40_000);

  it('is not ready with a pending migration, or with its queue worker paused', async () => {
    const [last] = await t.query<{ id: number; timestamp: string; name: string }>(`SELECT id, "timestamp", name FROM migrations ORDER BY id DESC LIMIT 1`);
    await t.query(`DELETE FROM migrations WHERE id = $1`, [last.id]);
    try {
      const r = await ready();
      expect(r.status).toBe(503);
      expect(r.body.error.migrations).toMatchObject({ status: 'down', message: expect.stringContaining('pending migrations') });
    } finally {
      await t.query(`INSERT INTO migrations (id, "timestamp", name) VALUES ($1, $2, $3)`, [last.id, last.timestamp, last.name]);
    }
    expect((await ready()).status).toBe(200);

    const [worker] = t.app.get(GracefulShutdown).workers() as Worker[];
    expect(worker.name).toBe(t.app.get(getQueueToken(QueueName.WhatsApp)).name);
    worker.pause(true);
    try {
      const r = await ready();
      expect(r.status).toBe(503);
      expect(r.body.error.workers).toMatchObject({ status: 'down', message: expect.stringContaining('whatsapp') });
    } finally {
      worker.resume();
    }
    expect((await ready()).status).toBe(200);
  });
});
