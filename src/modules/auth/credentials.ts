import { createHash, randomBytes } from 'node:crypto';

export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const m = value ? /^Bearer\s+(\S+)\s*$/i.exec(value) : null;
  return m?.[1];
}

export const API_KEY_PREFIX = 'wsk_';
/** 32 random bytes in base64url: 43 characters. */
const API_KEY_RE = /^wsk_[A-Za-z0-9_-]{43}$/;
const RECOGNITION_PREFIX_LENGTH = API_KEY_PREFIX.length + 6;

export interface NewApiKeySecret {
  key: string;
  secretHash: string;
  prefix: string;
  lastFour: string;
}

export function generateApiKey(): NewApiKeySecret {
  const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { key, secretHash: hashApiKey(key), prefix: key.slice(0, RECOGNITION_PREFIX_LENGTH), lastFour: key.slice(-4) };
}

export function isWellFormedApiKey(value: string): boolean {
  return API_KEY_RE.test(value);
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * The API key a request presents, if any: `X-API-Key: wsk_...` first, else
 * `Authorization: Bearer wsk_...`. Anything in X-API-Key counts as a key (a malformed one is
 * refused, not ignored); a bearer value that does not start with `wsk_` is a JWT for passport.
 * The auth guard and the throttler both decide with this, so they agree on who is asking.
 */
export function apiKeyFromHeaders(headers: Record<string, string | string[] | undefined> | undefined): string | undefined {
  const header = headers?.['x-api-key'];
  const explicit = Array.isArray(header) ? header[0] : header;
  if (explicit !== undefined) return explicit.trim();
  const bearer = bearerToken(headers?.authorization);
  return bearer?.startsWith(API_KEY_PREFIX) ? bearer : undefined;
}
