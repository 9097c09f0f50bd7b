import { buildConfiguration } from '../../config/configuration';
import pino from 'pino';
import { Writable } from 'node:stream';
import { configuredSecrets, REDACT_PATHS, REDACTED, scrubLoggedRequest, scrubSecrets } from './redaction';

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';

describe('scrubSecrets', () => {
  it('censors bearer and basic credentials and bare JWTs in free text', () => {
    expect(scrubSecrets(`Authorization: Bearer ${JWT} failed`, [])).toBe(`Authorization: Bearer ${REDACTED} failed`);
    expect(scrubSecrets('Basic QUM6c2VjcmV0', [])).toBe(`Basic ${REDACTED}`);
    expect(scrubSecrets(`token=${JWT}`, [])).toBe(`token=${REDACTED}`);
  });

  it('censors API keys anywhere in free text', () => {
    const key = `wsk_${'A1b2_C3d-'.repeat(4)}xyz4567`;
    expect(scrubSecrets(`X-API-Key: ${key} was refused`, [])).toBe(`X-API-Key: ${REDACTED} was refused`);
    expect(scrubSecrets(`curl -H "Authorization: Bearer ${key}"`, [])).toBe(`curl -H "Authorization: Bearer ${REDACTED}"`);
    expect(scrubSecrets(`/x?x-api-key=${key}`, [])).toBe(`/x?x-api-key=${REDACTED}`);
    expect(scrubSecrets('the wsk_ prefix names an API key', [])).toBe('the wsk_ prefix names an API key');
  });

  it('censors credentials in query strings and leaves other parameters alone', () => {
    expect(scrubSecrets('/api/v1/whatsapp/messages?limit=1&access_token=abc.def.ghi&cursor=x', [])).toBe('/api/v1/whatsapp/messages?limit=1&access_token=[REDACTED]&cursor=x');
    expect(scrubSecrets('GET /x?token=s3cr3t-value', [])).toBe('GET /x?token=[REDACTED]');
    expect(scrubSecrets('/x?API_KEY=k1&password=p2', [])).toBe('/x?API_KEY=[REDACTED]&password=[REDACTED]');
    expect(scrubSecrets('/x?tokens=2&mytoken=3', [])).toBe('/x?tokens=2&mytoken=3');
  });

  it('censors every occurrence of a known secret and leaves other text alone', () => {
    expect(scrubSecrets('auth token s3cr3t-value used twice: s3cr3t-value', ['s3cr3t-value'])).toBe(`auth token ${REDACTED} used twice: ${REDACTED}`);
    expect(scrubSecrets('Sent 3 messages to whatsapp:+14155550100', ['s3cr3t-value'])).toBe('Sent 3 messages to whatsapp:+14155550100');
  });
});

describe('configuredSecrets', () => {
  it('lists the JWT secret, admin password, metrics token and Twilio tokens of the configuration', () => {
    const config = buildConfiguration({
      JWT_SECRET: 'j'.repeat(40),
      ADMIN_PASSWORD: 'admin-password-1',
      METRICS_TOKEN: 'metrics-token-0123456789',
      TWILIO_ACCOUNT_SID: 'AC' + '0'.repeat(32),
      TWILIO_AUTH_TOKEN: 'twilio-auth-token-1',
      TWILIO_AUTH_TOKEN_PREVIOUS: 'twilio-auth-token-0',
      TWILIO_WHATSAPP_FROM: 'whatsapp:+14155238886',
    });
    expect(configuredSecrets(config).sort()).toEqual(
      ['j'.repeat(40), 'admin-password-1', 'metrics-token-0123456789', 'twilio-auth-token-1', 'twilio-auth-token-0'].sort(),
    );
  });
});

describe('scrubLoggedRequest', () => {
  it('bounds the URL and query of a huge request to a few hundred characters each', () => {
    const pad = 'q'.repeat(15_000);
    const query = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, pad]));
    const out = scrubLoggedRequest({ url: `/api/v1/whatsapp/status?pad=${pad}`, query }, []);
    expect(JSON.stringify(out).length).toBeLessThan(5_000);
    expect(out.url).toMatch(/^\/api\/v1\/whatsapp\/status\?pad=q+…\(\+\d+ chars\)$/);
    expect(Object.keys(out.query as object)).toHaveLength(21);
    expect((out.query as Record<string, string>)['…']).toBe('480 more');
  });
});

describe('REDACT_PATHS', () => {
  it('censors an X-API-Key header and a created key or password in logged objects', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) });
    const log = pino({ redact: { paths: REDACT_PATHS, censor: REDACTED } }, sink);
    const key = `wsk_${'k'.repeat(43)}`;
    log.info({ req: { headers: { 'x-api-key': key } } }, 'request');
    log.info({ config: { headers: { 'x-api-key': key } } }, 'outgoing');
    log.info({ res: { body: { apiKey: key, generatedPassword: 'generated-password-1' } } }, 'answer');
    const text = lines.join('');
    expect(text).not.toContain(key);
    expect(text).not.toContain('generated-password-1');
    expect(text.match(/\[REDACTED\]/g)).toHaveLength(4);
  });
});
