import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import { TwilioSandbox } from '../libs/twilio-sandbox/twilio-sandbox';
import { createApp } from '../src/app.factory';
import { buildConfiguration } from '../src/config/configuration';
import { ADMIN_EMAIL, ADMIN_PASSWORD, createTestDatabase, deleteRedisPrefix, freePort, TEST_REDIS_URL, uniqueName, waitFor } from './support/test-app';

const ROOT = resolve(__dirname, '..');
const ACCOUNT_SID = 'AC' + '3c'.repeat(16);
const AUTH_TOKEN = 'kill-test-auth-token-0123456789';

/**
 * The real thing: the service runs as its own process, stores an immediate send with an
 * Idempotency-Key, and is killed with SIGKILL while Twilio holds the request (after the commit,
 * before any answer). The client's retry, served by the next process, must find that message.
 */
describe('Idempotency-Key across a SIGKILL of the service (e2e)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let twilio: TwilioSandbox;
  let child: ChildProcess | undefined;
  let next: NestFastifyApplication | undefined;
  let pg: Client;
  const prefix = uniqueName('wa-kill');
  let env: Record<string, string>;

  beforeAll(async () => {
    db = await createTestDatabase();
    // Quiet: its callbacks to the killed process fail, as they should.
    const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };
    twilio = new TwilioSandbox({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, statusDelayMs: 20, logger: quiet });
    await twilio.start();
    pg = new Client({ connectionString: db.url });
    await pg.connect();
    env = {
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      DATABASE_URL: db.url,
      DATABASE_POOL_MAX: '4',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: prefix,
      JWT_SECRET: randomBytes(32).toString('hex'),
      ADMIN_EMAIL,
      ADMIN_PASSWORD,
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TWILIO_WHATSAPP_FROM: 'whatsapp:+14155238886',
      TWILIO_API_BASE_URL: twilio.baseUrl,
      WHATSAPP_WORKERS: '2',
      LOG_LEVEL: 'silent',
    };
  });
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await next?.close();
    await pg?.end().catch(() => undefined);
    await twilio?.stop();
    await deleteRedisPrefix(TEST_REDIS_URL, prefix);
    await db?.drop();
  });

  const call = async (baseUrl: string, path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  };
  const login = async (baseUrl: string) => (await call(baseUrl, '/api/v1/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD })).body.accessToken as string;

  it('answers the retry from the message the killed process stored, and stores no second one', async () => {
    const port = await freePort();
    const firstUrl = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [require.resolve('ts-node/dist/bin.js'), '--transpile-only', 'src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env, PORT: String(port) },
      stdio: 'ignore',
    });
    await waitFor(async () => (await fetch(`${firstUrl}/api/v1/health`).catch(() => null))?.ok, 'the service process to start', 150_000, 250);

    // Twilio keeps the send's request open: the process is between its commit and its answer.
    twilio.control.setFaults({ timeoutProbability: 1, timeoutAnswerAfterMs: null });
    const key = randomUUID();
    const body = { to: '+14155550981', message: 'killed mid-send', immediate: true };
    const token = await login(firstUrl);
    const unanswered = call(firstUrl, '/api/v1/whatsapp/send', body, { authorization: `Bearer ${token}`, 'idempotency-key': key }).catch((err: unknown) => err);
    const [stored] = await waitFor(async () => {
      const rows = (await pg.query(`SELECT id FROM "WhatsAppMessage" WHERE "to" = 'whatsapp:+14155550981'`)).rows;
      return rows.length > 0 && twilio.control.receivedRequests().length > 0 ? rows : undefined;
    }, 'the send to be stored and at Twilio', 30_000);
    child.kill('SIGKILL');
    expect(await unanswered).not.toHaveProperty('status'); // the client never got an answer

    twilio.control.resetFaults();
    const config = buildConfiguration({ ...env, PORT: String(await freePort()) });
    next = await createApp(config);
    await next.listen({ port: config.app.port, host: '127.0.0.1' });
    const nextUrl = `http://127.0.0.1:${config.app.port}`;
    const retry = () => call(nextUrl, '/api/v1/whatsapp/send', body, { authorization: `Bearer ${token}`, 'idempotency-key': key });

    // Within the lease the killed request could still be running, as far as anyone can tell.
    expect((await retry()).body.code).toBe('IDEMPOTENCY_REQUEST_IN_FLIGHT');
    await pg.query(`UPDATE idempotency_keys SET "createdAt" = now() - interval '1 hour' WHERE key = $1`, [key]);
    const answered = await retry();
    expect({ status: answered.status, replayed: answered.headers.get('idempotent-replayed'), id: answered.body.id }).toEqual({ status: 202, replayed: 'true', id: stored.id });
    const { rows } = await pg.query(`SELECT count(*)::int AS n FROM "WhatsAppMessage" WHERE "to" = 'whatsapp:+14155550981'`);
    expect(rows[0].n).toBe(1);
  }, 240_000);
});
