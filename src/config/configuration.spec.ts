import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfiguration, parseDurationSeconds, runsJobs, SANDBOX_DEFAULT_FROM, servesApi } from './configuration';
import { AppRole, ConfigError } from './env.validation';

const SID = 'AC' + 'a'.repeat(32);
const TOKEN = '0123456789abcdef0123456789abcdef';
const PROD_OK = {
  NODE_ENV: 'production',
  TWILIO_ACCOUNT_SID: SID,
  TWILIO_AUTH_TOKEN: TOKEN,
  TWILIO_WHATSAPP_FROM: 'whatsapp:+14155238886',
  WEBHOOK_URL: 'https://api.example.com/api/v1/whatsapp/webhook',
  STATUS_CALLBACK_URL: 'https://api.example.com/api/v1/whatsapp/status',
  JWT_SECRET: 'kq3N8vY0pZr5TtW2mJx7Lc4Hb9Gd6Fs1Ae_-Uo',
};

function errorOf(env: Record<string, string | undefined>): string {
  try {
    buildConfiguration(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('buildConfiguration', () => {
  it('runs with no variables at all: sandbox, local Postgres and Redis', () => {
    const c = buildConfiguration({});
    expect(c.twilio.useSandbox).toBe(true);
    expect(c.twilio.whatsappFrom).toEqual([SANDBOX_DEFAULT_FROM]);
    expect(c.database.url).toBe('postgres://postgres@127.0.0.1:5432/whatsapp');
    expect(c.redis.url).toBe('redis://127.0.0.1:6379');
    expect(c.app.port).toBe(3000);
    expect(c.twilio.statusCallbackUrl).toBe('http://localhost:3000/api/v1/whatsapp/status');
    expect(c.twilio.forceVerify).toBe(true);
    expect(c.auth.jwtSecretGenerated).toBe(true);
    expect(Buffer.byteLength(c.auth.jwtSecret)).toBeGreaterThanOrEqual(32);
  });

  it('runs every role in one process by default (APP_ROLE=all)', () => {
    const c = buildConfiguration({});
    expect(c.app.role).toBe(AppRole.All);
    expect([servesApi(c.app.role), runsJobs(c.app.role)]).toEqual([true, true]);
  });

  it('takes APP_ROLE api or worker with shared Twilio credentials, and nothing else', () => {
    const twilio = { TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: 'tok', TWILIO_WHATSAPP_FROM: 'whatsapp:+14155238886' };
    const api = buildConfiguration({ ...twilio, APP_ROLE: 'api' }).app.role;
    const worker = buildConfiguration({ ...twilio, APP_ROLE: ' worker ' }).app.role;
    expect([servesApi(api), runsJobs(api)]).toEqual([true, false]);
    expect([servesApi(worker), runsJobs(worker)]).toEqual([false, true]);
    expect(errorOf({ APP_ROLE: 'scheduler' })).toBe('Invalid configuration: APP_ROLE must be one of api, worker, all');
  });

  it('refuses a split role on the built-in sandbox, which belongs to one process', () => {
    expect(errorOf({ APP_ROLE: 'worker' })).toMatch(/^Invalid configuration: APP_ROLE=worker needs Twilio credentials shared by every process/);
    expect(errorOf({ APP_ROLE: 'api' })).toMatch(/built-in sandbox runs only with APP_ROLE=all/);
  });

  it('accepts a complete production configuration', () => {
    const c = buildConfiguration(PROD_OK);
    expect(c.app.isProduction).toBe(true);
    expect(c.twilio.useSandbox).toBe(false);
    expect(c.twilio.credentials).toEqual({ kind: 'auth-token', accountSid: SID, authToken: TOKEN });
    expect(c.twilio.webhookAuthTokens).toEqual([TOKEN]);
  });

  it.each([
    [{ PORT: 'abc' }, 'Invalid configuration: PORT must be an integer port number'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'Invalid configuration: DATABASE_URL must be a postgres:// connection URL'],
    [{ REDIS_URL: 'localhost:6379' }, 'Invalid configuration: REDIS_URL must be a redis:// or rediss:// URL'],
    [{ FORCE_TWILIO_VERIFY: 'maybe' }, 'Invalid configuration: FORCE_TWILIO_VERIFY must be true or false'],
    [{ WHATSAPP_WORKERS: '0' }, 'WHATSAPP_WORKERS'],
    [{ JWT_EXPIRES_IN: 'forever' }, 'JWT_EXPIRES_IN'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET must be at least 32 bytes'],
    [{ TWILIO_ACCOUNT_SID: 'nope' }, 'TWILIO_ACCOUNT_SID must be an account SID'],
    [{ TWILIO_ACCOUNT_SID: SID }, 'TWILIO_AUTH_TOKEN'],
    [{ TWILIO_AUTH_TOKEN: 'tok' }, 'TWILIO_ACCOUNT_SID is required'],
    [{ TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: 't' }, 'TWILIO_WHATSAPP_FROM'],
    [{ TWILIO_WHATSAPP_FROM: '+14155238886' }, 'TWILIO_WHATSAPP_FROM must be whatsapp:+E164'],
    [{ WEBHOOK_URL: 'not a url' }, 'WEBHOOK_URL must be an http(s) URL'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV must be one of'],
    [{ DATABASE_POOL_MIN: '20', DATABASE_POOL_MAX: '5' }, 'DATABASE_POOL_MIN'],
    [{ ADMIN_EMAIL: 'admin' }, 'ADMIN_EMAIL must be an email address'],
    [{ TWILIO_MPS_BY_SENDER: '+14155238886=200' }, 'TWILIO_MPS_BY_SENDER must be sender=MPS pairs separated by commas, e.g. whatsapp:+14155238886=200 (got "+14155238886=200")'],
    [{ TWILIO_MPS_BY_SENDER: 'whatsapp:+14155238886' }, 'TWILIO_MPS_BY_SENDER must be sender=MPS pairs'],
    [{ TWILIO_MPS_BY_SENDER: 'whatsapp:+14155238886=fast' }, 'TWILIO_MPS_BY_SENDER rate of whatsapp:+14155238886 must be a whole number from 1 to 10000 (got "fast")'],
    [{ TWILIO_MPS_BY_SENDER: 'whatsapp:+14155238886=0' }, 'TWILIO_MPS_BY_SENDER rate of whatsapp:+14155238886 must be a whole number'],
    [{ TWILIO_MPS_BY_SENDER: 'whatsapp:+14155238886=2.5' }, 'TWILIO_MPS_BY_SENDER rate of whatsapp:+14155238886 must be a whole number'],
    [{ TWILIO_MPS_BY_SENDER: 'whatsapp:+14155238886=10001' }, 'must be a whole number from 1 to 10000'],
    [{ TWILIO_MPS_BY_SENDER: 'whatsapp:+14155238886=10,whatsapp:+14155238886=20' }, 'TWILIO_MPS_BY_SENDER names whatsapp:+14155238886 twice'],
    [{ TWILIO_MPS_BY_SENDER: 'whatsapp:+14155230000=200' }, 'TWILIO_MPS_BY_SENDER names whatsapp:+14155230000, which is not a configured sender'],
  ])('refuses %p with one line naming the variable', (env, expected) => {
    const message = errorOf(env as Record<string, string>);
    expect(message).toContain(expected);
    expect(message).not.toContain('\n');
  });

  it('holds each sender named in TWILIO_MPS_BY_SENDER to its own rate, the others to TWILIO_MPS', () => {
    const c = buildConfiguration({
      TWILIO_WHATSAPP_FROM: 'whatsapp:+14155238886, whatsapp:+14155238887, whatsapp:+14155238888',
      TWILIO_MPS: '40',
      TWILIO_MPS_BY_SENDER: ' whatsapp:+14155238886=200 , whatsapp:+14155238888 = 5 ',
    });
    expect(c.whatsapp.mps).toBe(40);
    expect(c.whatsapp.mpsBySender).toEqual({ 'whatsapp:+14155238886': 200, 'whatsapp:+14155238888': 5 });
    expect(buildConfiguration({}).whatsapp.mpsBySender).toEqual({});
  });

  it.each([
    [{ TWILIO_ACCOUNT_SID: undefined, TWILIO_AUTH_TOKEN: undefined }, 'TWILIO_ACCOUNT_SID'],
    [{ JWT_SECRET: undefined }, 'JWT_SECRET must be set and at least 32 bytes'],
    [{ JWT_SECRET: 'y'.repeat(31) }, 'JWT_SECRET must be set and at least 32 bytes'],
    [{ WEBHOOK_URL: 'http://api.example.com/api/v1/whatsapp/webhook' }, 'WEBHOOK_URL must be set to an https:// URL'],
    [{ STATUS_CALLBACK_URL: undefined }, 'STATUS_CALLBACK_URL must be set to an https:// URL'],
    [{ FORCE_TWILIO_VERIFY: 'false' }, 'FORCE_TWILIO_VERIFY must be true'],
    [{ JWT_SECRET: 'a'.repeat(32) }, 'JWT_SECRET is not random'],
    [{ JWT_SECRET: 'abab'.repeat(16) }, 'JWT_SECRET is not random'],
    [{ TWILIO_AUTH_TOKEN: 'x' }, 'TWILIO_AUTH_TOKEN must be a Twilio auth token: 32 hexadecimal characters'],
    [{ TWILIO_AUTH_TOKEN: 'sandbox-auth-token-0000000000000' }, "TWILIO_AUTH_TOKEN is the Twilio sandbox's token"],
    [{ TWILIO_AUTH_TOKEN_PREVIOUS: 'old' }, 'TWILIO_AUTH_TOKEN_PREVIOUS must be a Twilio auth token'],
    [{ ADMIN_PASSWORD: 'password' }, 'ADMIN_PASSWORD is too easy to guess'],
    [{ ADMIN_PASSWORD: 'Password123!' }, 'ADMIN_PASSWORD is too easy to guess'],
    [{ ADMIN_PASSWORD: 'aaaaaaaaaaaaaaaa' }, 'ADMIN_PASSWORD is too easy to guess'],
    [{ ADMIN_PASSWORD: 'short-Pw1' }, 'ADMIN_PASSWORD is too easy to guess'],
    [{ TWILIO_API_BASE_URL: 'http://api.twilio.example' }, 'TWILIO_API_BASE_URL must be an https:// URL'],
    [{ TWILIO_API_BASE_URL: 'http://10.0.0.5:4010' }, 'TWILIO_API_BASE_URL must be an https:// URL'],
    [{ TWILIO_API_BASE_URL: 'http://127.0.0.1.example.com' }, 'TWILIO_API_BASE_URL must be an https:// URL'],
  ])('refuses to start in production with %p', (override, expected) => {
    const message = errorOf({ ...PROD_OK, ...override });
    expect(message).toMatch(/^Refusing to start in production: /);
    expect(message).toContain(expected);
  });

  it('accepts strong secrets in production and weak ones outside it', () => {
    const c = buildConfiguration({ ...PROD_OK, ADMIN_PASSWORD: 'correct horse battery staple', TWILIO_API_BASE_URL: 'https://api.twilio.com' });
    expect(c.auth.adminPassword).toBe('correct horse battery staple');
    // Plain http that stays on the host (a local proxy, a sandbox beside the service) carries no credential over a network.
    for (const url of ['http://127.0.0.1:4010', 'http://localhost:8080', 'http://[::1]:4010']) {
      expect(buildConfiguration({ ...PROD_OK, TWILIO_API_BASE_URL: url }).twilio.apiBaseUrl).toBe(url);
    }
    expect(buildConfiguration({ JWT_SECRET: 'a'.repeat(32), ADMIN_PASSWORD: 'password', TWILIO_API_BASE_URL: 'http://127.0.0.1:4010' }).auth.jwtSecret).toBe('a'.repeat(32));
  });

  it('serves the API docs outside production, and in production only when API_DOCS=true', () => {
    expect(buildConfiguration({}).http.apiDocs).toBe(true);
    expect(buildConfiguration({ API_DOCS: 'false' }).http.apiDocs).toBe(false);
    expect(buildConfiguration(PROD_OK).http.apiDocs).toBe(false);
    expect(buildConfiguration({ ...PROD_OK, API_DOCS: 'true' }).http.apiDocs).toBe(true);
  });

  it('takes API-key credentials but still needs the auth token for webhook signatures', () => {
    const key = 'SK' + 'b'.repeat(32);
    expect(errorOf({ ...PROD_OK, TWILIO_AUTH_TOKEN: undefined, TWILIO_API_KEY: key, TWILIO_API_SECRET: 's' })).toContain('TWILIO_AUTH_TOKEN is required to verify webhook signatures');
    const c = buildConfiguration({ ...PROD_OK, TWILIO_API_KEY: key, TWILIO_API_SECRET: 's' });
    expect(c.twilio.credentials).toEqual({ kind: 'api-key', accountSid: SID, apiKey: key, apiSecret: 's', authToken: TOKEN });
    expect(errorOf({ ...PROD_OK, TWILIO_API_KEY: key })).toContain('TWILIO_API_SECRET is required');
  });

  it('accepts a messaging service instead of a sender, and several senders', () => {
    const mg = 'MG' + 'c'.repeat(32);
    expect(buildConfiguration({ ...PROD_OK, TWILIO_WHATSAPP_FROM: undefined, TWILIO_MESSAGING_SERVICE_SID: mg }).twilio.messagingServiceSid).toBe(mg);
    expect(buildConfiguration({ ...PROD_OK, TWILIO_WHATSAPP_FROM: 'whatsapp:+14155238886, whatsapp:+447911123456' }).twilio.whatsappFrom).toEqual([
      'whatsapp:+14155238886',
      'whatsapp:+447911123456',
    ]);
  });

  it('accepts previous auth tokens for rotation, current first', () => {
    const [old1, old2] = ['a'.repeat(32), 'b'.repeat(32)];
    const c = buildConfiguration({ ...PROD_OK, TWILIO_AUTH_TOKEN_PREVIOUS: `${old1}, ${old2}` });
    expect(c.twilio.webhookAuthTokens).toEqual([TOKEN, old1, old2]);
  });

  it('parses booleans and integers', () => {
    const c = buildConfiguration({ FORCE_TWILIO_VERIFY: 'false', WHATSAPP_WORKERS: '12', DATABASE_MIGRATIONS_RUN: '0' });
    expect(c.twilio.forceVerify).toBe(false);
    expect(c.whatsapp.workers).toBe(12);
    expect(c.database.migrationsRun).toBe(false);
  });

  it('takes HEAP_GROWTH_PERCENT from 0 (V8 decides) to 1000, 100 when unset', () => {
    expect(buildConfiguration({}).app.heapGrowthPercent).toBe(100);
    expect(buildConfiguration({ HEAP_GROWTH_PERCENT: '0' }).app.heapGrowthPercent).toBe(0);
    expect(buildConfiguration({ HEAP_GROWTH_PERCENT: '250' }).app.heapGrowthPercent).toBe(250);
    expect(errorOf({ HEAP_GROWTH_PERCENT: '-1' })).toContain('HEAP_GROWTH_PERCENT');
    expect(errorOf({ HEAP_GROWTH_PERCENT: '1001' })).toContain('HEAP_GROWTH_PERCENT');
    expect(errorOf({ HEAP_GROWTH_PERCENT: '50%' })).toContain('HEAP_GROWTH_PERCENT must be a whole number of percent');
  });

  it('takes IDEMPOTENCY_LEASE_MS from 1 s to 24 h, and leaves it to TWILIO_TIMEOUT_MS when unset', () => {
    expect(buildConfiguration({}).whatsapp.idempotencyLeaseMs).toBeUndefined();
    expect(buildConfiguration({ IDEMPOTENCY_LEASE_MS: '' }).whatsapp.idempotencyLeaseMs).toBeUndefined();
    expect(buildConfiguration({ IDEMPOTENCY_LEASE_MS: '15000' }).whatsapp.idempotencyLeaseMs).toBe(15000);
    expect(errorOf({ IDEMPOTENCY_LEASE_MS: '500' })).toContain('IDEMPOTENCY_LEASE_MS');
    expect(errorOf({ IDEMPOTENCY_LEASE_MS: '15s' })).toContain('IDEMPOTENCY_LEASE_MS must be an integer number of milliseconds');
  });

  it('takes QUEUE_LOCK_DURATION_MS for the job lock, 30 s by default', () => {
    expect(buildConfiguration({}).redis.jobLockMs).toBe(30_000);
    expect(buildConfiguration({ QUEUE_LOCK_DURATION_MS: '10000' }).redis.jobLockMs).toBe(10_000);
    expect(errorOf({ QUEUE_LOCK_DURATION_MS: '0' })).toContain('QUEUE_LOCK_DURATION_MS');
  });

  it('parses JWT durations', () => {
    expect(parseDurationSeconds('900')).toBe(900);
    expect(parseDurationSeconds('15m')).toBe(900);
    expect(parseDurationSeconds('1h')).toBe(3600);
    expect(parseDurationSeconds('7d')).toBe(604800);
  });

  describe('log files', () => {
    let checkout: string;
    let deployed: string;
    beforeAll(() => {
      checkout = mkdtempSync(join(tmpdir(), 'wa-checkout-'));
      mkdirSync(join(checkout, '.git'));
      deployed = mkdtempSync(join(tmpdir(), 'wa-deployed-'));
    });
    afterAll(() => {
      rmSync(checkout, { recursive: true, force: true });
      rmSync(deployed, { recursive: true, force: true });
    });

    it('go to logs/ in a git checkout by default, where the runbook looks', () => {
      expect(buildConfiguration({}, checkout).observability.logDir).toBe(join(checkout, 'logs'));
      expect(buildConfiguration(PROD_OK, checkout).observability.logDir).toBe(join(checkout, 'logs'));
    });

    it('stay on stdout only in a deployed copy without .git, in tests, and with LOG_DIR=off', () => {
      expect(buildConfiguration({}, deployed).observability.logDir).toBeUndefined();
      expect(buildConfiguration({ NODE_ENV: 'test' }, checkout).observability.logDir).toBeUndefined();
      expect(buildConfiguration({ LOG_DIR: 'off' }, checkout).observability.logDir).toBeUndefined();
    });

    it('go to LOG_DIR when set, relative to the working directory', () => {
      expect(buildConfiguration({ LOG_DIR: 'var/log' }, deployed).observability.logDir).toBe(join(deployed, 'var/log'));
      expect(buildConfiguration({ LOG_DIR: '/var/log/wa' }, deployed).observability.logDir).toBe('/var/log/wa');
    });

    it('rotate at LOG_MAX_SIZE (10 MiB by default), keeping LOG_MAX_FILES (5) older files', () => {
      expect(buildConfiguration({}, deployed).observability).toMatchObject({ logMaxBytes: 10 * 1024 * 1024, logMaxFiles: 5 });
      expect(buildConfiguration({ LOG_MAX_SIZE: '512k', LOG_MAX_FILES: '2' }, deployed).observability).toMatchObject({ logMaxBytes: 512 * 1024, logMaxFiles: 2 });
      expect(buildConfiguration({ LOG_MAX_SIZE: '1GB' }, deployed).observability.logMaxBytes).toBe(1024 ** 3);
      expect(buildConfiguration({ LOG_MAX_SIZE: '4096' }, deployed).observability.logMaxBytes).toBe(4096);
      expect(errorOf({ LOG_MAX_SIZE: 'ten megs' })).toBe('Invalid configuration: LOG_MAX_SIZE must be a size in bytes, or a number with k, m or g (e.g. 10m)');
      expect(errorOf({ LOG_MAX_SIZE: '0' })).toContain('LOG_MAX_SIZE must be a size above 0');
      expect(errorOf({ LOG_MAX_FILES: '0' })).toContain('LOG_MAX_FILES');
    });
  });
});
