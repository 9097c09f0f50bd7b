/**
 * GET /api/v1/whatsapp/delivery-metrics against 1,000,000 messages, over real HTTP.
 *
 *   npm run bench:metrics [-- --messages 1000000 --requests 600 --budget-ms 50 --keep]
 *
 * Creates its own database (dropped at the end unless --keep), boots the real app on it, seeds the
 * messages with generate_series in a few INSERT ... SELECT statements (the rollup triggers fold
 * them as they would any write), then calls the endpoint sequentially over a mix of windows and
 * senders. Prints p50/p95/max and exits 1 when p95 reaches the budget (50 ms).
 */
import 'reflect-metadata';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import Redis from 'ioredis';
import { Client } from 'pg';
import { createApp } from '../src/app.factory';
import { buildConfiguration } from '../src/config/configuration';
import { deliveryMetricsQueries, SEED_DAYS, SEED_SENDERS, seedMessagesSql } from './support/message-seed';

interface Options {
  messages: number;
  requests: number;
  budgetMs: number;
  keep: boolean;
  adminUrl: string;
  redisUrl: string;
}

const BATCH = 250_000;
const ADMIN_PASSWORD = 'bench-admin-password';

function parseOptions(argv: string[]): Options {
  const flag = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    messages: Number(flag('messages') ?? 1_000_000),
    requests: Number(flag('requests') ?? 600),
    budgetMs: Number(flag('budget-ms') ?? 50),
    keep: argv.includes('--keep'),
    // The bench's own admin connection (CREATE/DROP DATABASE); not the service's configuration.
    adminUrl: process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const name = `wa_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const dbUrl = new URL(o.adminUrl);
  dbUrl.pathname = `/${name}`;
  const prefix = `wa-bench-${process.pid}`;
  const port = await freePort();
  await admin(o.adminUrl, `CREATE DATABASE "${name}"`);
  let app: NestFastifyApplication | undefined;
  const pg = new Client({ connectionString: dbUrl.toString() });
  try {
    const config = buildConfiguration({
      NODE_ENV: 'test',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: dbUrl.toString(),
      REDIS_URL: o.redisUrl,
      REDIS_PREFIX: prefix,
      JWT_SECRET: randomBytes(32).toString('hex'),
      ADMIN_PASSWORD,
      LOG_LEVEL: 'silent',
      API_RATE_LIMIT_PER_MINUTE: '1000000',
    });
    app = await createApp(config);
    await app.listen({ port, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${port}`;
    await pg.connect();

    process.stdout.write(`Seeding ${o.messages.toLocaleString('en-US')} messages over ${SEED_DAYS} days (${SEED_SENDERS.length} senders)...\n`);
    const seedStarted = Date.now();
    for (let offset = 0; offset < o.messages; offset += BATCH) {
      await pg.query(seedMessagesSql({ offset, count: Math.min(BATCH, o.messages - offset), total: o.messages }));
    }
    // The seed's rollup contributions wait in the journal like any write's; fold them before measuring.
    while ((await pg.query<{ n: number }>('SELECT delivery_rollup_fold_journal(100000, true) AS n')).rows[0].n > 0);
    await pg.query('ANALYZE');
    const seedMs = Date.now() - seedStarted;
    const sizes = await pg.query<{ table: string; rows: string }>(
      `SELECT relname AS table, n_live_tup AS rows FROM pg_stat_user_tables WHERE relname LIKE 'delivery_%' OR relname = 'WhatsAppMessage' ORDER BY relname`,
    );
    process.stdout.write(`Seeded in ${(seedMs / 1000).toFixed(1)} s; rows: ${sizes.rows.map((r) => `${r.table} ${Number(r.rows).toLocaleString('en-US')}`).join(', ')}\n`);

    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: config.auth.adminEmail, password: ADMIN_PASSWORD }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };

    // The rollups must agree with the table before their speed means anything.
    const [truth] = (await pg.query<{ n: string }>(`SELECT count(*) AS n FROM "WhatsAppMessage" WHERE "createdAt" >= now() - interval '31 days'`)).rows;
    const check = await fetch(`${base}/api/v1/whatsapp/delivery-metrics?since=${new Date(Date.now() - 31 * 86400_000).toISOString()}`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    const checked = (await check.json()) as { totalMessages: number };
    if (checked.totalMessages !== Number(truth.n)) throw new Error(`rollups say ${checked.totalMessages} messages, the table ${truth.n}`);

    const queries = deliveryMetricsQueries();
    const call = async (query: string): Promise<number> => {
      const started = performance.now();
      const res = await fetch(`${base}/api/v1/whatsapp/delivery-metrics?${query}`, { headers: { authorization: `Bearer ${accessToken}` } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`HTTP ${res.status} for ?${query}`);
      return performance.now() - started;
    };
    for (let i = 0; i < 30; i++) await call(queries[i % queries.length]); // warm-up
    const samples: number[] = [];
    for (let i = 0; i < o.requests; i++) samples.push(await call(queries[i % queries.length]));
    samples.sort((a, b) => a - b);
    const [p50, p95, max] = [percentile(samples, 50), percentile(samples, 95), samples[samples.length - 1]];
    // For scale: the same answer computed from the table itself, as a per-request scan would.
    const scanStarted = performance.now();
    await pg.query(
      `SELECT status, count(*), avg("deliveryTimeMs"), percentile_disc(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY "deliveryTimeMs")
         FROM "WhatsAppMessage" WHERE direction = 'outbound' AND "createdAt" >= now() - interval '30 days' GROUP BY status`,
    );
    const scanMs = performance.now() - scanStarted;
    const verdict = p95 < o.budgetMs ? 'PASS' : 'FAIL';
    process.stdout.write(
      `delivery-metrics over HTTP, ${o.requests} requests, ${queries.length} window/sender mixes (24 h to 90 days):\n` +
        `  p50 ${p50.toFixed(1)} ms   p95 ${p95.toFixed(1)} ms   max ${max.toFixed(1)} ms   budget p95 < ${o.budgetMs} ms: ${verdict}\n` +
        `  (the same 30-day aggregate straight from the table, in SQL alone: ${scanMs.toFixed(0)} ms)\n`,
    );
    process.exitCode = verdict === 'PASS' ? 0 : 1;
  } finally {
    await pg.end().catch(() => undefined);
    await app?.close();
    const redis = new Redis(o.redisUrl, { lazyConnect: true });
    await redis.connect().catch(() => undefined);
    const keys = await redis.keys(`${prefix}:*`).catch(() => [] as string[]);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    if (o.keep) process.stdout.write(`Kept database ${name}\n`);
    else await admin(o.adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
