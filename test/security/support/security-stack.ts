import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cleanup } from '../../../bench/support/cleanup';
import { createDatabase, freePort, redisPrefix, withClient } from '../../../bench/support/infra';
import { BenchProcess, ROOT, SERVICE_MAIN, startSandbox, startService } from '../../../bench/support/processes';

const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const ACCOUNT_SID = 'AC' + randomBytes(16).toString('hex');
export const SENDERS = ['whatsapp:+14155238886', 'whatsapp:+14155238887'];

export interface Actor {
  email: string;
  password: string;
  token: string;
  id: string;
}

export interface SecurityStack {
  baseUrl: string;
  sandboxUrl: string;
  databaseUrl: string;
  service: BenchProcess;
  authToken: string;
  jwtSecret: string;
  webhookUrl: string;
  statusCallbackUrl: string;
  admin: Actor;
  /** Two senders, for the BOLA sweep. */
  alice: Actor;
  bob: Actor;
  /** Every secret the service holds or handed out; none may appear in its log. */
  secrets: () => string[];
  query: <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>;
  stop: () => Promise<void>;
}

async function login(baseUrl: string, email: string, password: string): Promise<string> {
  const res = await fetch(`${baseUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  const body = (await res.json()) as { accessToken?: string };
  if (!body.accessToken) throw new Error(`login of ${email} failed: HTTP ${res.status}`);
  return body.accessToken;
}

/**
 * The built service as production runs it (its own process, a Twilio account pointed at the
 * standalone sandbox, info-level logs to a file), on a fresh database and Redis prefix.
 */
export async function startSecurityStack(): Promise<SecurityStack> {
  if (!existsSync(join(ROOT, SERVICE_MAIN))) throw new Error(`${SERVICE_MAIN} is missing: run npm run build first (npm run test:security does)`);
  const cleanup = new Cleanup();
  const logDir = mkdtempSync(join(tmpdir(), 'wa-security-'));
  const tag = `wa_security_${process.pid}_${randomBytes(3).toString('hex')}`;
  const databaseUrl = await createDatabase(ADMIN_URL, tag, cleanup);
  const prefix = redisPrefix(REDIS_URL, tag.replace(/_/g, '-'), cleanup);
  const [port, sandboxPort] = [await freePort(), await freePort()];
  const authToken = randomBytes(16).toString('hex');
  const jwtSecret = randomBytes(32).toString('base64url');
  const adminPassword = `admin-${randomBytes(9).toString('base64url')}`;
  await startSandbox({ port: sandboxPort, accountSid: ACCOUNT_SID, authToken, statusDelayMs: 20, logDir }, cleanup);
  const baseUrl = `http://127.0.0.1:${port}`;
  const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
  const webhookUrl = `${baseUrl}/api/v1/whatsapp/webhook`;
  const statusCallbackUrl = `${baseUrl}/api/v1/whatsapp/status`;
  const env = {
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'info',
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    REDIS_PREFIX: prefix,
    JWT_SECRET: jwtSecret,
    ADMIN_EMAIL: 'security-admin@example.com',
    ADMIN_PASSWORD: adminPassword,
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: authToken,
    TWILIO_API_BASE_URL: sandboxUrl,
    TWILIO_WHATSAPP_FROM: SENDERS.join(','),
    WEBHOOK_URL: webhookUrl,
    STATUS_CALLBACK_URL: statusCallbackUrl,
    // The battery is one client sending thousands of requests; the per-user limit is not under test.
    API_RATE_LIMIT_PER_MINUTE: '1000000',
    RECONCILE_INTERVAL_MS: '86400000',
    SHUTDOWN_TIMEOUT_MS: '10000',
  };
  const service = await startService(env, logDir, cleanup);

  const users: Record<string, string> = {};
  for (const name of ['alice', 'bob']) {
    users[name] = `${name}-${randomBytes(9).toString('base64url')}`;
    await promisify(execFile)(process.execPath, ['dist/scripts/user-create.js', '--email', `${name}@example.com`, '--role', 'sender', '--password', users[name]], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env, DATABASE_MIGRATIONS_RUN: 'false' },
    });
  }
  const actor = async (email: string, password: string): Promise<Actor> => {
    const token = await login(baseUrl, email, password);
    const id = await withClient(databaseUrl, async (c) => (await c.query<{ id: string }>('SELECT id FROM users WHERE email = $1', [email])).rows[0].id);
    return { email, password, token, id };
  };
  const admin = await actor(env.ADMIN_EMAIL, adminPassword);
  const alice = await actor('alice@example.com', users.alice);
  const bob = await actor('bob@example.com', users.bob);

  return {
    baseUrl,
    sandboxUrl,
    databaseUrl,
    service,
    authToken,
    jwtSecret,
    webhookUrl,
    statusCallbackUrl,
    admin,
    alice,
    bob,
    secrets: () => [authToken, jwtSecret, adminPassword, users.alice, users.bob, admin.token, alice.token, bob.token],
    query: (sql, params) => withClient(databaseUrl, async (c) => (await c.query(sql, params as unknown[])).rows),
    stop: () => cleanup.unwind(),
  };
}

export function serviceLog(stack: SecurityStack): string {
  return readFileSync(stack.service.logFile, 'utf8');
}

/** Runs `tasks` with at most `concurrency` in flight; resolves with their results in order. */
export async function pool<T>(tasks: (() => Promise<T>)[], concurrency = 16): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]();
      }
    }),
  );
  return results;
}

/** A snapshot of everything a webhook could change: equal snapshots mean no row changed. */
export async function dataSnapshot(stack: SecurityStack): Promise<string> {
  const [row] = await stack.query<{ snapshot: string }>(`
    SELECT concat_ws('|',
      (SELECT md5(coalesce(string_agg(concat_ws(',', id, status, "messageSid", "updatedAt"), ';' ORDER BY id), '')) FROM "WhatsAppMessage"),
      (SELECT md5(coalesce(string_agg(concat_ws(',', id, "messageSid", status), ';' ORDER BY id), '')) FROM message_events),
      (SELECT md5(coalesce(string_agg(concat_ws(',', phone, "optedOutAt", "lastInboundAt"), ';' ORDER BY phone), '')) FROM contacts)
    ) AS snapshot`);
  return row.snapshot;
}

/**
 * An idle Node process that measures its own event-loop delay: on a busy machine (two cores,
 * several test runs) no process gets the CPU on time, so the service's delay is judged against
 * what a process doing nothing suffered over the same time.
 */
export function idleReference(): { worstMs: () => Promise<number>; stop: () => void } {
  const code = `
    const { monitorEventLoopDelay } = require('node:perf_hooks');
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    process.stdin.on('data', () => process.stdout.write(JSON.stringify(h.max / 1e6) + '\\n'));
    process.stdin.on('end', () => process.exit(0));`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'ignore'] });
  let buffer = '';
  const waiting: ((ms: number) => void)[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      waiting.shift()?.(Number(line));
    }
  });
  return {
    worstMs: () =>
      new Promise<number>((resolve) => {
        waiting.push(resolve);
        child.stdin.write('?');
      }),
    stop: () => child.stdin.end(),
  };
}
