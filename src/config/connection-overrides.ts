import { ConfigError } from './env.validation';

/**
 * Twilio's webhook connection overrides, appended to a callback URL as its fragment
 * (https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides), with the ranges
 * Twilio accepts. Twilio ignores an override it cannot use, so a typo would silently leave its
 * defaults in place (one try, retried only on a connect failure): refused at boot instead.
 */
const INTEGER_OVERRIDES: Record<string, { min: number; max: number; what: string }> = {
  ct: { min: 100, max: 10_000, what: 'connect timeout in ms' },
  rt: { min: 100, max: 15_000, what: 'read timeout in ms' },
  tt: { min: 100, max: 15_000, what: 'total time for all tries in ms' },
  rc: { min: 0, max: 5, what: 'retry count' },
};
const RETRY_POLICIES = ['4xx', '5xx', 'ct', 'rt', 'all'];

/** Retries a lost or failed callback (connect or read timeout, a 5xx) up to 3 times; a 4xx answer is final. */
export const DEFAULT_STATUS_CALLBACK_OVERRIDES = 'rc=3&rp=ct,rt,5xx';
/** Turns the overrides off: Twilio's defaults apply. */
export const NO_OVERRIDES = 'none';

/** Checks a fragment such as `rc=3&rp=ct,rt,5xx` (a leading `#` is allowed); '' for `none`. */
export function parseConnectionOverrides(variable: string, raw: string): string {
  const value = raw.trim().replace(/^#/, '');
  if (value.toLowerCase() === NO_OVERRIDES) return '';
  const fail = (why: string) => new ConfigError(`Invalid configuration: ${variable} ${why} (e.g. ${DEFAULT_STATUS_CALLBACK_OVERRIDES}, or ${NO_OVERRIDES})`);
  if (value === '') throw fail('is empty');
  const seen = new Set<string>();
  for (const pair of value.split('&')) {
    const [key, setting, ...rest] = pair.split('=');
    if (setting === undefined || rest.length > 0 || setting === '') throw fail(`has "${pair}", not key=value`);
    if (seen.has(key)) throw fail(`sets ${key} twice`);
    seen.add(key);
    const range = INTEGER_OVERRIDES[key];
    if (range) {
      const n = /^\d+$/.test(setting) ? Number(setting) : NaN;
      if (!(n >= range.min && n <= range.max)) throw fail(`${key} (${range.what}) must be an integer from ${range.min} to ${range.max}`);
    } else if (key === 'rp') {
      const unknown = setting.split(',').filter((p) => !RETRY_POLICIES.includes(p));
      if (unknown.length > 0) throw fail(`rp must list retry policies among ${RETRY_POLICIES.join(', ')}, not ${unknown.join(', ')}`);
    } else {
      throw fail(`has unknown override "${key}"; supported: ${[...Object.keys(INTEGER_OVERRIDES), 'rp'].join(', ')}`);
    }
  }
  return value;
}

/** The URL to give Twilio: the public URL with the overrides as its fragment. */
export function withConnectionOverrides(url: string, overrides: string): string {
  return overrides ? `${url}#${overrides}` : url;
}
