import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { shutdownApp } from '../src/app.factory';
import { startTestApp, TestApp } from './support/test-app';

const ROOT = join(__dirname, '..');

function monitor(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(ROOT, 'scripts/monitor.ts'), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run monitor (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('exits 0 against a healthy service, with a plain table when not on a terminal', async () => {
    const res = await monitor(['--url', t.baseUrl, '--token', t.adminToken]);
    expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
    for (const check of ['liveness', 'readiness', 'webhook status', 'webhook inbound', 'delivery metrics']) {
      expect(res.stdout).toMatch(new RegExp(`^✓ ${check} +200|^✓ ${check} +403`, 'm'));
    }
    expect(res.stdout).toContain('OK: every check passed');
    expect(res.stdout).not.toContain('\x1b['); // no colours in a pipe (cron)
  });

  it('takes the token from MONITOR_TOKEN, and fails when the token is refused or a threshold is crossed', async () => {
    expect((await monitor(['--url', t.baseUrl], { MONITOR_TOKEN: t.adminToken })).code).toBe(0);
    const refused = await monitor(['--url', t.baseUrl, '--token', 'not-a-token']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/^✗ delivery metrics +401/m);
    expect((await monitor(['--url', t.baseUrl, '--max-backlog', '-1'])).code).toBe(2); // a usage error, not a failed check
    const rejected = await t.api('/api/v1/whatsapp/send', { body: { to: '+15005550001', message: 'x', immediate: true }, token: t.adminToken });
    expect(rejected.status).toBe(422); // a failed message: the failure rate is above 0 %
    const threshold = await monitor(['--url', t.baseUrl, '--token', t.adminToken, '--max-failure-rate', '0']);
    expect(threshold.code).toBe(1);
    expect(threshold.stdout).toMatch(/^✗ delivery metrics +200 .*failure rate above 0%/m);
  });

  it('exits non-zero against a stopped service', async () => {
    await shutdownApp(t.app, t.config);
    const res = await monitor(['--url', t.baseUrl, '--token', t.adminToken, '--timeout', '2000']);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^✗ liveness +— +\d+ ms +unreachable/m);
    expect(res.stdout).toContain('FAILED: 5 of 5 check(s)');
  });
});
