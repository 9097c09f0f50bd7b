import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { join, resolve } from 'node:path';
import { AppRole, ConfigError, EnvironmentVariables, NodeEnv, validateEnvironment } from './env.validation';
import { DEFAULT_STATUS_CALLBACK_OVERRIDES, parseConnectionOverrides, withConnectionOverrides } from './connection-overrides';
import { assertProductionSecrets } from './production-secrets';

export interface AppSettings {
  nodeEnv: NodeEnv;
  role: AppRole;
  isProduction: boolean;
  host: string;
  port: number;
  logLevel: string;
  /** HEAP_GROWTH_PERCENT (limitHeapGrowth); 0: V8's own heuristics. */
  heapGrowthPercent: number;
}

export interface DatabaseSettings {
  url: string;
  poolMin: number;
  poolMax: number;
  migrationsRun: boolean;
}

export interface RedisNode {
  host: string;
  port: number;
}

/** One Redis, a master found through Sentinel, or a Cluster. */
export type RedisTopology =
  | { kind: 'standalone' }
  | { kind: 'sentinel'; sentinels: RedisNode[]; name: string; sentinelPassword?: string }
  | { kind: 'cluster'; nodes: RedisNode[] };

export interface RedisSettings {
  /** The server (standalone), or only the credentials, TLS (rediss://) and database of the others. */
  url: string;
  /**
   * Key prefix for every key the service writes, so several deployments (or test runs) can share
   * one Redis. In cluster mode it is a hash tag (`{bull}`): BullMQ's scripts touch several keys of a
   * queue at once, and a cluster runs a script only on keys of one slot.
   */
  prefix: string;
  topology: RedisTopology;
  /** How often each process checks that Redis still holds the queue's data (see RedisEpochWatch). */
  watchIntervalMs: number;
  /**
   * How long a worker's lock on a job lasts unrenewed (renewed at half of it), and how often the
   * workers look for jobs whose lock ran out (their process died): BullMQ's lockDuration and
   * stalledInterval, 30 s by default.
   */
  jobLockMs: number;
}

export interface AuthSettings {
  jwtSecret: string;
  /** True when the secret was generated for this process (non-production only). */
  jwtSecretGenerated: boolean;
  jwtExpiresInSeconds: number;
  jwtIssuer: string;
  jwtAudience: string;
  adminEmail: string;
  adminPassword?: string;
}

export type TwilioCredentials =
  | { kind: 'auth-token'; accountSid: string; authToken: string }
  | { kind: 'api-key'; accountSid: string; apiKey: string; apiSecret: string; authToken?: string };

export interface SandboxSettings {
  accountSid: string;
  authToken: string;
  port: number;
  statusDelayMs: number;
}

export interface TwilioSettings {
  /** True when no Twilio credentials are configured: the in-process sandbox stands in for Twilio. */
  useSandbox: boolean;
  credentials?: TwilioCredentials;
  /** Tokens accepted on webhook signatures, current first. */
  webhookAuthTokens: string[];
  /** Configured WhatsApp senders (`whatsapp:+E164`); the first is the default. */
  whatsappFrom: string[];
  messagingServiceSid?: string;
  apiBaseUrl?: string;
  timeoutMs: number;
  webhookUrl: string;
  /** The public status callback URL: what the signature guard checks against. */
  statusCallbackUrl: string;
  /** The StatusCallback given to Twilio: statusCallbackUrl with its connection overrides as the fragment. */
  statusCallbackTarget: string;
  forceVerify: boolean;
  sandbox: SandboxSettings;
}

export interface WhatsAppSettings {
  workers: number;
  maxAttempts: number;
  backoffMs: number;
  retryLaterMs: number;
  /** Per sender, across all processes, unless mpsBySender names the sender. */
  mps: number;
  /** Senders on a higher (or lower) Twilio throughput tier than TWILIO_MPS (TWILIO_MPS_BY_SENDER). */
  mpsBySender: Record<string, number>;
  enforceSessionWindow: boolean;
  reconcileAfterMs: number;
  reconcileIntervalMs: number;
  /** Delivered messages younger than this that never reported `read` are fetched again (0: never). */
  reconcileReadWindowMs: number;
  /** The Content API's template listing is listed again after this long (CONTENT_TEMPLATES_TTL_MS). */
  templatesTtlMs: number;
  /** The shortest lead time of a scheduled send (sendAt): 60 s unless a test shortens it. */
  scheduleMinLeadMs: number;
  /** IDEMPOTENCY_LEASE_MS; unset: derived from TWILIO_TIMEOUT_MS where the lease is provided. */
  idempotencyLeaseMs?: number;
}

export interface HttpSettings {
  rateLimitPerMinute: number;
  /** Fastify's trustProxy value. */
  trustProxy: boolean | number | string[];
  shutdownTimeoutMs: number;
  /** /docs and /docs-json are served. */
  apiDocs: boolean;
}

export interface ObservabilitySettings {
  /** Where app.log and error.log go; none: stdout only. */
  logDir?: string;
  /** app.log and error.log rotate at this size... */
  logMaxBytes: number;
  /** ...keeping this many older files of each. */
  logMaxFiles: number;
  metricsToken?: string;
  metricsPort?: number;
}

export interface OutboundWebhookSettings {
  /** Milliseconds before each attempt of a delivery: its length is the number of attempts. */
  retryScheduleMs: number[];
  timeoutMs: number;
  /** Consecutive failed attempts that disable a subscription (0: only an exhausted delivery does). */
  disableAfterFailures: number;
  /** Receivers on loopback, private or link-local addresses are allowed (never in production unless asked). */
  allowPrivateUrls: boolean;
  /** Receiver URLs must be https (production, unless private URLs are allowed: a local test receiver). */
  requireHttps: boolean;
  workers: number;
}

export interface AppConfig {
  app: AppSettings;
  database: DatabaseSettings;
  redis: RedisSettings;
  auth: AuthSettings;
  twilio: TwilioSettings;
  whatsapp: WhatsAppSettings;
  http: HttpSettings;
  observability: ObservabilitySettings;
  outboundWebhooks: OutboundWebhookSettings;
}

export const SANDBOX_DEFAULT_ACCOUNT_SID = 'AC00000000000000000000000000000000';
export const SANDBOX_DEFAULT_AUTH_TOKEN = 'sandbox-auth-token-0000000000000';
export const SANDBOX_DEFAULT_FROM = 'whatsapp:+14155238886';

/** The process answers the API, webhooks and docs (role api or all). */
export function servesApi(role: AppRole): boolean {
  return role !== AppRole.Worker;
}

/** The process runs the queue workers, the outbox relay and the periodic jobs (role worker or all). */
export function runsJobs(role: AppRole): boolean {
  return role !== AppRole.Api;
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

export function parseDurationSeconds(value: string): number {
  const m = /^(\d+)\s*([smhd]?)$/.exec(value.trim());
  if (!m) throw new ConfigError(`Invalid configuration: JWT_EXPIRES_IN must be seconds or a duration like 15m, 1h, 7d`);
  return Number(m[1]) * DURATION_UNITS[m[2] || 's'];
}

function parseSenders(raw: string | undefined): string[] {
  if (!raw) return [];
  const senders = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of senders) {
    if (!/^whatsapp:\+[1-9]\d{6,14}$/.test(s)) {
      throw new ConfigError(
        `Invalid configuration: TWILIO_WHATSAPP_FROM must be whatsapp:+E164 numbers separated by commas (got "${s}")`,
      );
    }
  }
  return senders;
}

const MAX_MPS = 10_000;

/** `whatsapp:+E164=MPS,...`: each sender at most once, each rate a whole number from 1 to 10,000. */
export function parseMpsBySender(raw: string | undefined): Record<string, number> {
  const bySender: Record<string, number> = {};
  if (!raw) return bySender;
  for (const entry of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(.+?)\s*=\s*(\S+)$/.exec(entry);
    const sender = m?.[1];
    if (!m || !sender || !/^(whatsapp:\+[1-9]\d{6,14}|MG[0-9a-fA-F]{32})$/.test(sender)) {
      throw new ConfigError(
        `Invalid configuration: TWILIO_MPS_BY_SENDER must be sender=MPS pairs separated by commas, e.g. whatsapp:+14155238886=200 (got "${entry}")`,
      );
    }
    const mps = /^\d+$/.test(m[2]) ? Number(m[2]) : NaN;
    if (!(mps >= 1 && mps <= MAX_MPS)) {
      throw new ConfigError(`Invalid configuration: TWILIO_MPS_BY_SENDER rate of ${sender} must be a whole number from 1 to ${MAX_MPS} (got "${m[2]}")`);
    }
    if (sender in bySender) throw new ConfigError(`Invalid configuration: TWILIO_MPS_BY_SENDER names ${sender} twice`);
    bySender[sender] = mps;
  }
  return bySender;
}

function parseNodes(name: string, raw: string): RedisNode[] {
  return raw.split(',').map((pair) => {
    const at = pair.trim().lastIndexOf(':');
    const host = pair.trim().slice(0, at).replace(/^\[(.*)\]$/, '$1');
    const port = Number(pair.trim().slice(at + 1));
    if (!host || port < 1 || port > 65535) throw new ConfigError(`Invalid configuration: ${name} must be host:port pairs separated by commas (got "${pair.trim()}")`);
    return { host, port };
  });
}

function redisSettings(env: EnvironmentVariables): RedisSettings {
  const url = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = env.REDIS_PREFIX ?? 'bull';
  const watchIntervalMs = env.REDIS_WATCH_INTERVAL_MS ?? 5000;
  const jobLockMs = env.QUEUE_LOCK_DURATION_MS ?? 30_000;
  if (env.REDIS_SENTINELS && env.REDIS_CLUSTER_NODES) {
    throw new ConfigError('Invalid configuration: REDIS_SENTINELS and REDIS_CLUSTER_NODES exclude each other (Sentinel or Cluster, not both)');
  }
  if (env.REDIS_SENTINELS) {
    if (!env.REDIS_SENTINEL_NAME) throw new ConfigError('Invalid configuration: REDIS_SENTINEL_NAME is required with REDIS_SENTINELS (the master name the sentinels monitor)');
    return {
      url,
      prefix,
      watchIntervalMs,
      jobLockMs,
      topology: { kind: 'sentinel', sentinels: parseNodes('REDIS_SENTINELS', env.REDIS_SENTINELS), name: env.REDIS_SENTINEL_NAME, sentinelPassword: env.REDIS_SENTINEL_PASSWORD },
    };
  }
  if (env.REDIS_SENTINEL_NAME) throw new ConfigError('Invalid configuration: REDIS_SENTINEL_NAME needs REDIS_SENTINELS');
  if (env.REDIS_CLUSTER_NODES) {
    return { url, prefix: `{${prefix}}`, watchIntervalMs, jobLockMs, topology: { kind: 'cluster', nodes: parseNodes('REDIS_CLUSTER_NODES', env.REDIS_CLUSTER_NODES) } };
  }
  return { url, prefix, watchIntervalMs, jobLockMs, topology: { kind: 'standalone' } };
}

function parseTrustProxy(raw: string | undefined): boolean | number | string[] {
  if (raw === undefined || /^(false|0|no|off)$/i.test(raw)) return false;
  if (/^(true|yes|on)$/i.test(raw)) return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  return raw.split(',').map((s) => s.trim()).filter(Boolean);
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

function parseSize(value: string): number {
  const m = /^(\d+)\s*([kmg]?)b?$/i.exec(value.trim());
  if (!m || Number(m[1]) === 0) throw new ConfigError('Invalid configuration: LOG_MAX_SIZE must be a size above 0, in bytes or with k, m or g (e.g. 10m)');
  return Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()];
}

/**
 * LOG_DIR, or `logs` in the working directory when the process runs from a git checkout (where
 * the runbook looks); a deployed copy without .git logs to stdout only unless LOG_DIR says
 * otherwise. Tests never write files unless asked.
 */
function resolveLogDir(raw: string | undefined, nodeEnv: NodeEnv, cwd: string): string | undefined {
  if (raw !== undefined) return /^(off|none|false)$/i.test(raw) ? undefined : resolve(cwd, raw);
  return nodeEnv !== NodeEnv.Test && existsSync(join(cwd, '.git')) ? join(cwd, 'logs') : undefined;
}

function isHttps(url: string): boolean {
  return url.toLowerCase().startsWith('https://');
}

function resolveCredentials(env: EnvironmentVariables): TwilioCredentials | undefined {
  const { TWILIO_ACCOUNT_SID: sid, TWILIO_AUTH_TOKEN: token, TWILIO_API_KEY: key, TWILIO_API_SECRET: secret } = env;
  if (!sid && !token && !key && !secret) return undefined;
  if (!sid) throw new ConfigError('Invalid configuration: TWILIO_ACCOUNT_SID is required when Twilio credentials are set');
  if (key || secret) {
    if (!key) throw new ConfigError('Invalid configuration: TWILIO_API_KEY is required with TWILIO_API_SECRET');
    if (!secret) throw new ConfigError('Invalid configuration: TWILIO_API_SECRET is required with TWILIO_API_KEY');
    return { kind: 'api-key', accountSid: sid, apiKey: key, apiSecret: secret, authToken: token };
  }
  if (!token) {
    throw new ConfigError('Invalid configuration: TWILIO_AUTH_TOKEN (or TWILIO_API_KEY + TWILIO_API_SECRET) is required with TWILIO_ACCOUNT_SID');
  }
  return { kind: 'auth-token', accountSid: sid, authToken: token };
}

/**
 * Builds the typed configuration from raw environment variables. Throws ConfigError with one
 * line naming the variable when a value is bad, missing, or unsafe for production.
 */
export function buildConfiguration(raw: Record<string, string | undefined>, cwd = process.cwd()): AppConfig {
  const env = validateEnvironment(raw);
  const nodeEnv = env.NODE_ENV ?? NodeEnv.Development;
  const isProduction = nodeEnv === NodeEnv.Production;
  const port = env.PORT ?? 3000;

  const credentials = resolveCredentials(env);
  if (isProduction && !credentials) {
    throw new ConfigError(
      'Refusing to start in production: TWILIO_ACCOUNT_SID with TWILIO_AUTH_TOKEN (or TWILIO_API_KEY + TWILIO_API_SECRET) is required; the sandbox never runs in production',
    );
  }
  const useSandbox = !credentials;
  const role = env.APP_ROLE ?? AppRole.All;
  // The in-process sandbox belongs to one process: an API and a worker would each start their own
  // (on one port), and a message sent by one would be unknown to the other's reconciliation.
  if (useSandbox && role !== AppRole.All) {
    throw new ConfigError(
      `Invalid configuration: APP_ROLE=${role} needs Twilio credentials shared by every process (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN; locally, a standalone sandbox: npm run sandbox, with TWILIO_API_BASE_URL); the built-in sandbox runs only with APP_ROLE=all`,
    );
  }

  const sandbox: SandboxSettings = {
    accountSid: env.SANDBOX_ACCOUNT_SID ?? SANDBOX_DEFAULT_ACCOUNT_SID,
    authToken: env.SANDBOX_AUTH_TOKEN ?? SANDBOX_DEFAULT_AUTH_TOKEN,
    port: env.SANDBOX_PORT ?? (nodeEnv === NodeEnv.Test ? 0 : 4010),
    statusDelayMs: env.SANDBOX_STATUS_DELAY_MS ?? 300,
  };

  let whatsappFrom = parseSenders(env.TWILIO_WHATSAPP_FROM);
  const messagingServiceSid = env.TWILIO_MESSAGING_SERVICE_SID;
  if (whatsappFrom.length === 0 && !messagingServiceSid) {
    if (!useSandbox) {
      throw new ConfigError('Invalid configuration: TWILIO_WHATSAPP_FROM (whatsapp:+E164) or TWILIO_MESSAGING_SERVICE_SID is required');
    }
    whatsappFrom = [SANDBOX_DEFAULT_FROM];
  }

  const mpsBySender = parseMpsBySender(env.TWILIO_MPS_BY_SENDER);
  const unknownSender = Object.keys(mpsBySender).find((s) => !whatsappFrom.includes(s) && s !== messagingServiceSid);
  if (unknownSender) {
    // A typo would otherwise leave the sender at TWILIO_MPS without a word.
    throw new ConfigError(`Invalid configuration: TWILIO_MPS_BY_SENDER names ${unknownSender}, which is not a configured sender (TWILIO_WHATSAPP_FROM or TWILIO_MESSAGING_SERVICE_SID)`);
  }

  // Webhook signatures are made with the account's auth token. With API-key credentials the
  // auth token is still needed to verify them.
  const currentToken = useSandbox ? sandbox.authToken : credentials?.authToken;
  if (!currentToken) {
    throw new ConfigError('Invalid configuration: TWILIO_AUTH_TOKEN is required to verify webhook signatures (also with API-key credentials)');
  }
  const previous = (env.TWILIO_AUTH_TOKEN_PREVIOUS ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  const webhookAuthTokens = [currentToken, ...previous.filter((t) => t !== currentToken)];

  const localBase = `http://localhost:${port}`;
  const webhookUrl = env.WEBHOOK_URL ?? `${localBase}/api/v1/whatsapp/webhook`;
  const statusCallbackUrl = env.STATUS_CALLBACK_URL ?? `${localBase}/api/v1/whatsapp/status`;
  const forceVerify = env.FORCE_TWILIO_VERIFY ?? true;
  if (statusCallbackUrl.includes('#')) {
    throw new ConfigError('Invalid configuration: STATUS_CALLBACK_URL must not have a #fragment; set connection overrides in STATUS_CALLBACK_CONNECTION_OVERRIDES');
  }
  const statusCallbackTarget = withConnectionOverrides(
    statusCallbackUrl,
    parseConnectionOverrides('STATUS_CALLBACK_CONNECTION_OVERRIDES', env.STATUS_CALLBACK_CONNECTION_OVERRIDES ?? DEFAULT_STATUS_CALLBACK_OVERRIDES),
  );

  if (isProduction) {
    if (!env.WEBHOOK_URL || !isHttps(env.WEBHOOK_URL)) {
      throw new ConfigError('Refusing to start in production: WEBHOOK_URL must be set to an https:// URL');
    }
    if (!env.STATUS_CALLBACK_URL || !isHttps(env.STATUS_CALLBACK_URL)) {
      throw new ConfigError('Refusing to start in production: STATUS_CALLBACK_URL must be set to an https:// URL');
    }
    if (!forceVerify) {
      throw new ConfigError('Refusing to start in production: FORCE_TWILIO_VERIFY must be true (webhook signatures are always checked)');
    }
  }

  let jwtSecret = env.JWT_SECRET;
  let jwtSecretGenerated = false;
  if (!jwtSecret || Buffer.byteLength(jwtSecret) < 32) {
    if (isProduction) {
      throw new ConfigError('Refusing to start in production: JWT_SECRET must be set and at least 32 bytes long');
    }
    if (jwtSecret) {
      throw new ConfigError('Invalid configuration: JWT_SECRET must be at least 32 bytes long (or unset outside production)');
    }
    jwtSecret = randomBytes(48).toString('base64url');
    jwtSecretGenerated = true;
  }

  if (isProduction) {
    assertProductionSecrets({
      jwtSecret,
      authTokens: [
        ...(currentToken ? [{ name: 'TWILIO_AUTH_TOKEN', value: currentToken }] : []),
        ...previous.map((value) => ({ name: 'TWILIO_AUTH_TOKEN_PREVIOUS', value })),
      ],
      sandboxAuthToken: sandbox.authToken,
      sandboxDefaultAuthToken: SANDBOX_DEFAULT_AUTH_TOKEN,
      adminPassword: env.ADMIN_PASSWORD,
      apiBaseUrl: env.TWILIO_API_BASE_URL,
    });
  }

  const poolMin = env.DATABASE_POOL_MIN ?? 2;
  const poolMax = env.DATABASE_POOL_MAX ?? 10;
  if (poolMin > poolMax) {
    throw new ConfigError('Invalid configuration: DATABASE_POOL_MIN must not be greater than DATABASE_POOL_MAX');
  }

  return {
    app: {
      nodeEnv,
      role,
      isProduction,
      host: env.HOST ?? '0.0.0.0',
      port,
      logLevel: env.LOG_LEVEL ?? (nodeEnv === NodeEnv.Test ? 'warn' : 'info'),
      // The old generation may grow to twice what the last full collection kept (limitHeapGrowth).
      heapGrowthPercent: env.HEAP_GROWTH_PERCENT ?? 100,
    },
    database: {
      url: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/whatsapp',
      poolMin,
      poolMax,
      migrationsRun: env.DATABASE_MIGRATIONS_RUN ?? true,
    },
    redis: redisSettings(env),
    auth: {
      jwtSecret,
      jwtSecretGenerated,
      jwtExpiresInSeconds: parseDurationSeconds(env.JWT_EXPIRES_IN ?? '1h'),
      jwtIssuer: env.JWT_ISSUER ?? 'whatsapp-service',
      jwtAudience: env.JWT_AUDIENCE ?? 'whatsapp-api',
      adminEmail: env.ADMIN_EMAIL ?? 'admin@example.com',
      adminPassword: env.ADMIN_PASSWORD,
    },
    twilio: {
      useSandbox,
      credentials,
      webhookAuthTokens,
      whatsappFrom,
      messagingServiceSid,
      apiBaseUrl: env.TWILIO_API_BASE_URL,
      timeoutMs: env.TWILIO_TIMEOUT_MS ?? 15000,
      webhookUrl,
      statusCallbackUrl,
      statusCallbackTarget,
      forceVerify,
      sandbox,
    },
    whatsapp: {
      workers: env.WHATSAPP_WORKERS ?? 50,
      maxAttempts: env.WHATSAPP_MAX_ATTEMPTS ?? 5,
      backoffMs: env.WHATSAPP_BACKOFF_MS ?? 2000,
      retryLaterMs: env.WHATSAPP_RETRY_LATER_MS ?? 15 * 60_000,
      mps: env.TWILIO_MPS ?? 80,
      mpsBySender,
      enforceSessionWindow: env.WHATSAPP_ENFORCE_SESSION_WINDOW ?? false,
      reconcileAfterMs: env.RECONCILE_AFTER_MS ?? 10 * 60_000,
      reconcileIntervalMs: env.RECONCILE_INTERVAL_MS ?? 60_000,
      reconcileReadWindowMs: env.RECONCILE_READ_WINDOW_MS ?? 24 * 60 * 60_000,
      templatesTtlMs: env.CONTENT_TEMPLATES_TTL_MS ?? 5 * 60_000,
      scheduleMinLeadMs: env.SCHEDULE_MIN_LEAD_MS ?? 60_000,
      idempotencyLeaseMs: env.IDEMPOTENCY_LEASE_MS,
    },
    http: {
      rateLimitPerMinute: env.API_RATE_LIMIT_PER_MINUTE ?? 600,
      trustProxy: parseTrustProxy(env.TRUST_PROXY),
      shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS ?? 25_000,
      // The document maps every route and parameter: published only where it is asked for in production.
      apiDocs: env.API_DOCS ?? !isProduction,
    },
    observability: {
      logDir: resolveLogDir(env.LOG_DIR, nodeEnv, cwd),
      logMaxBytes: parseSize(env.LOG_MAX_SIZE ?? '10m'),
      logMaxFiles: env.LOG_MAX_FILES ?? 5,
      metricsToken: env.METRICS_TOKEN,
      metricsPort: env.METRICS_PORT,
    },
    outboundWebhooks: {
      retryScheduleMs: parseRetrySchedule(env.WEBHOOK_RETRY_SCHEDULE_MS),
      timeoutMs: env.WEBHOOK_TIMEOUT_MS ?? 10_000,
      disableAfterFailures: env.WEBHOOK_DISABLE_AFTER_FAILURES ?? 0,
      allowPrivateUrls: env.WEBHOOK_ALLOW_PRIVATE_URLS ?? !isProduction,
      requireHttps: isProduction && !(env.WEBHOOK_ALLOW_PRIVATE_URLS ?? false),
      workers: env.WEBHOOK_WORKERS ?? 20,
    },
  };
}

/** The Standard Webhooks (Svix) schedule: at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: about 28 hours in all. */
export const DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS = [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

function parseRetrySchedule(raw: string | undefined): number[] {
  if (raw === undefined) return DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS;
  return raw.split(',').map((v) => Number(v.trim()));
}

/** Loads `.env` (when present) into the environment without overriding what is already set. */
export function loadDotEnv(path = resolve(process.cwd(), '.env'), env: NodeJS.ProcessEnv = process.env): void {
  if (!existsSync(path)) return;
  for (const [name, value] of Object.entries(parseEnv(readFileSync(path, 'utf8')))) {
    if (env[name] === undefined) env[name] = value;
  }
}

/** The configuration of this process, from its environment. */
export function configurationFromProcess(): AppConfig {
  return buildConfiguration(process.env);
}
