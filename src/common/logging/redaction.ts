import type { AppConfig } from '../../config/configuration';

export const REDACTED = '[REDACTED]';

/**
 * Object paths pino censors (fast-redact syntax; `*` is one level). Covers the request headers
 * pino-http logs, bodies and objects passed to the logger, and axios-style error configs.
 */
export const REDACT_PATHS: string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-twilio-signature"]',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers["x-twilio-signature"]',
  '*.headers.authorization',
  '*.headers.Authorization',
  '*.headers["x-twilio-signature"]',
  ...['password', 'accessToken', 'token', 'authToken', 'apiSecret', 'jwt', 'jwtSecret', 'secret', 'metricsToken'].flatMap((key) => [
    key,
    `*.${key}`,
    `*.*.${key}`,
  ]),
];

const BEARER_RE = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
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

/** Censors bearer/basic credentials, JWTs and known secret values inside free text (log messages, error stacks). */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text.replace(BEARER_RE, `$1 ${REDACTED}`).replace(JWT_RE, REDACTED);
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
}
