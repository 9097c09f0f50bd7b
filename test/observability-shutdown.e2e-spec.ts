import { getQueueToken } from '@nestjs/bullmq';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Queue } from 'bullmq';
import Redis from 'ioredis';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, shutdownApp } from '../src/app.factory';
import { buildConfiguration } from '../src/config/configuration';
import { QueueName } from '../src/modules/queue/queue.types';
import { freePort, startTestApp, TestApp, waitFor } from './support/test-app';

const BATCH = 30;

describe('graceful shutdown during a send run (e2e)', () => {
  let t: TestApp;
  let logDir: string;
  let redis: Redis;

  beforeAll(async () => {
    logDir = mkdtempSync(join(tmpdir(), 'wa-shutdown-logs-'));
    // warn: what a cut-off job or probe would log ("Connection is closed") is a warning or an error.
    t = await startTestApp({ LOG_DIR: logDir, LOG_LEVEL: 'warn', WHATSAPP_WORKERS: '4' });
    redis = new Redis(t.config.redis.url);
  });
  afterAll(async () => {
    redis?.disconnect();
    await t?.close();
    rmSync(logDir, { recursive: true, force: true });
  });

  const key = (suffix: string) => `${t.config.redis.prefix}:${QueueName.WhatsApp}:${suffix}`;

  it('finishes running jobs, leaves no job active or stalled, and the next process sends the rest', async () => {
    // Each Twilio call takes 400 ms, so jobs are mid-flight when the shutdown starts.
    t.sandbox.control.setFaults({ latencyMs: 400 });
    // One bulk request queues the whole batch at once, so however slow the machine, most of it
    // is still waiting when the shutdown starts.
    const bulk = await t.api('/api/v1/whatsapp/send/bulk', {
      body: { messages: Array.from({ length: BATCH }, (_, i) => ({ to: `+1415555${String(1000 + i)}`, message: `batch ${i}` })) },
      token: t.adminToken,
    });
    expect({ status: bulk.status, accepted: bulk.body.accepted }).toEqual({ status: 202, accepted: BATCH });
    const ids: string[] = bulk.body.results.map((r: { id: string }) => r.id);
    const queue = t.app.get<Queue>(getQueueToken(QueueName.WhatsApp));
    await waitFor(async () => (await queue.getActiveCount()) > 0, 'jobs to be running', 10_000, 10);

    // An HTTP request in flight (an immediate send waiting on Twilio) when the shutdown starts.
    const inFlight = t.api('/api/v1/whatsapp/send', { body: { to: '+14155559999', message: 'in flight', immediate: true }, token: t.adminToken });
    await new Promise((r) => setTimeout(r, 100)); // its Twilio call takes 400 ms
    // The same function main.ts runs on SIGTERM.
    const shutdown = shutdownApp(t.app, t.config);
    const ready = await t.api('/api/v1/health/ready', { token: t.adminToken });
    expect(ready.status).toBe(503);
    expect(ready.body.error).toMatchObject({ shutdown: { status: 'down', message: 'shutting down' } });
    expect((await t.api('/api/v1/health')).status).toBe(200); // still alive while draining
    await shutdown;
    const answered = await inFlight;
    expect(answered.status).toBe(201);
    expect(answered.body.messageSid).toMatch(/^SM/);

    // Nothing active, nothing stalled: every job that started has finished.
    expect(await redis.llen(key('active'))).toBe(0);
    expect(await redis.scard(key('stalled'))).toBe(0);
    const failedJobs = await redis.zcard(key('failed'));
    expect(failedJobs).toBe(0);

    // Every message has its SID, or is still queued with its job (in Redis or in the outbox) intact.
    const pg = await import('pg');
    const client = new pg.Client({ connectionString: t.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ id: string; status: string; messageSid: string | null; outbox: boolean }>(
        `SELECT m.id, m.status, m."messageSid", EXISTS (SELECT 1 FROM outbox o WHERE o."jobId" = 'send-' || m.id) AS outbox
           FROM "WhatsAppMessage" m WHERE m.id = ANY($1::uuid[])`,
        [ids],
      );
      expect(rows).toHaveLength(BATCH);
      const waiting = new Set(await redis.lrange(key('wait'), 0, -1));
      const delayed = new Set(await redis.zrange(key('delayed'), 0, -1));
      let sent = 0;
      let pending = 0;
      for (const row of rows) {
        if (row.messageSid) {
          sent++;
          continue;
        }
        pending++;
        const jobId = `send-${row.id}`;
        expect({ id: row.id, status: row.status }).toEqual({ id: row.id, status: 'queued' });
        const kept = row.outbox || waiting.has(jobId) || delayed.has(jobId);
        expect({ jobId, kept }).toEqual({ jobId, kept: true });
        if (!row.outbox) expect(await redis.exists(key(jobId))).toBe(1);
      }
      expect(sent).toBeGreaterThan(0);
      expect(pending).toBeGreaterThan(0); // the shutdown did not simply wait for the whole batch

      // No "Connection is closed" (or any other error) from a job or probe cut off half-way.
      const appLog = readFileSync(join(logDir, 'app.log'), 'utf8');
      expect(appLog).not.toMatch(/Connection is closed|stalled/i);
      const errorLog = existsSync(join(logDir, 'error.log')) ? readFileSync(join(logDir, 'error.log'), 'utf8') : '';
      expect(errorLog).not.toMatch(/Connection is closed/);

      // The next process (same database, same Redis prefix) picks up the rest and sends it once.
      const port = await freePort();
      const next: NestFastifyApplication = await createApp(
        buildConfiguration({
          NODE_ENV: 'test',
          PORT: String(port),
          HOST: '127.0.0.1',
          DATABASE_URL: t.databaseUrl,
          REDIS_URL: t.config.redis.url,
          REDIS_PREFIX: t.config.redis.prefix,
          ADMIN_PASSWORD: 'admin-password-for-tests',
          SANDBOX_STATUS_DELAY_MS: '20',
          LOG_LEVEL: 'silent',
        }),
      );
      try {
        await next.listen({ port, host: '127.0.0.1' });
        await waitFor(async () => {
          const { rows: left } = await client.query(`SELECT 1 FROM "WhatsAppMessage" WHERE id = ANY($1::uuid[]) AND "messageSid" IS NULL`, [ids]);
          return left.length === 0;
        }, 'the next process to send the remaining messages', 20_000, 100);
        const { rows: sids } = await client.query<{ n: number }>(
          `SELECT count(DISTINCT "messageSid")::int AS n FROM "WhatsAppMessage" WHERE id = ANY($1::uuid[])`,
          [ids],
        );
        expect(sids[0].n).toBe(BATCH);
      } finally {
        await next.close();
      }
    } finally {
      await client.end();
    }
  }, 60_000);
});
