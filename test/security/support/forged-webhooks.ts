import { createHash, randomBytes } from 'node:crypto';
import twilio from 'twilio';

export interface WebhookRequest {
  /** What this forgery tries, for the report. */
  kind: string;
  path: string;
  contentType: string;
  body: string;
  signature?: string;
}

export interface GenuineWebhook {
  /** 'status' or 'webhook': the route's last path segment. */
  route: 'status' | 'webhook';
  url: string;
  params: Record<string, string>;
}

const sign = (token: string, url: string, params: Record<string, string | string[]>) => twilio.getExpectedTwilioSignature(token, url, params);
const form = (params: Record<string, string | string[]>) => {
  const f = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const one of Array.isArray(v) ? v : [v]) f.append(k, one);
  return f.toString();
};

/** A deterministic stream of choices, so a failing run can be repeated. */
export function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const VALUE_CHANGES: ((v: string, r: () => number) => string)[] = [
  (v) => v + 'x',
  (v) => v.slice(0, -1),
  (v) => v.toUpperCase() === v ? v.toLowerCase() + 'a' : v.toUpperCase(),
  (v) => ` ${v}`,
  (v) => `${v}\n`,
  (v) => v.replace(/\d/, (d) => String((Number(d) + 1) % 10)) + (/\d/.test(v) ? '' : '1'),
  () => '',
  (_v, r) => randomBytes(1 + Math.floor(r() * 16)).toString('hex'),
];

/**
 * Forged and mutated versions of genuine webhooks: none may be accepted. Each is different from
 * what was signed in at least one way Twilio's signature covers (URL, a parameter, the body) or
 * carries no valid signature at all, or is validly signed but for another account.
 */
export function forgeWebhooks(genuine: GenuineWebhook[], token: string, baseUrl: string, count: number, seed = 12): WebhookRequest[] {
  const r = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const out: WebhookRequest[] = [];
  const otherRoute = (g: GenuineWebhook) => (g.route === 'status' ? 'webhook' : 'status');
  const pathOf = (route: string) => `/api/v1/whatsapp/${route}`;
  const wrongToken = randomBytes(16).toString('hex');

  const strategies: ((g: GenuineWebhook) => WebhookRequest)[] = [
    (g) => ({ kind: 'no signature', path: pathOf(g.route), contentType: 'application/x-www-form-urlencoded', body: form(g.params) }),
    (g) => ({ kind: 'junk signature', path: pathOf(g.route), contentType: 'application/x-www-form-urlencoded', body: form(g.params), signature: pick(['', ' ', 'null', randomBytes(20).toString('base64'), randomBytes(32).toString('base64'), 'a'.repeat(500), sign(token, g.url, g.params).slice(0, 20)]) }),
    (g) => ({ kind: 'signed with another token', path: pathOf(g.route), contentType: 'application/x-www-form-urlencoded', body: form(g.params), signature: sign(wrongToken, g.url, g.params) }),
    (g) => {
      const key = pick(Object.keys(g.params));
      const params = { ...g.params, [key]: pick(VALUE_CHANGES)(g.params[key], r) };
      if (params[key] === g.params[key]) params[key] += 'z';
      return { kind: 'parameter changed after signing', path: pathOf(g.route), contentType: 'application/x-www-form-urlencoded', body: form(params), signature: sign(token, g.url, g.params) };
    },
    (g) => {
      const params = { ...g.params, [pick(['ErrorCode', 'MessageStatus2', 'Extra', 'To2', 'Body ', 'NumMedia', 'MediaUrl0'].filter((k) => !(k in g.params)))]: pick(['30008', 'failed', 'x', 'STOP']) };
      return { kind: 'parameter added after signing', path: pathOf(g.route), contentType: 'application/x-www-form-urlencoded', body: form(params), signature: sign(token, g.url, g.params) };
    },
    (g) => {
      const params = { ...g.params };
      delete params[pick(Object.keys(params))];
      return { kind: 'parameter removed after signing', path: pathOf(g.route), contentType: 'application/x-www-form-urlencoded', body: form(params), signature: sign(token, g.url, g.params) };
    },
    (g) => {
      const key = pick(Object.keys(g.params));
      const params = { ...g.params, [key]: [g.params[key], pick(['STOP', 'failed', g.params[key] + '1'])] };
      return { kind: 'parameter repeated after signing', path: pathOf(g.route), contentType: 'application/x-www-form-urlencoded', body: form(params), signature: sign(token, g.url, g.params) };
    },
    (g) => {
      // Signed for a URL variant, posted to the real one. (Not the URL without its port: Twilio's
      // own validator accepts that form, as Twilio signs it either way.)
      const u = new URL(g.url);
      const variant = pick([
        g.url.replace('http://', 'https://'),
        `${g.url}/`,
        `${g.url}?x=1`,
        g.url.replace('127.0.0.1', 'localhost'),
        g.url.replace('/api/v1/', '/API/v1/'),
        g.url.replace('/api/v1/', '/api/v1//'),
        `${u.origin}${u.pathname}#frag`,
        `${u.protocol}//127.0.0.2:${u.port}${u.pathname}`,
      ]);
      return { kind: 'signed for another URL', path: pathOf(g.route), contentType: 'application/x-www-form-urlencoded', body: form(g.params), signature: sign(token, variant, g.params) };
    },
    (g) => ({
      kind: 'query string added after signing',
      path: pathOf(g.route) + pick(['?x=1', '?bodySHA256=abc', '?MessageStatus=failed']),
      contentType: 'application/x-www-form-urlencoded',
      body: form(g.params),
      signature: sign(token, g.url, g.params),
    }),
    (g) => ({ kind: 'replayed to the other webhook', path: pathOf(otherRoute(g)), contentType: 'application/x-www-form-urlencoded', body: form(g.params), signature: sign(token, g.url, g.params) }),
    (g) => {
      // JSON with a bodySHA256 that is not the body's: the URL (hash included) is validly signed.
      const body = JSON.stringify(g.params);
      const otherHash = createHash('sha256').update(body + pick([' ', 'x', '{}'])).digest('hex');
      const url = `${g.url}?bodySHA256=${otherHash}`;
      return { kind: 'JSON body with a wrong bodySHA256', path: `${pathOf(g.route)}?bodySHA256=${otherHash}`, contentType: 'application/json', body, signature: sign(token, url, {}) };
    },
    (g) => {
      const body = JSON.stringify(g.params);
      return { kind: 'JSON body without bodySHA256', path: pathOf(g.route), contentType: 'application/json', body, signature: sign(token, g.url, {}) };
    },
    (g) => {
      // Validly signed, but for an account that is not ours.
      const params = { ...g.params, AccountSid: 'AC' + randomBytes(16).toString('hex') };
      return { kind: 'validly signed for another AccountSid', path: pathOf(g.route), contentType: 'application/x-www-form-urlencoded', body: form(params), signature: sign(token, g.url, params) };
    },
    (g) => {
      const url = `${baseUrl}${pathOf(g.route)}`;
      return { kind: 'signed over the Host the process sees, not the public URL', path: pathOf(g.route), contentType: 'application/x-www-form-urlencoded', body: form(g.params), signature: sign(token, url.replace('127.0.0.1', '0.0.0.0'), g.params) };
    },
  ];
  while (out.length < count) out.push(pick(strategies)(pick(genuine)));
  return out;
}
