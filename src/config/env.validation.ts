import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsEmail,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
  ValidationError,
} from 'class-validator';

export enum NodeEnv {
  Development = 'development',
  Test = 'test',
  Production = 'production',
}

/** Which parts of the service one process runs (README, "Running at scale"). */
export enum AppRole {
  /** HTTP API, webhooks, docs, /metrics and probes: stores messages and writes the outbox, never relays it. */
  Api = 'api',
  /** Send and retry jobs, the outbox relay, reconciliation, the rollup aggregator; probes only over HTTP. */
  Worker = 'worker',
  /** Both, in one process: `npm start` alone is a whole service. */
  All = 'all',
}

/** Thrown for any configuration problem; its message is the single line printed at boot. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const toBool = ({ value }: { value: unknown }): unknown => {
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'boolean') return value;
  const v = String(value).trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return value; // left as a string so IsBoolean reports it
};

const toInt = ({ value }: { value: unknown }): unknown => {
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'number') return value;
  return /^-?\d+$/.test(String(value).trim()) ? Number(String(value).trim()) : value;
};

const trimmed = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim();
  return v === '' ? undefined : v;
};

const HOST_PORT_LIST_RE = /^\s*[A-Za-z0-9.\-\[\]:]+:\d{1,5}\s*(,\s*[A-Za-z0-9.\-\[\]:]+:\d{1,5}\s*)*$/;
const URL_RE = /^https?:\/\/[^\s/$.?#][^\s]*$/i;
// JWT_EXPIRES_IN: seconds, or a number with s/m/h/d.
const DURATION_RE = /^\d+\s*[smhd]?$/;

/**
 * Every environment variable the service reads. Names match the variables exactly so that
 * a validation failure can name the variable the operator has to fix.
 */
export class EnvironmentVariables {
  @IsOptional() @Transform(trimmed) @IsIn(Object.values(NodeEnv), { message: 'must be one of development, test, production' })
  NODE_ENV?: NodeEnv;

  @IsOptional() @Transform(trimmed) @IsIn(Object.values(AppRole), { message: 'must be one of api, worker, all' })
  APP_ROLE?: AppRole;

  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer port number' }) @Min(0) @Max(65535)
  PORT?: number;

  @IsOptional() @Transform(trimmed) @IsString()
  HOST?: string;

  @IsOptional() @Transform(trimmed) @Matches(/^postgres(ql)?:\/\/.+/, { message: 'must be a postgres:// connection URL' })
  DATABASE_URL?: string;

  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer' }) @Min(0) @Max(1000)
  DATABASE_POOL_MIN?: number;

  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer' }) @Min(1) @Max(1000)
  DATABASE_POOL_MAX?: number;

  @IsOptional() @Transform(toBool) @IsBoolean({ message: 'must be true or false' })
  DATABASE_MIGRATIONS_RUN?: boolean;

  @IsOptional() @Transform(trimmed) @Matches(/^rediss?:\/\/.+/, { message: 'must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  @IsOptional() @Transform(trimmed) @Matches(/^[A-Za-z0-9_:.-]{1,64}$/, { message: 'must be 1-64 letters, digits or _:.-' })
  REDIS_PREFIX?: string;

  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer number of milliseconds' }) @Min(100) @Max(60000)
  REDIS_WATCH_INTERVAL_MS?: number;

  /** BullMQ's lockDuration and stalledInterval: a job whose process died runs again within about twice this. */
  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer number of milliseconds' }) @Min(1000) @Max(600000)
  QUEUE_LOCK_DURATION_MS?: number;

  /** Redis Sentinel: the sentinels to ask for the master, host:port comma-separated (REDIS_URL then gives only credentials, TLS and db). */
  @IsOptional() @Transform(trimmed) @Matches(HOST_PORT_LIST_RE, { message: 'must be host:port pairs separated by commas' })
  REDIS_SENTINELS?: string;

  /** The master's name as the sentinels know it (their `sentinel monitor <name> ...`). */
  @IsOptional() @Transform(trimmed) @Matches(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'must be the master name the sentinels monitor (letters, digits, _.-)' })
  REDIS_SENTINEL_NAME?: string;

  @IsOptional() @Transform(trimmed) @IsString()
  REDIS_SENTINEL_PASSWORD?: string;

  /** Redis Cluster: seed nodes, host:port comma-separated (REDIS_URL then gives only credentials and TLS). */
  @IsOptional() @Transform(trimmed) @Matches(HOST_PORT_LIST_RE, { message: 'must be host:port pairs separated by commas' })
  REDIS_CLUSTER_NODES?: string;

  @IsOptional() @Transform(trimmed) @IsString()
  JWT_SECRET?: string;

  @IsOptional() @Transform(trimmed) @Matches(DURATION_RE, { message: 'must be seconds or a duration like 15m, 1h, 7d' })
  JWT_EXPIRES_IN?: string;

  @IsOptional() @Transform(trimmed) @IsString()
  JWT_ISSUER?: string;

  @IsOptional() @Transform(trimmed) @IsString()
  JWT_AUDIENCE?: string;

  @IsOptional() @Transform(trimmed) @IsEmail({}, { message: 'must be an email address' })
  ADMIN_EMAIL?: string;

  @IsOptional() @Transform(trimmed) @IsString() @MinLength(8, { message: 'must be at least 8 characters' })
  ADMIN_PASSWORD?: string;

  @IsOptional() @Transform(trimmed) @Matches(/^AC[0-9a-fA-F]{32}$/, { message: 'must be an account SID: AC followed by 32 hex characters' })
  TWILIO_ACCOUNT_SID?: string;

  @IsOptional() @Transform(trimmed) @IsString()
  TWILIO_AUTH_TOKEN?: string;

  /** Comma-separated list of earlier auth tokens still accepted on webhooks during a rotation. */
  @IsOptional() @Transform(trimmed) @IsString()
  TWILIO_AUTH_TOKEN_PREVIOUS?: string;

  @IsOptional() @Transform(trimmed) @Matches(/^SK[0-9a-fA-F]{32}$/, { message: 'must be an API key SID: SK followed by 32 hex characters' })
  TWILIO_API_KEY?: string;

  @IsOptional() @Transform(trimmed) @IsString()
  TWILIO_API_SECRET?: string;

  @IsOptional() @Transform(trimmed) @IsString()
  TWILIO_WHATSAPP_FROM?: string;

  @IsOptional() @Transform(trimmed) @Matches(/^MG[0-9a-fA-F]{32}$/, { message: 'must be a messaging service SID: MG followed by 32 hex characters' })
  TWILIO_MESSAGING_SERVICE_SID?: string;

  @IsOptional() @Transform(trimmed) @Matches(URL_RE, { message: 'must be an http(s) URL' })
  TWILIO_API_BASE_URL?: string;

  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer number of milliseconds' }) @Min(1000) @Max(120000)
  TWILIO_TIMEOUT_MS?: number;

  @IsOptional() @Transform(trimmed) @Matches(URL_RE, { message: 'must be an http(s) URL' })
  WEBHOOK_URL?: string;

  @IsOptional() @Transform(trimmed) @Matches(URL_RE, { message: 'must be an http(s) URL' })
  STATUS_CALLBACK_URL?: string;

  /** Connection overrides Twilio applies to status callbacks (checked in connection-overrides.ts). */
  @IsOptional() @Transform(trimmed) @IsString()
  STATUS_CALLBACK_CONNECTION_OVERRIDES?: string;

  @IsOptional() @Transform(toBool) @IsBoolean({ message: 'must be true or false' })
  FORCE_TWILIO_VERIFY?: boolean;

  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer' }) @Min(1) @Max(500)
  WHATSAPP_WORKERS?: number;

  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer' }) @Min(1) @Max(50)
  WHATSAPP_MAX_ATTEMPTS?: number;

  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer number of milliseconds' }) @Min(10) @Max(3600000)
  WHATSAPP_BACKOFF_MS?: number;

  /** Messages per second per WhatsApp sender, across all workers and processes (Twilio's default is 80). */
  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer' }) @Min(1) @Max(10000)
  TWILIO_MPS?: number;

  /** Per-sender exceptions to TWILIO_MPS: `whatsapp:+E164=MPS` pairs separated by commas (checked in configuration.ts). */
  @IsOptional() @Transform(trimmed) @IsString()
  TWILIO_MPS_BY_SENDER?: string;

  @IsOptional() @Transform(toBool) @IsBoolean({ message: 'must be true or false' })
  WHATSAPP_ENFORCE_SESSION_WINDOW?: boolean;

  /** Wait before the single later retry of "retry once later" failures (30003). */
  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer number of milliseconds' }) @Min(10) @Max(86400000)
  WHATSAPP_RETRY_LATER_MS?: number;

  /** A message short of a final status for longer than this is fetched from Twilio. */
  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer number of milliseconds' }) @Min(1000) @Max(604800000)
  RECONCILE_AFTER_MS?: number;

  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer number of milliseconds' }) @Min(1000) @Max(86400000)
  RECONCILE_INTERVAL_MS?: number;

  /** Delivered messages this recent that never reported `read` are fetched again; 0 turns it off. */
  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer number of milliseconds' }) @Min(0) @Max(604800000)
  RECONCILE_READ_WINDOW_MS?: number;

  /** How long the Content API's template listing is trusted before it is listed again. */
  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer number of milliseconds' }) @Min(1000) @Max(86400000)
  CONTENT_TEMPLATES_TTL_MS?: number;
  /** Shortest lead time of a scheduled send (sendAt); the API documents 60 s, tests shorten it. */
  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer number of milliseconds' }) @Min(1000) @Max(3600000)
  SCHEDULE_MIN_LEAD_MS?: number;
  /**
   * How long a request holding an Idempotency-Key counts as running; a retry takes over a claim
   * older than this that stored no message. Unset: the longer of 60 s and two Twilio calls + 30 s.
   */
  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer number of milliseconds' }) @Min(1000) @Max(86400000)
  IDEMPOTENCY_LEASE_MS?: number;

  /** Requests per minute per API user (or per IP before login); webhooks and probes are exempt. */
  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer' }) @Min(1) @Max(1000000)
  API_RATE_LIMIT_PER_MINUTE?: number;

  /** Fastify trustProxy: false, true, a hop count, or a comma-separated list of proxy addresses/CIDRs. */
  @IsOptional() @Transform(trimmed) @IsString()
  TRUST_PROXY?: string;

  /** Serve the OpenAPI document and Swagger UI at /docs and /docs-json (default: not in production). */
  @IsOptional() @Transform(toBool) @IsBoolean({ message: 'must be true or false' })
  API_DOCS?: boolean;

  /** Directory for app.log and error.log (in addition to stdout); `off` for stdout only. */
  @IsOptional() @Transform(trimmed) @IsString()
  LOG_DIR?: string;

  /** Size at which app.log and error.log rotate: bytes, or a number with k, m or g. */
  @IsOptional() @Transform(trimmed) @Matches(/^\d+\s*[kmg]?b?$/i, { message: 'must be a size in bytes, or a number with k, m or g (e.g. 10m)' })
  LOG_MAX_SIZE?: string;

  /** Rotated files kept of each log (app.log.1 ... app.log.N). */
  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer' }) @Min(1) @Max(100)
  LOG_MAX_FILES?: number;

  /** Bearer token that /metrics requires. Unset: /metrics needs an admin's JWT. */
  @IsOptional() @Transform(trimmed) @IsString() @MinLength(16, { message: 'must be at least 16 characters' })
  METRICS_TOKEN?: string;

  /** Serve /metrics on this separate port (e.g. only reachable inside the cluster) instead of the API port. */
  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer port number' }) @Min(1) @Max(65535)
  METRICS_PORT?: number;

  /** How far the heap may grow past what the last full collection kept, in percent; 0: V8's own choice. */
  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be a whole number of percent (0: V8 decides)' }) @Min(0) @Max(1000)
  HEAP_GROWTH_PERCENT?: number;

  /** How long a graceful shutdown waits for in-flight requests and jobs. */
  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer number of milliseconds' }) @Min(0) @Max(600000)
  SHUTDOWN_TIMEOUT_MS?: number;

  /** Outbound webhooks: milliseconds before each attempt of a delivery, comma-separated (the first is usually 0). */
  @IsOptional() @Transform(trimmed) @Matches(/^\s*\d{1,9}\s*(,\s*\d{1,9}\s*){0,29}$/, { message: 'must be 1 to 30 whole numbers of milliseconds separated by commas' })
  WEBHOOK_RETRY_SCHEDULE_MS?: string;

  /** Outbound webhooks: how long one delivery attempt waits for the receiver's answer. */
  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer number of milliseconds' }) @Min(100) @Max(60000)
  WEBHOOK_TIMEOUT_MS?: number;

  /** Outbound webhooks: consecutive failed attempts (no success between) that disable a subscription; 0: only an exhausted delivery does. */
  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer' }) @Min(0) @Max(100000)
  WEBHOOK_DISABLE_AFTER_FAILURES?: number;

  /** Outbound webhooks: allow loopback, private and link-local receiver addresses and plain http (default: outside production only). */
  @IsOptional() @Transform(toBool) @IsBoolean({ message: 'must be true or false' })
  WEBHOOK_ALLOW_PRIVATE_URLS?: boolean;

  /** Outbound webhooks: deliveries attempted at once per worker process. */
  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer' }) @Min(1) @Max(500)
  WEBHOOK_WORKERS?: number;

  @IsOptional() @Transform(trimmed) @Matches(/^AC[0-9a-fA-F]{32}$/, { message: 'must be AC followed by 32 hex characters' })
  SANDBOX_ACCOUNT_SID?: string;

  @IsOptional() @Transform(trimmed) @IsString() @MinLength(8, { message: 'must be at least 8 characters' })
  SANDBOX_AUTH_TOKEN?: string;

  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer port number (0 picks a free one)' }) @Min(0) @Max(65535)
  SANDBOX_PORT?: number;

  @IsOptional() @Transform(toInt) @IsInt({ message: 'must be an integer number of milliseconds' }) @Min(0) @Max(600000)
  SANDBOX_STATUS_DELAY_MS?: number;

  @IsOptional() @Transform(trimmed) @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    message: 'must be one of fatal, error, warn, info, debug, trace, silent',
  })
  LOG_LEVEL?: string;
}

const TYPE_CONSTRAINTS = ['isInt', 'isBoolean', 'matches', 'isIn', 'isEmail', 'isString'];

function firstMessage(error: ValidationError): string {
  if (error.constraints) {
    // The type check says the most ("must be an integer" rather than "must not be greater than").
    const keys = Object.keys(error.constraints);
    const key = TYPE_CONSTRAINTS.find((k) => keys.includes(k)) ?? keys[0];
    const msg = error.constraints[key];
    // class-validator prefixes some messages with the property name; keep one copy of it.
    return msg.startsWith(`${error.property} `) ? msg.slice(error.property.length + 1) : msg;
  }
  const child = error.children?.[0];
  return child ? firstMessage(child) : 'is invalid';
}

export function validateEnvironment(env: Record<string, unknown>): EnvironmentVariables {
  const instance = plainToInstance(EnvironmentVariables, env, { exposeDefaultValues: true });
  const errors = validateSync(instance, { skipMissingProperties: false, whitelist: false });
  if (errors.length > 0) {
    const e = errors[0];
    throw new ConfigError(`Invalid configuration: ${e.property} ${firstMessage(e)}`);
  }
  return instance;
}
