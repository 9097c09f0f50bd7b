import { ConfigError } from './env.validation';

/** Twilio's auth tokens (primary, secondary, previous) are 32 hexadecimal characters. */
const TWILIO_AUTH_TOKEN_RE = /^[0-9a-fA-F]{32}$/;
/** A random 32-byte secret in hex or base64 has well over this many different characters. */
const MIN_DISTINCT_SECRET_CHARACTERS = 10;
export const MIN_ADMIN_PASSWORD_LENGTH = 12;
/** Passwords a guesser tries first; compared case-insensitively, with digits and symbols stripped from the ends. */
const COMMON_PASSWORDS = new Set([
  'password', 'passw0rd', 'admin', 'administrator', 'changeme', 'letmein', 'welcome', 'qwerty', 'qwertyuiop',
  'secret', 'iloveyou', 'whatsapp', 'twilio', 'abc', 'abcdef', 'monkey', 'dragon', 'trustno', 'login', 'master',
]);

function refuse(message: string): never {
  throw new ConfigError(`Refusing to start in production: ${message}`);
}

function distinctCharacters(value: string): number {
  return new Set(value).size;
}

/** ADMIN_PASSWORD in production, and every password set over the users API. */
export function isWeakPassword(password: string): boolean {
  if (password.length < MIN_ADMIN_PASSWORD_LENGTH || distinctCharacters(password) < 5) return true;
  const core = password.toLowerCase().replace(/^[\d\W_]+|[\d\W_]+$/g, '');
  return core === '' || COMMON_PASSWORDS.has(core) || /^(0123456789|1234567890|123456789012)/.test(password);
}

export interface ProductionSecrets {
  jwtSecret?: string;
  authTokens: readonly { name: string; value: string }[];
  sandboxAuthToken: string;
  sandboxDefaultAuthToken: string;
  adminPassword?: string;
  apiBaseUrl?: string;
}

/**
 * Values that pass the type checks but would make a production deployment trivially attackable:
 * a JWT secret anyone can guess forges every token, a guessable auth token forges every webhook,
 * and plain http to the Twilio API sends the credentials in clear text.
 */
export function assertProductionSecrets(s: ProductionSecrets): void {
  if (s.jwtSecret !== undefined && distinctCharacters(s.jwtSecret) < MIN_DISTINCT_SECRET_CHARACTERS) {
    refuse(`JWT_SECRET is not random (fewer than ${MIN_DISTINCT_SECRET_CHARACTERS} different characters): generate one, e.g. openssl rand -base64 48`);
  }
  for (const { name, value } of s.authTokens) {
    if (value === s.sandboxDefaultAuthToken || value === s.sandboxAuthToken) {
      refuse(`${name} is the Twilio sandbox's token, which is published: set your account's auth token`);
    }
    if (!TWILIO_AUTH_TOKEN_RE.test(value)) {
      refuse(`${name} must be a Twilio auth token: 32 hexadecimal characters (Console > Account > API keys & tokens)`);
    }
  }
  if (s.adminPassword !== undefined && isWeakPassword(s.adminPassword)) {
    refuse(`ADMIN_PASSWORD is too easy to guess: use at least ${MIN_ADMIN_PASSWORD_LENGTH} characters that are not a common password`);
  }
  if (s.apiBaseUrl !== undefined && !s.apiBaseUrl.toLowerCase().startsWith('https://') && !isLoopbackHttp(s.apiBaseUrl)) {
    refuse('TWILIO_API_BASE_URL must be an https:// URL, or http:// to a loopback address (the credentials travel with every request)');
  }
}

/** Plain http that never leaves the host: a local TLS-terminating proxy, or a sandbox beside the service. */
function isLoopbackHttp(url: string): boolean {
  try {
    const { protocol, hostname } = new URL(url);
    return protocol === 'http:' && (hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname));
  } catch {
    return false;
  }
}
