/**
 * Twilio's webhook connection overrides: settings appended to a callback URL as a
 * fragment, e.g. `https://example.com/status#rc=3&rp=5xx,ct&rt=2000`
 * (https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides).
 * The fragment is never sent over HTTP; it only steers how Twilio calls.
 */
export enum RetryPolicy {
  ClientError = '4xx',
  ServerError = '5xx',
  ConnectTimeout = 'ct',
  ReadTimeout = 'rt',
  All = 'all',
}

export interface ConnectionOverrides {
  /** The URL to request: the configured one without its fragment. */
  requestUrl: string;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  totalTimeoutMs: number;
  retryCount: number;
  retryPolicies: RetryPolicy[];
}

/** Twilio's documented ranges; out-of-range values are clamped the way Twilio ignores them. */
const LIMITS = {
  connectTimeoutMs: { min: 100, max: 10_000, default: 5_000 },
  // Twilio waits up to 15s for an answer; the sandbox uses 5s by default so a
  // hanging test receiver costs seconds, not a quarter of a minute.
  readTimeoutMs: { min: 100, max: 15_000, default: 5_000 },
  totalTimeoutMs: { min: 100, max: 15_000, default: 15_000 },
  retryCount: { min: 0, max: 5, default: 1 },
} as const;

// Twilio retries once on a connect failure unless told otherwise.
const DEFAULT_RETRY_POLICIES: readonly RetryPolicy[] = [RetryPolicy.ConnectTimeout];

function clampedInteger(raw: string | null, limits: { min: number; max: number; default: number }): number {
  if (raw === null || raw.trim() === '' || !/^\d+$/.test(raw.trim())) {
    return limits.default;
  }
  return Math.min(limits.max, Math.max(limits.min, Number(raw)));
}

function parseRetryPolicies(raw: string | null): RetryPolicy[] {
  if (raw === null) {
    return [...DEFAULT_RETRY_POLICIES];
  }
  const known = new Set<string>(Object.values(RetryPolicy));
  const policies = raw
    .split(',')
    .map((part) => part.trim().toLowerCase())
    .filter((part): part is RetryPolicy => known.has(part));
  return policies.length > 0 ? policies : [...DEFAULT_RETRY_POLICIES];
}

export function parseConnectionOverrides(configuredUrl: string): ConnectionOverrides {
  const hashIndex = configuredUrl.indexOf('#');
  const requestUrl = hashIndex === -1 ? configuredUrl : configuredUrl.slice(0, hashIndex);
  const fragment = new URLSearchParams(hashIndex === -1 ? '' : configuredUrl.slice(hashIndex + 1));
  return {
    requestUrl,
    connectTimeoutMs: clampedInteger(fragment.get('ct'), LIMITS.connectTimeoutMs),
    readTimeoutMs: clampedInteger(fragment.get('rt'), LIMITS.readTimeoutMs),
    totalTimeoutMs: clampedInteger(fragment.get('tt'), LIMITS.totalTimeoutMs),
    retryCount: clampedInteger(fragment.get('rc'), LIMITS.retryCount),
    retryPolicies: parseRetryPolicies(fragment.get('rp')),
  };
}

export enum AttemptFailure {
  ConnectFailed = 'connect-failed',
  ReadTimeout = 'read-timeout',
  ClientError = 'http-4xx',
  ServerError = 'http-5xx',
  /** 1xx/3xx: not a success, and no retry policy names it. */
  UnexpectedStatus = 'http-unexpected',
}

export function failureForStatus(httpStatus: number): AttemptFailure | null {
  if (httpStatus >= 200 && httpStatus < 300) {
    return null;
  }
  if (httpStatus >= 400 && httpStatus < 500) {
    return AttemptFailure.ClientError;
  }
  if (httpStatus >= 500) {
    return AttemptFailure.ServerError;
  }
  return AttemptFailure.UnexpectedStatus;
}

export function shouldRetry(failure: AttemptFailure, policies: readonly RetryPolicy[]): boolean {
  if (policies.includes(RetryPolicy.All)) {
    return failure !== AttemptFailure.UnexpectedStatus;
  }
  switch (failure) {
    case AttemptFailure.ConnectFailed:
      return policies.includes(RetryPolicy.ConnectTimeout);
    case AttemptFailure.ReadTimeout:
      return policies.includes(RetryPolicy.ReadTimeout);
    case AttemptFailure.ClientError:
      return policies.includes(RetryPolicy.ClientError);
    case AttemptFailure.ServerError:
      return policies.includes(RetryPolicy.ServerError);
    default:
      return false;
  }
}
