import { UserRole } from '../src/modules/auth/entities/user.entity';
import { UsersService } from '../src/modules/auth/users.service';
import { startTestApp, TestApp } from './support/test-app';

const METRICS_TOKEN = 'metrics-token-for-the-surface-test';

describe('Security headers, API docs, readiness details and the sandbox control API (e2e)', () => {
  let t: TestApp;
  let senderToken: string;
  beforeAll(async () => {
    t = await startTestApp({ API_DOCS: 'false', METRICS_TOKEN });
    await t.app.get(UsersService).create('surface-sender@example.com', UserRole.Sender, 'sender-password-123');
    senderToken = await t.login('surface-sender@example.com', 'sender-password-123');
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each([
    ['an API answer', '/api/v1/whatsapp/senders', true],
    ['an error', '/api/v1/whatsapp/senders', false],
    ['a 404', '/nowhere', false],
    ['a probe', '/api/v1/health', false],
  ])('sends the security headers on %s', async (_what, path, auth) => {
    const res = await t.api(path, { token: auth ? t.adminToken : undefined });
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toBe("frame-ancestors 'none'");
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    // HSTS only in production, where the service is reached over https.
    expect(res.headers.get('strict-transport-security')).toBeNull();
  });

  it('serves no API docs with API_DOCS=false', async () => {
    expect((await t.api('/docs')).status).toBe(404);
    expect((await t.api('/docs-json')).status).toBe(404);
  });

  it('shows readiness details to an admin and to METRICS_TOKEN only; anyone else gets the status alone', async () => {
    for (const token of [undefined, senderToken, 'not-a-token']) {
      const res = await t.api('/api/v1/health/ready', { token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok' });
    }
    for (const token of [t.adminToken, METRICS_TOKEN]) {
      const res = await t.api('/api/v1/health/ready', { token });
      expect(res.status).toBe(200);
      expect(res.body.details).toMatchObject({ database: { status: 'up' }, twilio: { status: 'up' } });
    }
  });

  describe('sandbox control API', () => {
    const inboundCount = async () => (await t.query<{ n: number }>(`SELECT count(*)::int AS n FROM "WhatsAppMessage" WHERE direction = 'inbound'`))[0].n;
    const post = (headers: Record<string, string>, body: string) => fetch(`${t.sandbox.baseUrl}/sandbox/control/inbound`, { method: 'POST', headers, body });
    const stop = { from: 'whatsapp:+14155550777', to: 'whatsapp:+14155238886', body: 'STOP' };

    it.each([
      ['a form post', { 'content-type': 'application/x-www-form-urlencoded' }, 'from=whatsapp%3A%2B14155550777&to=whatsapp%3A%2B14155238886&body=STOP', 415],
      ['a text/plain no-cors fetch', { 'content-type': 'text/plain' }, JSON.stringify(stop), 415],
      ['JSON from another origin', { 'content-type': 'application/json', origin: 'https://evil.example' }, JSON.stringify(stop), 403],
      ['JSON marked cross-site', { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' }, JSON.stringify(stop), 403],
    ])('refuses %s and injects nothing', async (_what, headers, body, status) => {
      const before = await inboundCount();
      const res = await post(headers, body);
      expect(res.status).toBe(status);
      expect(await res.json()).toEqual({ error: expect.any(String) });
      await new Promise((r) => setTimeout(r, 200)); // an injected message would have been posted by now
      expect(await inboundCount()).toBe(before);
      expect(t.sandbox.control.webhookAttempts().filter((a) => JSON.stringify(a).includes('14155550777'))).toEqual([]);
    });

    it('still takes JSON from a script and from its own page', async () => {
      const own = new URL(t.sandbox.baseUrl).origin;
      const variants: Record<string, string>[] = [{ 'content-type': 'application/json' }, { 'content-type': 'application/json', origin: own, 'sec-fetch-site': 'same-origin' }];
      for (const headers of variants) {
        const res = await post(headers, JSON.stringify({ from: 'whatsapp:+14155550778', to: 'whatsapp:+14155238886', body: 'hello' }));
        expect(res.status).toBe(200);
      }
    });
  });
});
