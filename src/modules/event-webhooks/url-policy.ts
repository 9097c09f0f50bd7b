import { lookup as dnsLookup, LookupAddress } from 'node:dns';
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export interface UrlPolicy {
  /** Loopback, private, link-local and other non-public receivers are allowed (development, tests). */
  allowPrivate: boolean;
  requireHttps: boolean;
}

export enum UrlRefusal {
  /** Not an absolute http(s) URL, or a name that does not resolve. */
  Invalid = 'invalid',
  /** A receiver the policy does not allow (SSRF) or plain http where https is required. */
  Forbidden = 'forbidden',
}

export class WebhookUrlError extends Error {
  constructor(
    readonly refusal: UrlRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'WebhookUrlError';
  }
}

export const MAX_URL_LENGTH = 2048;

/**
 * Whether an address must not be a webhook receiver when private receivers are refused: anything
 * but public unicast (loopback, RFC 1918, link-local with the cloud metadata service, CGNAT,
 * unique-local IPv6, multicast, unspecified, reserved, and IPv6 forms that embed an IPv4 address).
 */
export function isForbiddenAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return true;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed.range() !== 'unicast';
}

/** The URL's host as an address when it is a literal IP ([::1] -> ::1), else null. */
function literalAddress(url: URL): string | null {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return isIP(host) ? host : null;
}

/** Checks the form of a receiver URL (no network): absolute http(s), and https where required. */
export function parseReceiverUrl(raw: string, policy: UrlPolicy): URL {
  if (raw.length > MAX_URL_LENGTH) throw new WebhookUrlError(UrlRefusal.Invalid, `url must be at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookUrlError(UrlRefusal.Invalid, 'url must be an absolute http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new WebhookUrlError(UrlRefusal.Invalid, 'url must be an absolute http(s) URL');
  if (!url.hostname) throw new WebhookUrlError(UrlRefusal.Invalid, 'url must name a host');
  if (url.username || url.password) throw new WebhookUrlError(UrlRefusal.Invalid, 'url must not contain credentials');
  if (policy.requireHttps && url.protocol !== 'https:') throw new WebhookUrlError(UrlRefusal.Forbidden, 'url must be https');
  if (!policy.allowPrivate) {
    const literal = literalAddress(url);
    if (literal && isForbiddenAddress(literal)) throw new WebhookUrlError(UrlRefusal.Forbidden, `url points to a private, loopback or reserved address (${literal})`);
    if (/(^|\.)localhost\.?$/i.test(url.hostname)) throw new WebhookUrlError(UrlRefusal.Forbidden, 'url points to localhost');
  }
  return url;
}

/** parseReceiverUrl, then (when private receivers are refused) every address the name resolves to. */
export async function checkReceiverUrl(raw: string, policy: UrlPolicy): Promise<URL> {
  const url = parseReceiverUrl(raw, policy);
  if (policy.allowPrivate || literalAddress(url)) return url;
  let addresses: LookupAddress[];
  try {
    addresses = await dns.lookup(url.hostname, { all: true, verbatim: true });
  } catch (err) {
    throw new WebhookUrlError(UrlRefusal.Invalid, `url host ${url.hostname} does not resolve (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const forbidden = addresses.find((a) => isForbiddenAddress(a.address));
  if (forbidden) throw new WebhookUrlError(UrlRefusal.Forbidden, `url host ${url.hostname} resolves to a private, loopback or reserved address (${forbidden.address})`);
  return url;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http.request that refuses names resolving to forbidden addresses. The connection
 * goes to the very address checked here, so a name re-pointed between check and connect (DNS
 * rebinding) gains nothing. Literal IP hosts never reach a lookup: check them with parseReceiverUrl.
 */
export function guardedLookup(hostname: string, options: { all?: boolean; family?: number | string }, callback: LookupCallback): void {
  dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => {
    if (err) return callback(err, '');
    const forbidden = addresses.find((a) => isForbiddenAddress(a.address));
    if (forbidden) {
      const refused: NodeJS.ErrnoException = new Error(`${hostname} resolves to a private, loopback or reserved address (${forbidden.address})`);
      refused.code = 'EWEBHOOKFORBIDDEN';
      return callback(refused, '');
    }
    if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} does not resolve`), { code: 'ENOTFOUND' }), '');
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
}
