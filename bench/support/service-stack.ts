import { randomBytes } from 'node:crypto';
import { BenchOptions } from './options';
import { Cleanup } from './cleanup';
import { JsonClient } from './http';
import { createDatabase, freePort, redisPrefix, withClient } from './infra';
import { BenchProcess, startSandbox, startService } from './processes';

export const ADMIN_EMAIL = 'bench-admin@example.com';
export const ADMIN_PASSWORD = 'bench-admin-password';
export const SANDBOX_ACCOUNT_SID = 'AC00000000000000000000000000000000';
export const SANDBOX_AUTH_TOKEN = 'sandbox-auth-token-0000000000000';
export const DEFAULT_SENDER = 'whatsapp:+14155238886';
export const SECOND_SENDER = 'whatsapp:+14155238887';

/** What a section has to hand when it measures anything. */
export interface SectionContext {
  options: BenchOptions;
  cleanup: Cleanup;
  logDir: string;
  /** e.g. 'bench_1234' : databases are `${runTag}_<section>`, Redis prefixes `${runTag}-<section>`. */
  runTag: string;
}

export interface ServiceStackSpec {
  section: string;
  senders: string[];
  mps: number;
  workers?: number;
  statusDelayMs: number;
  /** Run as one API process and one worker process (APP_ROLE api + worker) instead of one `all`. */
  split?: boolean;
}

export interface ServiceStack {
  /** The process that serves the API (APP_ROLE all, or api when split). */
  service: BenchProcess;
  /** The worker process of a split stack. */
  worker: BenchProcess | null;
  sandbox: BenchProcess;
  baseUrl: string;
  sandboxUrl: string;
  database: string;
  databaseUrl: string;
  statusCallbackUrl: string;
  /** The bootstrap admin's bearer token and user id. */
  token: string;
  adminId: string;
  api: JsonClient;
}

export interface ServiceEnvSpec {
  port: number;
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  /** The same for every process of one deployment, so a token from one API works on the others. */
  jwtSecret: string;
  sandboxUrl: string;
  senders: string[];
  mps: number;
  workers?: number;
  /** Where Twilio's callbacks go: this process, or the API a worker's messages report to. */
  publicUrl: string;
  role?: 'api' | 'worker' | 'all';
}

/** The environment of one service process configured as for a real Twilio account pointed at the sandbox. */
export function serviceEnv(spec: ServiceEnvSpec): Record<string, string> {
  return {
    NODE_ENV: 'development',
    ...(spec.role ? { APP_ROLE: spec.role } : {}),
    HOST: '127.0.0.1',
    PORT: String(spec.port),
    LOG_LEVEL: 'warn',
    // Measured as deployed: stdout only, no log files in the checkout.
    LOG_DIR: 'off',
    DATABASE_URL: spec.databaseUrl,
    REDIS_URL: spec.redisUrl,
    REDIS_PREFIX: spec.redisPrefix,
    JWT_SECRET: spec.jwtSecret,
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    TWILIO_ACCOUNT_SID: SANDBOX_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: SANDBOX_AUTH_TOKEN,
    TWILIO_API_BASE_URL: spec.sandboxUrl,
    TWILIO_WHATSAPP_FROM: spec.senders.join(','),
    TWILIO_MPS: String(spec.mps),
    ...(spec.workers ? { WHATSAPP_WORKERS: String(spec.workers) } : {}),
    WEBHOOK_URL: `${spec.publicUrl}/api/v1/whatsapp/webhook`,
    STATUS_CALLBACK_URL: `${spec.publicUrl}/api/v1/whatsapp/status`,
    // Load comes from one user; the per-user limit would refuse most of it.
    API_RATE_LIMIT_PER_MINUTE: '1000000',
    // Reconciliation would fetch seeded rows from the sandbox in the middle of a measurement.
    RECONCILE_INTERVAL_MS: '86400000',
    RECONCILE_AFTER_MS: '604800000',
    SHUTDOWN_TIMEOUT_MS: '10000',
  };
}

/**
 * A fresh database and Redis prefix, the standalone sandbox, and the service configured as for a
 * real Twilio account pointed at it (the production code path), logged in as its admin.
 */
export async function startServiceStack(ctx: SectionContext, spec: ServiceStackSpec): Promise<ServiceStack> {
  const { options, cleanup, logDir } = ctx;
  const database = `${ctx.runTag}_${spec.section}`;
  const databaseUrl = await createDatabase(options.adminUrl, database, cleanup);
  const prefix = redisPrefix(options.redisUrl, `${ctx.runTag.replace(/_/g, '-')}-${spec.section}`, cleanup);
  const [port, sandboxPort] = [await freePort(), await freePort()];
  const sandbox = await startSandbox(
    { port: sandboxPort, accountSid: SANDBOX_ACCOUNT_SID, authToken: SANDBOX_AUTH_TOKEN, statusDelayMs: spec.statusDelayMs, logDir },
    cleanup,
  );
  const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
  const baseUrl = `http://127.0.0.1:${port}`;
  const statusCallbackUrl = `${baseUrl}/api/v1/whatsapp/status`;
  const deployment = {
    databaseUrl,
    redisUrl: options.redisUrl,
    redisPrefix: prefix,
    jwtSecret: randomBytes(32).toString('hex'),
    sandboxUrl,
    senders: spec.senders,
    mps: spec.mps,
    workers: spec.workers,
    publicUrl: baseUrl,
  };
  const service = await startService(serviceEnv({ ...deployment, port, ...(spec.split ? { role: 'api' as const } : {}) }), logDir, cleanup, spec.split ? 'api' : 'service');
  const worker = spec.split ? await startService(serviceEnv({ ...deployment, port: await freePort(), role: 'worker' }), logDir, cleanup, 'worker') : null;
  const api = new JsonClient(baseUrl, null, 32);
  cleanup.add('close api client', async () => api.close());
  const login = await api.post<{ accessToken?: string }>('/api/v1/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
  if (login.status !== 200 || !login.body.accessToken) throw new Error(`login failed: HTTP ${login.status}`);
  api.authorize(login.body.accessToken);
  const adminId = await withClient(databaseUrl, async (c) => {
    const { rows } = await c.query<{ id: string }>('SELECT id FROM users WHERE email = $1', [ADMIN_EMAIL]);
    return rows[0].id;
  });
  return { service, worker, sandbox, baseUrl, sandboxUrl, database, databaseUrl, statusCallbackUrl, token: login.body.accessToken, adminId, api };
}

/** Peak RSS of each process of a stack (and any others given), read before they stop. */
export function peakRss(...processes: BenchProcess[]): Record<string, number | null> {
  return Object.fromEntries(processes.map((p) => [p.name, p.peakRssMb()]));
}
