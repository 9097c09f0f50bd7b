import formbody from '@fastify/formbody';
import fastify from 'fastify';
import { Pool } from 'pg';
import twilio from 'twilio';

/**
 * The least a status callback can cost, for scale: Fastify, the Twilio signature check, one event
 * INSERT and one UPDATE of the message. No state machine, no de-duplication, no transaction.
 * Configured by the bench through BASELINE_*; the bench seeds floor_message.
 */
async function main(): Promise<void> {
  const env = process.env;
  const authToken = env.BASELINE_AUTH_TOKEN ?? '';
  const publicUrl = env.BASELINE_PUBLIC_URL ?? '';
  const pool = new Pool({ connectionString: env.BASELINE_DATABASE_URL, max: Number(env.BASELINE_POOL_MAX ?? 10) });
  await pool.query(`CREATE TABLE IF NOT EXISTS floor_message (
    sid varchar(64) PRIMARY KEY,
    status varchar(32) NOT NULL,
    "updatedAt" timestamptz NOT NULL DEFAULT now())`);
  await pool.query(`CREATE TABLE IF NOT EXISTS floor_event (
    id bigserial PRIMARY KEY,
    sid varchar(64) NOT NULL,
    status varchar(32) NOT NULL,
    raw jsonb NOT NULL,
    "receivedAt" timestamptz NOT NULL DEFAULT now())`);

  const app = fastify({ logger: false });
  await app.register(formbody);
  app.get('/health', async () => ({ ok: true }));
  app.post<{ Body: Record<string, string> }>('/api/v1/whatsapp/status', async (request, reply) => {
    const params = request.body ?? {};
    const signature = request.headers['x-twilio-signature'];
    if (typeof signature !== 'string' || !twilio.validateRequest(authToken, signature, publicUrl, params)) {
      return reply.code(403).send({ error: 'invalid signature' });
    }
    await pool.query('INSERT INTO floor_event (sid, status, raw) VALUES ($1, $2, $3)', [params.MessageSid, params.MessageStatus, JSON.stringify(params)]);
    await pool.query('UPDATE floor_message SET status = $2, "updatedAt" = now() WHERE sid = $1', [params.MessageSid, params.MessageStatus]);
    return { received: true };
  });
  await app.listen({ host: '127.0.0.1', port: Number(env.BASELINE_PORT) });

  const stop = (): void => {
    void (async () => {
      await app.close();
      await pool.end();
      process.exit(0);
    })();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`callback floor failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
