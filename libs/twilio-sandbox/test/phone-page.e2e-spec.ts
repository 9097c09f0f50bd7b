import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PHONE_ASSET_DIR } from '../phone-page';
import { TwilioSandbox } from '../twilio-sandbox';
import { ACCOUNT_SID, AUTH_TOKEN, recordingLogger } from './sandbox-test-kit';

// Without a browser: the page's browser test (the service's test/sandbox-phone-page.e2e-spec.ts) drives it in Chromium.
describe('the phone page over HTTP', () => {
  const sandbox = new TwilioSandbox({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, logger: recordingLogger() });
  let baseUrl: string;

  beforeAll(async () => {
    baseUrl = await sandbox.start();
  });

  afterAll(async () => {
    await sandbox.stop();
  });

  it('answers GET /sandbox with one HTML document carrying phone.css and phone.js inline', async () => {
    const res = await fetch(`${baseUrl}/sandbox`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('content-security-policy')).toMatch(
      /^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'; style-src 'sha256-[A-Za-z0-9+/=]+'; connect-src 'self';/,
    );
    const html = await res.text();
    expect(html).toContain('<title>Twilio sandbox phone</title>');
    expect(html).toContain(`<style>${readFileSync(join(PHONE_ASSET_DIR, 'phone.css'), 'utf8')}</style>`);
    expect(html).toContain(`<script>${readFileSync(join(PHONE_ASSET_DIR, 'phone.js'), 'utf8')}</script>`);
  });

  it('redirects /sandbox/ to /sandbox', async () => {
    const res = await fetch(`${baseUrl}/sandbox/`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/sandbox');
  });

  it('does not serve the page’s source files on their own', async () => {
    for (const path of ['/sandbox/phone.js', '/sandbox/phone.css', '/sandbox/phone.html']) {
      const res = await fetch(`${baseUrl}${path}`);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
  });
});
