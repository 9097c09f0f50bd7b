import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import Redis from 'ioredis';
import { Client } from 'pg';
import { createApp } from '../../src/app.factory';
import { AppConfig, buildConfiguration, servesApi } from '../../src/config/configuration';
import { TWILIO_SANDBOX } from '../../src/modules/twilio/twilio.module';
import { TwilioSandbox } from '../../libs/twilio-sandbox/twilio-sandbox';

export const TEST_PG_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const ADMIN_EMAIL = 'admin@example.com';
export const ADMIN_PASSWORD = 'admin-password-for-tests';

export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function adminQuery(sql: string): Promise<void> {
  const client = new Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A fresh database for one test file; dropped by the returned function. */
export async function createTestDatabase(): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = uniqueName('wa_e2e');
  await adminQuery(`CREATE DATABASE "${name}"`);
  const url = new URL(TEST_PG_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), name, drop: () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

/** Deletes every Redis key under a prefix (the test's BullMQ keys). */
export async function deleteRedisPrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } catch {
    // Redis may be the one the test stopped; nothing to clean then.
  } finally {
    redis.disconnect();
  }
}

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  baseUrl: string;
  databaseUrl: string;
  sandbox: TwilioSandbox;
  /** Bearer token of the bootstrap admin. */
  adminToken: string;
  api: (path: string, init?: ApiInit) => Promise<ApiResponse>;
  login: (email: string, password: string) => Promise<string>;
  query: <T = Record<string, any>>(sql: string, params?: unknown[]) => Promise<T[]>;
  close: () => Promise<void>;
}

export interface ApiInit {
  method?: string;
  body?: unknown;
  token?: string | null;
  headers?: Record<string, string>;
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/**
 * Boots the real AppModule on a fresh Postgres database and a private Redis prefix, listening on
 * a real port so the sandbox's signed callbacks reach it exactly as Twilio's would.
 */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  // A DATABASE_URL given is another app's (several processes, one database): that app drops it.
  const db = env.DATABASE_URL ? { url: env.DATABASE_URL, name: '', drop: async () => undefined } : await createTestDatabase();
  const prefix = env.REDIS_PREFIX ?? uniqueName('wa-test');
  const jwtSecret = randomBytes(32).toString('hex');
  // The port is chosen before the app starts (its callback URLs name it), so a process that binds
  // port 0 in between (the in-process sandbox, another test file) can take it: then try another.
  let app: NestFastifyApplication | undefined;
  let config!: AppConfig;
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    config = buildConfiguration({
      NODE_ENV: 'test',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: db.url,
      DATABASE_POOL_MAX: '8',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: prefix,
      JWT_SECRET: jwtSecret,
      ADMIN_EMAIL,
      ADMIN_PASSWORD,
      SANDBOX_STATUS_DELAY_MS: '20',
      WHATSAPP_BACKOFF_MS: '50',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      ...env,
    });
    try {
      app = await createApp(config);
      await app.listen({ port, host: '127.0.0.1' });
      break;
    } catch (err) {
      await app?.close().catch(() => undefined);
      app = undefined;
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 3 && !env.PORT) continue;
      await db.drop().catch(() => undefined);
      throw err;
    }
  }
  const baseUrl = `http://127.0.0.1:${port}`;
  const pg = new Client({ connectionString: db.url });
  await pg.connect();

  const api = async (path: string, init: ApiInit = {}): Promise<ApiResponse> => {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (init.body !== undefined) headers['content-type'] ??= 'application/json';
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    const res = await fetch(`${baseUrl}${path}`, {
      method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
      headers,
      body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON (TwiML, Prometheus text)
    }
    return { status: res.status, headers: res.headers, body, text };
  };
  const login = async (email: string, password: string): Promise<string> => {
    const res = await api('/api/v1/auth/login', { body: { email, password } });
    if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.text}`);
    return res.body.accessToken as string;
  };
  // A worker serves no login; its tests send through an API app.
  const adminToken = servesApi(config.app.role) ? await login(ADMIN_EMAIL, ADMIN_PASSWORD) : '';

  return {
    app,
    config,
    baseUrl,
    databaseUrl: db.url,
    sandbox: app.get<TwilioSandbox>(TWILIO_SANDBOX),
    adminToken,
    api,
    login,
    query: async (sql, params) => (await pg.query(sql, params as unknown[])).rows,
    close: async () => {
      await pg.end().catch(() => undefined);
      await app!.close();
      await deleteRedisPrefix(config.redis.url, prefix);
      await db.drop();
    },
  };
}

/** Polls until `check` returns a truthy value, or fails with the last value seen. */
export async function waitFor<T>(check: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 15_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    last = await check();
    if (last) return last as T;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
