import { Queue } from 'bullmq';
import fastify from 'fastify';
import Redis from 'ioredis';
import { Pool } from 'pg';

/**
 * The naive way to accept a message, for scale: Fastify, one INSERT, one BullMQ add, answer 202.
 * No authentication, validation, idempotency or outbox. Configured by the bench through BASELINE_*.
 */
async function main(): Promise<void> {
  const env = process.env;
  const pool = new Pool({ connectionString: env.BASELINE_DATABASE_URL, max: Number(env.BASELINE_POOL_MAX ?? 10) });
  await pool.query(`CREATE TABLE IF NOT EXISTS baseline_message (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    "to" varchar(64) NOT NULL,
    body text,
    status varchar(32) NOT NULL DEFAULT 'queued',
    "createdAt" timestamptz NOT NULL DEFAULT now())`);
  const connection = new Redis(env.BASELINE_REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  const queue = new Queue('whatsapp', { connection, prefix: env.BASELINE_REDIS_PREFIX });

  const app = fastify({ logger: false });
  app.get('/health', async () => ({ ok: true }));
  app.post<{ Body: { to?: string; message?: string } }>('/api/v1/whatsapp/send', async (request, reply) => {
    const { to, message } = request.body ?? {};
    const { rows } = await pool.query<{ id: string }>('INSERT INTO baseline_message ("to", body) VALUES ($1, $2) RETURNING id', [to ?? '', message ?? null]);
    const id = rows[0].id;
    await queue.add('send', { messageId: id }, { jobId: `send-${id}` });
    void reply.code(202);
    return { success: true, id, messageSid: null, status: 'queued' };
  });
  await app.listen({ host: '127.0.0.1', port: Number(env.BASELINE_PORT) });

  const stop = (): void => {
    void (async () => {
      await app.close();
      await queue.close();
      connection.disconnect();
      await pool.end();
      process.exit(0);
    })();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`accept baseline failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
