import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { UserRole } from '../src/modules/auth/entities/user.entity';
import { UsersService } from '../src/modules/auth/users.service';
import { parsePrometheusText } from '../scripts/monitor';
import { MetricName } from '../src/modules/metrics/prometheus-metrics.service';
import { freePort, startTestApp, TestApp, waitFor } from './support/test-app';
import { FORM, formBody, twilioSignature } from './support/twilio-signing';

const ROOT = join(__dirname, '..');
const METRICS_TOKEN = 'prometheus-scrape-token-0123456789';

interface Scrape {
  families: Map<string, string>;
  value: (name: string, labels?: Record<string, string>) => number;
}

/** Parses Prometheus text: family types, and sums of the samples whose labels include `labels`. */
function parseScrape(text: string): Scrape {
  const { samples, types: families } = parsePrometheusText(text);
  return {
    families,
    value: (name, labels = {}) =>
      samples
        .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((sum, s) => sum + s.value, 0),
  };
}

const PROMQL_WORDS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'stddev', 'topk', 'bottomk', 'quantile', 'by', 'without', 'on', 'ignoring', 'group_left',
  'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'rate', 'irate', 'increase', 'delta', 'histogram_quantile',
  'min_over_time', 'max_over_time', 'avg_over_time', 'clamp_min', 'clamp_max', 'abs', 'absent', 'le', 'inf', 'nan',
]);

/** Metric names an expression reads: identifiers outside label matchers, groupings, ranges and strings. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '')
    .replace(/\[[^\]]*\]/g, '');
  const names = [...stripped.matchAll(/[a-zA-Z_:][\w:]*/g)]
    .map((m) => m[0])
    .filter((w) => !PROMQL_WORDS.has(w.toLowerCase()));
  return [...new Set(names)];
}

/** The family a sample name belongs to (histogram series carry _bucket/_sum/_count). */
function familyOf(name: string, families: Map<string, string>): string | undefined {
  if (families.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return families.get(base) === 'histogram' ? base : undefined;
}

describe('Prometheus /metrics, alert rules, dashboard and queue dashboard (e2e)', () => {
  let t: TestApp;
  let senderToken: string;

  beforeAll(async () => {
    t = await startTestApp();
    await t.app.get(UsersService).create('prom-sender@example.com', UserRole.Sender, 'sender-password-123');
    senderToken = await t.login('prom-sender@example.com', 'sender-password-123');
  });
  afterAll(async () => {
    await t?.close();
  });

  const scrape = async (): Promise<Scrape> => {
    const res = await t.api('/metrics', { token: t.adminToken });
    expect(res.status).toBe(200);
    return parseScrape(res.text);
  };

  it('needs an admin JWT without METRICS_TOKEN: 401 JSON without one, 403 for a sender', async () => {
    const none = await t.api('/metrics');
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED', requestId: expect.any(String) });
    expect((await t.api('/metrics', { token: 'not-a-jwt' })).status).toBe(401);
    expect((await t.api('/metrics', { token: senderToken })).body).toMatchObject({ statusCode: 403, code: 'FORBIDDEN' });
    const ok = await t.api('/metrics', { token: t.adminToken });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toContain('text/plain');
    expect((await t.api('/api/v1/metrics', { token: t.adminToken })).status).toBe(404);
  });

  it('exports the named series, and their values move when messages are sent', async () => {
    const before = await scrape();
    for (const name of [...Object.values(MetricName), 'process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect({ name, exported: before.families.has(name) }).toEqual({ name, exported: true });
    }

    const sent = await t.api('/api/v1/whatsapp/send', { body: { to: '+14155550801', message: 'metrics' }, token: t.adminToken });
    expect(sent.status).toBe(202);
    const failing = await t.api('/api/v1/whatsapp/send', { body: { to: '+15005550013', message: 'metrics' }, token: t.adminToken });
    const rejected = await t.api('/api/v1/whatsapp/send', { body: { to: '+15005550001', message: 'metrics', immediate: true }, token: t.adminToken });
    expect(rejected.status).toBe(422);
    await waitFor(async () => {
      const rows = await t.query<{ status: string }>(`SELECT status FROM "WhatsAppMessage" WHERE id = ANY($1::uuid[])`, [[sent.body.id, failing.body.id]]);
      return rows.map((r) => r.status).sort().join() === 'failed,read';
    }, 'one message read and one failed');
    const after = await scrape();
    const delta = (name: string, labels?: Record<string, string>) => after.value(name, labels) - before.value(name, labels);

    expect(delta(MetricName.MessagesAccepted, { mode: 'queued' })).toBe(2);
    expect(delta(MetricName.MessagesAccepted, { mode: 'immediate' })).toBe(1);
    expect(delta(MetricName.MessagesSent)).toBe(1);
    expect(delta(MetricName.MessagesDelivered, { error_code: 'none' })).toBe(1);
    expect(delta(MetricName.MessagesRead)).toBe(1);
    expect(delta(MetricName.MessagesFailed, { status: 'failed', error_code: '63024' })).toBe(1);
    expect(delta(MetricName.MessagesFailed, { status: 'failed', error_code: '21211' })).toBe(1);
    expect(delta(`${MetricName.QueuedToStage}_count`, { stage: 'read' })).toBe(1);
    expect(delta(`${MetricName.QueuedToStage}_count`, { stage: 'delivered' })).toBe(1);
    expect(delta(`${MetricName.TwilioRequestDuration}_count`, { operation: 'create', outcome: 'ok' })).toBe(2);
    expect(delta(`${MetricName.TwilioRequestDuration}_count`, { operation: 'create', outcome: 'error' })).toBe(1);
    expect(delta(MetricName.TwilioApiErrors, { operation: 'create', code: '21211' })).toBe(1);
    expect(delta(MetricName.WebhookSignatureMatches, { kind: 'status', token_index: '0' })).toBeGreaterThanOrEqual(4);
    // Route patterns, not raw URLs.
    expect(delta(`${MetricName.HttpRequestDuration}_count`, { route: '/api/v1/whatsapp/send', method: 'POST', status_code: '202' })).toBe(2);
    expect(delta(`${MetricName.HttpRequestDuration}_count`, { route: '/api/v1/whatsapp/send', status_code: '422' })).toBe(1);
    await t.api(`/api/v1/whatsapp/delivery-status/${sent.body.id}`, { token: t.adminToken });
    await t.api('/no/such/route');
    const routes = await scrape();
    expect(routes.value(`${MetricName.HttpRequestDuration}_count`, { route: '/api/v1/whatsapp/delivery-status/:id', status_code: '200' })).toBeGreaterThanOrEqual(1);
    expect(routes.value(`${MetricName.HttpRequestDuration}_count`, { route: 'unmatched', status_code: '404' })).toBeGreaterThanOrEqual(1);
    // Gauges read at scrape time.
    const text = (await t.api('/metrics', { token: t.adminToken })).text;
    for (const state of ['waiting', 'active', 'delayed', 'failed']) {
      expect(text).toMatch(new RegExp(`^${MetricName.QueueJobs}\\{[^}]*state="${state}"[^}]*\\} \\d+$`, 'm'));
    }
    expect(after.value(MetricName.OutboxBacklog)).toBeGreaterThanOrEqual(0);
    expect(after.value(MetricName.DatabaseConnectionErrors)).toBe(0);
  });

  it('counts webhook signature failures by reason and how many came in a row', async () => {
    const url = t.config.twilio.statusCallbackUrl;
    const params = { MessageSid: 'SM' + '1'.repeat(32), MessageStatus: 'delivered' };
    const post = (signature?: string) =>
      t.api('/api/v1/whatsapp/status', { body: formBody(params), headers: { ...FORM, ...(signature ? { 'x-twilio-signature': signature } : {}) } });
    const before = await scrape();
    expect((await post()).status).toBe(403);
    expect((await post('bm9wZQ==')).status).toBe(403);
    expect((await post(twilioSignature('wrong-token-000000000000000', url, params))).status).toBe(403);
    const during = await scrape();
    expect(during.value(MetricName.WebhookConsecutiveFailures, { kind: 'status' })).toBe(3);
    expect(during.value(MetricName.WebhookSignatureFailures, { kind: 'status' }) - before.value(MetricName.WebhookSignatureFailures, { kind: 'status' })).toBe(3);
    expect(during.value(MetricName.WebhookSignatureFailures, { kind: 'status', reason: 'missing_header' })).toBeGreaterThanOrEqual(1);

    expect((await post(twilioSignature(t.config.twilio.webhookAuthTokens[0], url, params))).status).toBe(200);
    expect((await scrape()).value(MetricName.WebhookConsecutiveFailures, { kind: 'status' })).toBe(0);
  });

  it('times webhook handling for the webhook timeout alert, and an unsigned GET probe is no signature failure', async () => {
    const url = t.config.twilio.statusCallbackUrl;
    const params = { MessageSid: 'SM' + '2'.repeat(32), MessageStatus: 'sent' };
    const before = await scrape();
    const signed = await t.api('/api/v1/whatsapp/status', { body: formBody(params), headers: { ...FORM, 'x-twilio-signature': twilioSignature(t.config.twilio.webhookAuthTokens[0], url, params) } });
    expect(signed.status).toBe(200);
    expect((await t.api('/api/v1/whatsapp/status')).status).toBe(403);
    expect((await t.api('/api/v1/whatsapp/webhook')).status).toBe(403);
    const after = await scrape();
    const count = `${MetricName.WebhookDuration}_count`;
    expect(after.value(count, { kind: 'status' }) - before.value(count, { kind: 'status' })).toBe(1);
    expect(after.value(count, { kind: 'inbound' }) - before.value(count, { kind: 'inbound' })).toBe(0);
    expect(after.value(MetricName.WebhookConsecutiveTimeouts, { kind: 'status' })).toBe(0);
    expect(after.value(MetricName.WebhookSignatureFailures)).toBe(before.value(MetricName.WebhookSignatureFailures));
    expect(after.value(MetricName.WebhookConsecutiveFailures)).toBe(before.value(MetricName.WebhookConsecutiveFailures));
  });

  it('counts Postgres connections that break, for the database alert', async () => {
    const before = (await scrape()).value(MetricName.DatabaseConnectionErrors, { kind: 'idle' });
    // Cut the pool's idle connections from the server side, as a database restart would.
    const cut = await t.query<{ ok: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'whatsapp-service' AND state = 'idle' AND pid <> pg_backend_pid()`,
    );
    expect(cut.length).toBeGreaterThan(0);
    // A request can still draw a connection whose termination notice has not arrived yet and fail
    // (as right after a real database restart), so poll without insisting on every answer.
    await waitFor(async () => {
      const res = await t.api('/metrics', { token: t.adminToken });
      return res.status === 200 && parseScrape(res.text).value(MetricName.DatabaseConnectionErrors, { kind: 'idle' }) > before;
    }, 'the broken connections to be counted');
    await waitFor(async () => (await t.api('/api/v1/health/ready')).status === 200, 'the pool to reconnect');
  });

  it('alert rules parse and read only metrics the service exports', async () => {
    const families = (await scrape()).families;
    const doc = parse(readFileSync(join(ROOT, 'config/prometheus/alerts.yml'), 'utf8')) as {
      groups: { name: string; rules: { alert: string; expr: string; for?: string; labels: Record<string, string>; annotations: Record<string, string> }[] }[];
    };
    const alerts = doc.groups.flatMap((g) => g.rules);
    expect(alerts.map((r) => r.alert)).toEqual(
      expect.arrayContaining(['WhatsAppHighHttpErrorRate', 'WhatsAppSlowResponses', 'WhatsAppHighMessageFailureRate', 'WhatsAppDatabaseConnectionErrors', 'WhatsAppWebhookSignatureFailures', 'WhatsAppWebhookTimeouts']),
    );
    for (const rule of alerts) {
      expect(rule.labels.severity).toMatch(/^(warning|critical)$/);
      expect(rule.annotations.summary).toEqual(expect.any(String));
      if (rule.for) expect(rule.for).toMatch(/^\d+[smh]$/);
      const names = metricNames(rule.expr);
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) expect({ alert: rule.alert, name, exported: familyOf(name, families) !== undefined }).toEqual({ alert: rule.alert, name, exported: true });
    }
  });

  it('alert rules pass promtool check and their unit tests (alerts.test.yml)', () => {
    // npm test's pretest step installs it (Debian package prometheus); a missing promtool is a failure, not a skip.
    expect({ promtool: spawnSync('promtool', ['--version']).status === 0 ? 'installed' : 'missing: apt-get install prometheus' }).toEqual({ promtool: 'installed' });
    for (const args of [['check', 'rules', 'alerts.yml'], ['test', 'rules', 'alerts.test.yml']]) {
      const run = spawnSync('promtool', args, { cwd: join(ROOT, 'config/prometheus'), encoding: 'utf8' });
      expect({ args, status: run.status, output: run.status === 0 ? '' : `${run.stdout}${run.stderr}` }).toEqual({ args, status: 0, output: '' });
    }
  });

  it('the Grafana dashboard is valid JSON whose panels read exported metrics', async () => {
    const families = (await scrape()).families;
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'config/grafana/whatsapp-service-dashboard.json'), 'utf8')) as {
      title: string;
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dashboard.title).toEqual(expect.any(String));
    expect(dashboard.panels.length).toBeGreaterThan(5);
    for (const panel of dashboard.panels) {
      expect(panel.targets.length).toBeGreaterThan(0);
      for (const target of panel.targets) {
        for (const name of metricNames(target.expr)) {
          expect({ panel: panel.title, name, exported: familyOf(name, families) !== undefined }).toEqual({ panel: panel.title, name, exported: true });
        }
      }
    }
  });

  it('serves the queue dashboard to admins only: 401 without a token, 403 for a sender, 200 for an admin', async () => {
    for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
      const none = await t.api(path);
      expect(none.status).toBe(401);
      expect(none.body).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
      expect((await t.api(path, { token: senderToken })).body).toMatchObject({ statusCode: 403, code: 'FORBIDDEN' });
      expect((await t.api(path, { token: t.adminToken })).status).toBe(200);
    }
    const page = await t.api('/admin/queues', { token: t.adminToken });
    expect(page.text).toContain('<base href="/admin/queues/"');
    const api = await t.api('/admin/queues/api/queues', { token: t.adminToken });
    expect(api.body.queues.map((q: { name: string }) => q.name)).toEqual(['whatsapp']);
  });
});

describe('/metrics with METRICS_TOKEN, and on METRICS_PORT (e2e)', () => {
  it('with METRICS_TOKEN accepts that token only (not even an admin JWT), and the queue dashboard does not accept it', async () => {
    const t = await startTestApp({ METRICS_TOKEN });
    try {
      expect((await t.api('/metrics', { token: METRICS_TOKEN })).status).toBe(200);
      expect((await t.api('/metrics')).body).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
      expect((await t.api('/metrics', { token: `${METRICS_TOKEN}x` })).status).toBe(401);
      expect((await t.api('/metrics', { token: t.adminToken })).status).toBe(401);
      expect((await t.api('/admin/queues', { token: METRICS_TOKEN })).status).toBe(401);
    } finally {
      await t.close();
    }
  });

  it('with METRICS_PORT serves /metrics there only, started and stopped with the app', async () => {
    const port = await freePort();
    const t = await startTestApp({ METRICS_TOKEN, METRICS_PORT: String(port) });
    const url = `http://127.0.0.1:${port}/metrics`;
    try {
      expect((await t.api('/metrics', { token: METRICS_TOKEN })).status).toBe(404);
      const denied = await fetch(url);
      expect(denied.status).toBe(401);
      expect(await denied.json()).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
      const ok = await fetch(url, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain(`# TYPE ${MetricName.HttpRequestDuration} histogram`);
    } finally {
      await t.close();
    }
    await expect(fetch(url)).rejects.toThrow();
  });
});
