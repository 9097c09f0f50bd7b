import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { shutdownApp } from '../src/app.factory';
import { parsePrometheusText } from '../scripts/monitor';
import { MetricName } from '../src/modules/metrics/prometheus-metrics.service';
import { startTestApp, TestApp, waitFor } from './support/test-app';

const ROOT = join(__dirname, '..');

function monitor(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // Response times are the runbook's threshold in production; on a loaded test machine they
    // would make these checks flaky, so the tests allow far more (the default has a unit spec).
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(ROOT, 'scripts/monitor.ts'), '--max-response-ms', '30000', ...args], {
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

  const signatureFailures = async () => {
    const res = await t.api('/metrics', { token: t.adminToken });
    const { samples } = parsePrometheusText(res.text);
    const sum = (name: string) => samples.filter((s) => s.name === name).reduce((n, s) => n + s.value, 0);
    return { total: sum(MetricName.WebhookSignatureFailures), inARow: sum(MetricName.WebhookConsecutiveFailures) };
  };

  it('exits 0 against a healthy service, with a plain table when not on a terminal, and its webhook probes are no signature failures', async () => {
    const before = await signatureFailures();
    const res = await monitor(['--url', t.baseUrl, '--window', '1'], { MONITOR_TOKEN: t.adminToken });
    expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
    for (const check of ['liveness', 'readiness', 'webhook status', 'webhook inbound', 'delivery metrics', 'http errors', 'response time', 'database connections']) {
      expect(res.stdout).toMatch(new RegExp(`^✓ ${check} +(200|403) `, 'm'));
    }
    expect(res.stdout).toMatch(/^✓ database connections +200 .*0 Postgres connection error\(s\) over 1 s/m);
    expect(res.stdout).toContain('OK: every check passed');
    expect(res.stdout).not.toContain('\x1b['); // no colours in a pipe (cron)
    expect(res.stdout).not.toContain(t.adminToken);
    expect(await signatureFailures()).toEqual(before);
  });

  it('takes tokens only from the environment, and fails when the token is refused', async () => {
    const onCommandLine = await monitor(['--url', t.baseUrl, '--token', t.adminToken]);
    expect(onCommandLine.code).toBe(2);
    expect(onCommandLine.stderr).toContain('set MONITOR_TOKEN instead');
    expect(onCommandLine.stderr + onCommandLine.stdout).not.toContain(t.adminToken);
    const refused = await monitor(['--url', t.baseUrl, '--window', '0'], { MONITOR_TOKEN: 'not-a-token' });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/^✗ delivery metrics +401/m);
    expect(refused.stdout).toMatch(/^✗ http errors +401 .*\/metrics: HTTP 401/m);
    const without = await monitor(['--url', t.baseUrl]);
    expect(without.code).toBe(0);
    expect(without.stdout).toMatch(/^- delivery metrics .*skipped: no MONITOR_TOKEN/m);
    expect((await monitor(['--url', t.baseUrl, '--max-backlog', '-1'])).code).toBe(2); // a usage error, not a failed check
  });

  it('fails past the runbook thresholds: Postgres connection errors above 0, then more than 10% of messages failed', async () => {
    // Cut the pool's idle connections, as a database restart would: the service counts them.
    await t.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'whatsapp-service' AND state = 'idle' AND pid <> pg_backend_pid()`,
    );
    await waitFor(async () => (await t.api('/api/v1/health/ready')).status === 200, 'the pool to reconnect');
    const dbErrors = await monitor(['--url', t.baseUrl, '--window', '0'], { MONITOR_TOKEN: t.adminToken });
    expect(dbErrors.code).toBe(1);
    expect(dbErrors.stdout).toMatch(/^✗ database connections +200 .*[1-9]\d* Postgres connection error\(s\) since the instance started, above 0/m);
    expect(dbErrors.stdout).toMatch(/^✓ delivery metrics /m);

    const rejected = await t.api('/api/v1/whatsapp/send', { body: { to: '+15005550001', message: 'x', immediate: true }, token: t.adminToken });
    expect(rejected.status).toBe(422); // a failed message: the failure rate is 100 %
    const failed = await monitor(['--url', t.baseUrl, '--window', '0', '--max-db-errors', '1000'], { MONITOR_TOKEN: t.adminToken });
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^✗ delivery metrics +200 .*failure rate above 10%/m);
    expect(failed.stdout).toMatch(/^✓ database connections /m);
    expect((await monitor(['--url', t.baseUrl, '--window', '0', '--max-db-errors', '1000', '--max-failure-rate', '100'], { MONITOR_TOKEN: t.adminToken })).code).toBe(0);
  });

  it('exits non-zero against a stopped service', async () => {
    await shutdownApp(t.app, t.config);
    const res = await monitor(['--url', t.baseUrl, '--timeout', '2000'], { MONITOR_TOKEN: t.adminToken });
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^✗ liveness +— +\d+ ms +unreachable/m);
    expect(res.stdout).toContain('FAILED: 8 of 8 check(s)');
  });
});
