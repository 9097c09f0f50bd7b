import type { AppConfig } from '../../config/configuration';
import { truncateForLog } from './log-sampler';

const MAX_LOGGED_URL = 512;
const MAX_LOGGED_QUERY_KEYS = 20;
const MAX_LOGGED_QUERY_VALUE = 128;

export const REDACTED = '[REDACTED]';

/**
 * Object paths pino censors (fast-redact syntax; `*` is one level). Covers the request headers
 * the access line logs, bodies and objects passed to the logger, and axios-style error configs.
 */
export const REDACT_PATHS: string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-twilio-signature"]',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers["x-twilio-signature"]',
  'headers["x-api-key"]',
  '*.headers.authorization',
  '*.headers.Authorization',
  '*.headers["x-twilio-signature"]',
  '*.headers["x-api-key"]',
  '*.headers["X-API-Key"]',
  ...['password', 'generatedPassword', 'apiKey', 'accessToken', 'token', 'authToken', 'apiSecret', 'jwt', 'jwtSecret', 'secret', 'metricsToken'].flatMap((key) => [
    key,
    `*.${key}`,
    `*.*.${key}`,
  ]),
];

const BEARER_RE = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
/** Query parameters some clients put credentials in (`?access_token=...`): their values are censored. */
const QUERY_SECRET_KEYS = ['access_token', 'token', 'api_key', 'apikey', 'x-api-key', 'password', 'secret', 'auth', 'authorization', 'signature', 'jwt'];
const QUERY_SECRET_RE = new RegExp(`([?&](?:${QUERY_SECRET_KEYS.join('|')})=)[^&#\\s"']*`, 'gi');
/** API keys (api-key-credential.ts) wherever they appear: a header echoed in an error, a pasted curl line. */
const API_KEY_RE = /\bwsk_[A-Za-z0-9_-]{8,}/g;
const JWT_RE = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+/g;
/** Shorter values are too likely to match ordinary text. */
const MIN_SECRET_LENGTH = 8;

/** The configured secrets, so a message that quotes one by accident still does not leak it. */
export function configuredSecrets(config: AppConfig): string[] {
  const creds = config.twilio.credentials;
  const values = [
    config.auth.jwtSecret,
    config.auth.adminPassword,
    config.observability.metricsToken,
    ...config.twilio.webhookAuthTokens,
    creds?.authToken,
    creds?.kind === 'api-key' ? creds.apiSecret : undefined,
  ];
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v.length >= MIN_SECRET_LENGTH))];
}

/** Censors bearer/basic credentials, JWTs, API keys, credentials in query strings and known secret values inside free text (log messages, URLs, error stacks). */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text.replace(BEARER_RE, `$1 ${REDACTED}`).replace(JWT_RE, REDACTED).replace(API_KEY_RE, REDACTED).replace(QUERY_SECRET_RE, `$1${REDACTED}`);
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
}

/**
 * The request as an access line logs it (pino-std-serializers' shape, as pino-http logged it): the URL and the
 * parsed query lose the credentials a client put in the query string.
 */
export function scrubLoggedRequest<T extends { url?: unknown; query?: unknown }>(req: T, secrets: readonly string[]): T {
  if (!req || typeof req !== 'object') return req;
  const out: T = { ...req };
  // Bounded too: a 15 KB query string would otherwise be logged twice per request, unthrottled.
  if (typeof req.url === 'string') out.url = truncateForLog(scrubSecrets(req.url, secrets), MAX_LOGGED_URL);
  if (req.query && typeof req.query === 'object') {
    const entries = Object.entries(req.query as Record<string, unknown>);
    out.query = Object.fromEntries(
      entries
        .slice(0, MAX_LOGGED_QUERY_KEYS)
        .map(([k, v]) => [
          truncateForLog(k, MAX_LOGGED_QUERY_VALUE),
          QUERY_SECRET_KEYS.includes(k.toLowerCase()) ? REDACTED : typeof v === 'string' ? truncateForLog(v, MAX_LOGGED_QUERY_VALUE) : v,
        ]),
    );
    if (entries.length > MAX_LOGGED_QUERY_KEYS) (out.query as Record<string, unknown>)['…'] = `${entries.length - MAX_LOGGED_QUERY_KEYS} more`;
  }
  return out;
}
