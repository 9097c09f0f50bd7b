import { startTestAppWithPrivateRedis, TestRedisServer } from './support/redis-server';
import { TestApp, waitFor } from './support/test-app';

describe('an accepted message survives a Redis outage (e2e)', () => {
  let redis: TestRedisServer;
  let t: TestApp;

  beforeAll(async () => {
    ({ redis, t } = await startTestAppWithPrivateRedis());
  });
  afterAll(async () => {
    await t?.close();
    await redis?.stop();
  });

  it('accepts while Redis is unreachable, then sends once Redis is back', async () => {
    const to = '+14155550301';
    expect((await t.api('/api/v1/health')).status).toBe(200);

    await redis.stop();
    const started = Date.now();
    const res = await t.api('/api/v1/whatsapp/send', { body: { to, message: 'Sent through an outage' }, token: t.adminToken });
    expect(res.status).toBe(202);
    expect(Date.now() - started).toBeLessThan(5000); // answered, not stuck behind Redis
    const id = res.body.id as string;

    // Stored with its job in the outbox; health reports Redis down.
    expect(await t.query(`SELECT status FROM "WhatsAppMessage" WHERE id = $1`, [id])).toEqual([{ status: 'queued' }]);
    expect(await t.query(`SELECT "jobName" FROM outbox WHERE "jobId" = $1`, [`send-${id}`])).toEqual([{ jobName: 'send-message' }]);
    const health = await t.api('/api/v1/health/ready', { token: t.adminToken });
    expect(health.status).toBe(503);
    expect(health.body.error).toHaveProperty('redis');
    await new Promise((r) => setTimeout(r, 1500)); // the relay tries (and fails) meanwhile
    expect(t.sandbox.control.receivedRequests().filter((r) => r.params.To === `whatsapp:${to}`)).toHaveLength(0);

    await redis.start();
    await waitFor(async () => {
      const [row] = await t.query<{ status: string }>(`SELECT status FROM "WhatsAppMessage" WHERE id = $1`, [id]);
      return ['delivered', 'read'].includes(row.status);
    }, 'the message to be delivered after Redis came back', 45_000, 100);
    expect(t.sandbox.control.receivedRequests().filter((r) => r.params.To === `whatsapp:${to}`)).toHaveLength(1);
    expect(await t.query(`SELECT 1 FROM outbox WHERE "jobId" = $1`, [`send-${id}`])).toHaveLength(0);
    expect((await t.api('/api/v1/health')).status).toBe(200);
  }, 90_000);
});
