/**
 * Checks a running service from the outside and prints one line per check:
 *
 *   MONITOR_TOKEN="$ADMIN_TOKEN" npm run monitor -- --url https://api.example.com
 *   MONITOR_TOKEN=... node dist/scripts/monitor.js --url https://api.example.com
 *
 * Tokens come from the environment only, so they never show in `ps`, shell history or cron mail.
 * Exit code 0 when every check passed, 1 when any failed, 2 on a usage error; colours only on
 * a terminal (and never with NO_COLOR), so cron mails stay readable.
 */

export interface MonitorOptions {
  url: string;
  /** An admin's access token: delivery metrics, and /metrics when no metrics token is given. */
  token?: string;
  /** METRICS_TOKEN of the service, for /metrics. */
  metricsToken?: string;
  /** Where /metrics answers (another port with METRICS_PORT); default <url>/metrics. */
  metricsUrl: string;
  timeoutMs: number;
  /** Seconds between the two /metrics reads the rates are taken over; 0: since the instance started. */
  windowSeconds: number;
  /** Percent of API answers that are 5xx. */
  maxErrorRate: number;
  /** Milliseconds: p95 of the service's API responses, and each of this monitor's own requests. */
  maxResponseMs: number;
  /** Percent of the last 24 h's settled messages that failed. */
  maxFailureRate: number;
  /** Postgres connection errors. */
  maxDatabaseErrors: number;
  /** Jobs waiting in the queue and the outbox. */
  maxBacklog?: number;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  /** Not run (e.g. no token for the metrics check); neither a pass nor a failure. */
  skipped?: boolean;
  status: number | null;
  ms: number;
  detail: string;
}

/** The runbook's alert thresholds, the same as config/prometheus/alerts.yml. */
export const DEFAULT_THRESHOLDS = { maxErrorRate: 5, maxResponseMs: 1000, maxFailureRate: 10, maxDatabaseErrors: 0 } as const;
const DEFAULT_WINDOW_SECONDS = 10;

const USAGE = `Usage: MONITOR_TOKEN=<admin access token> monitor --url <base URL> [options]
  --url                 where the service answers, e.g. https://api.example.com (no /api/v1)
  --metrics-url         where /metrics answers when it has its own port (METRICS_PORT)
  --timeout             per request, default 5000 ms
  --window              seconds between the two /metrics reads that rates are measured over,
                        default ${DEFAULT_WINDOW_SECONDS}; 0 measures since the instance started
  --max-error-rate      fail when more than this percentage of API answers are 5xx (default ${DEFAULT_THRESHOLDS.maxErrorRate})
  --max-response-ms     fail when the API's p95, or any check, takes longer (default ${DEFAULT_THRESHOLDS.maxResponseMs})
  --max-failure-rate    fail when more than this percentage of the last 24 h's messages failed (default ${DEFAULT_THRESHOLDS.maxFailureRate})
  --max-db-errors       fail when Postgres connection errors exceed this (default ${DEFAULT_THRESHOLDS.maxDatabaseErrors})
  --max-backlog         fail when more jobs than this wait in the queue and the outbox
Environment:
  MONITOR_TOKEN          an admin's access token (delivery metrics; /metrics without a metrics token)
  MONITOR_METRICS_TOKEN  the service's METRICS_TOKEN, when it has one`;

export class UsageError extends Error {}

const OPTIONS = ['url', 'metrics-url', 'timeout', 'window', 'max-error-rate', 'max-response-ms', 'max-failure-rate', 'max-db-errors', 'max-backlog'];

export function parseArgs(argv: string[], env: Record<string, string | undefined> = {}): MonitorOptions {
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new UsageError(`Unexpected argument: ${arg}`);
    if (m[1] === 'token') throw new UsageError('--token is not accepted (it would show in ps and shell history): set MONITOR_TOKEN instead');
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${m[1]} needs a value`);
    values[m[1]] = value;
  }
  const unknown = Object.keys(values).find((k) => !OPTIONS.includes(k));
  if (unknown) throw new UsageError(`Unknown option --${unknown}`);
  const httpUrl = (name: string) => {
    if (values[name] !== undefined && !/^https?:\/\/[^\s/]+/i.test(values[name])) throw new UsageError(`--${name} must be an http(s) URL`);
    return values[name]?.replace(/\/+$/, '');
  };
  const url = httpUrl('url');
  if (!url) throw new UsageError('--url must be an http(s) URL');
  const number = (name: string): number | undefined => {
    if (values[name] === undefined) return undefined;
    const n = Number(values[name]);
    if (values[name].trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a non-negative number`);
    return n;
  };
  return {
    url,
    token: env.MONITOR_TOKEN || undefined,
    metricsToken: env.MONITOR_METRICS_TOKEN || undefined,
    metricsUrl: httpUrl('metrics-url') ?? `${url}/metrics`,
    timeoutMs: number('timeout') ?? 5000,
    windowSeconds: number('window') ?? DEFAULT_WINDOW_SECONDS,
    maxErrorRate: number('max-error-rate') ?? DEFAULT_THRESHOLDS.maxErrorRate,
    maxResponseMs: number('max-response-ms') ?? DEFAULT_THRESHOLDS.maxResponseMs,
    maxFailureRate: number('max-failure-rate') ?? DEFAULT_THRESHOLDS.maxFailureRate,
    maxDatabaseErrors: number('max-db-errors') ?? DEFAULT_THRESHOLDS.maxDatabaseErrors,
    maxBacklog: number('max-backlog'),
  };
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text exposition: every sample, and each family's type. */
export function parsePrometheusText(text: string): { samples: Sample[]; types: Map<string, string> } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) types.set(type[1], type[2]);
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) });
  }
  return { samples, types };
}

/** Probes and scrapes (this monitor's own among them) say nothing about what users get. */
const NOT_USER_TRAFFIC = /^\/metrics$|^\/api\/v1\/health/;
const HTTP_DURATION = 'http_request_duration_seconds';
const DB_ERRORS = 'whatsapp_database_connection_errors_total';

export interface ServiceSignals {
  requests: number;
  serverErrors: number;
  /** Cumulative request counts by bucket upper bound (seconds). */
  buckets: Map<number, number>;
  databaseErrors: number;
}

export function serviceSignals(samples: Sample[]): ServiceSignals {
  const signals: ServiceSignals = { requests: 0, serverErrors: 0, buckets: new Map(), databaseErrors: 0 };
  for (const s of samples) {
    if (s.name === DB_ERRORS) signals.databaseErrors += s.value;
    if (NOT_USER_TRAFFIC.test(s.labels.route ?? '')) continue;
    if (s.name === `${HTTP_DURATION}_count`) {
      signals.requests += s.value;
      if (/^5/.test(s.labels.status_code ?? '')) signals.serverErrors += s.value;
    } else if (s.name === `${HTTP_DURATION}_bucket`) {
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      signals.buckets.set(le, (signals.buckets.get(le) ?? 0) + s.value);
    }
  }
  return signals;
}

/** What happened between two reads of the counters (a restart in between: the later read alone). */
export function signalsBetween(before: ServiceSignals, after: ServiceSignals): ServiceSignals {
  if (after.requests < before.requests || after.databaseErrors < before.databaseErrors) return after;
  const buckets = new Map<number, number>();
  for (const [le, n] of after.buckets) buckets.set(le, n - (before.buckets.get(le) ?? 0));
  return {
    requests: after.requests - before.requests,
    serverErrors: after.serverErrors - before.serverErrors,
    buckets,
    databaseErrors: after.databaseErrors - before.databaseErrors,
  };
}

/** Prometheus' histogram_quantile: linear interpolation inside the bucket the rank falls in. */
export function histogramQuantile(q: number, buckets: Map<number, number>): number | null {
  const sorted = [...buckets.entries()].sort(([a], [b]) => a - b);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [le, count] of sorted) {
    if (count >= rank) {
      // Above the highest finite bound Prometheus answers that bound.
      if (le === Infinity) return lowerBound;
      return lowerBound + (le - lowerBound) * ((rank - lowerCount) / (count - lowerCount || 1));
    }
    lowerBound = le;
    lowerCount = count;
  }
  return lowerBound;
}

interface Fetched {
  status: number | null;
  body: any;
  ms: number;
  error?: string;
}

async function get(url: string, timeoutMs: number, token?: string): Promise<Fetched> {
  const started = Date.now();
  try {
    const res = await fetch(url, {
      headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // TwiML or HTML
    }
    return { status: res.status, body, ms: Date.now() - started };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string; errors?: { code?: string }[] } };
    const cause = e.cause?.code ?? e.cause?.errors?.[0]?.code ?? e.cause?.message;
    const reason = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `unreachable: ${cause ?? e.message}`;
    return { status: null, body: undefined, ms: Date.now() - started, error: reason };
  }
}

function downComponents(body: any): string {
  const error = body && typeof body === 'object' ? body.error : undefined;
  if (!error || typeof error !== 'object') return '';
  return Object.entries(error as Record<string, { message?: string }>)
    .map(([k, v]) => (v?.message ? `${k} (${v.message})` : k))
    .join(', ');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percent = (part: number, whole: number) => Math.round((part / whole) * 10_000) / 100;

/** A check's own answer slower than the response-time threshold fails it, like a slow API would. */
function timed(o: MonitorOptions, result: CheckResult): CheckResult {
  if (!result.ok || result.skipped || result.ms <= o.maxResponseMs) return result;
  return { ...result, ok: false, detail: `slow: ${result.ms} ms, above ${o.maxResponseMs} ms (${result.detail})` };
}

/**
 * Error rate, response time and database errors from the service's /metrics, over the window
 * between two reads (or since the instance started).
 */
async function serviceMetricChecks(o: MonitorOptions, first: Promise<Fetched> | undefined): Promise<CheckResult[]> {
  const token = o.metricsToken ?? o.token;
  const names = ['http errors', 'response time', 'database connections'];
  if (!token) return names.map((name) => ({ name, ok: true, skipped: true, status: null, ms: 0, detail: 'skipped: no MONITOR_TOKEN or MONITOR_METRICS_TOKEN' }));
  const before = first ? await first : undefined;
  if (before && before.status === 200) await sleep(o.windowSeconds * 1000);
  const after = before && before.status !== 200 ? before : await get(o.metricsUrl, o.timeoutMs, token);
  if (after.status !== 200) {
    const why = after.error ?? `HTTP ${after.status}${typeof after.body === 'object' && after.body?.message ? `: ${after.body.message}` : ''}`;
    return names.map((name) => ({ name, ok: false, status: after.status, ms: after.ms, detail: `/metrics: ${why}` }));
  }
  const latest = serviceSignals(parsePrometheusText(String(after.body)).samples);
  const signals = before ? signalsBetween(serviceSignals(parsePrometheusText(String(before.body)).samples), latest) : latest;
  const over = before ? `over ${o.windowSeconds} s` : 'since the instance started';
  const row = (name: string, ok: boolean, detail: string): CheckResult => ({ name, ok, status: 200, ms: after.ms, detail });

  const errorRate = signals.requests > 0 ? percent(signals.serverErrors, signals.requests) : null;
  const p95 = histogramQuantile(0.95, signals.buckets);
  const p95Ms = p95 === null ? null : Math.round(p95 * 1000);
  return [
    row(
      'http errors',
      errorRate === null || errorRate <= o.maxErrorRate,
      errorRate === null
        ? `no API requests ${over}`
        : `${errorRate}% 5xx of ${signals.requests} API requests ${over}${errorRate > o.maxErrorRate ? `, above ${o.maxErrorRate}%` : ''}`,
    ),
    row(
      'response time',
      p95Ms === null || p95Ms <= o.maxResponseMs,
      p95Ms === null ? `no API requests ${over}` : `p95 ${p95Ms} ms ${over}${p95Ms > o.maxResponseMs ? `, above ${o.maxResponseMs} ms` : ''}`,
    ),
    row(
      'database connections',
      signals.databaseErrors <= o.maxDatabaseErrors,
      `${signals.databaseErrors} Postgres connection error(s) ${over}${signals.databaseErrors > o.maxDatabaseErrors ? `, above ${o.maxDatabaseErrors}` : ''}`,
    ),
  ];
}

export async function runChecks(o: MonitorOptions): Promise<CheckResult[]> {
  const api = `${o.url}/api/v1`;
  const metricsToken = o.metricsToken ?? o.token;
  const firstScrape = metricsToken && o.windowSeconds > 0 ? get(o.metricsUrl, o.timeoutMs, metricsToken) : undefined;
  // Unsigned GETs on the webhooks: the service answers them 403 without counting a signature failure.
  const [live, ready, status, inbound, metrics, serviceChecks] = await Promise.all([
    get(`${api}/health`, o.timeoutMs),
    // Readiness names what is down only to an operator's token.
    get(`${api}/health/ready`, o.timeoutMs, o.token),
    get(`${api}/whatsapp/status`, o.timeoutMs),
    get(`${api}/whatsapp/webhook`, o.timeoutMs),
    o.token ? get(`${api}/whatsapp/delivery-metrics`, o.timeoutMs, o.token) : Promise.resolve(undefined),
    serviceMetricChecks(o, firstScrape),
  ]);
  const results: CheckResult[] = [];
  const unreachable = (f: Fetched) => f.error ?? `HTTP ${f.status}`;

  results.push({
    name: 'liveness',
    ok: live.status === 200,
    status: live.status,
    ms: live.ms,
    detail: live.status === 200 ? `event loop p99 ${live.body?.details?.eventLoop?.p99Ms ?? '?'} ms` : live.status === 503 ? `down: ${downComponents(live.body)}` : unreachable(live),
  });
  results.push({
    name: 'readiness',
    ok: ready.status === 200,
    status: ready.status,
    ms: ready.ms,
    detail: ready.status === 200 ? 'database, redis, migrations, workers, twilio up' : ready.status === 503 ? `down: ${downComponents(ready.body)}` : unreachable(ready),
  });
  // 403 means the route is there and checks signatures; 200 means it is there too.
  for (const [name, f] of [['webhook status', status], ['webhook inbound', inbound]] as const) {
    const ok = f.status === 200 || f.status === 403;
    results.push({ name, ok, status: f.status, ms: f.ms, detail: ok ? 'reachable' : f.status === 404 ? 'not found: wrong URL or prefix?' : unreachable(f) });
  }
  if (!metrics) {
    results.push({ name: 'delivery metrics', ok: true, skipped: true, status: null, ms: 0, detail: 'skipped: no MONITOR_TOKEN' });
  } else if (metrics.status !== 200) {
    const why = metrics.status === 401 || metrics.status === 403 ? `${metrics.body?.message ?? 'not allowed'}` : unreachable(metrics);
    results.push({ name: 'delivery metrics', ok: false, status: metrics.status, ms: metrics.ms, detail: why });
  } else {
    const m = metrics.body;
    const problems: string[] = [];
    if ((m.rates?.failureRate ?? 0) > o.maxFailureRate) problems.push(`failure rate above ${o.maxFailureRate}%`);
    if (o.maxBacklog !== undefined && (m.queueBacklog?.total ?? 0) > o.maxBacklog) problems.push(`backlog above ${o.maxBacklog}`);
    const pct = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : `${v}%`);
    const summary = `24h: ${m.totalMessages} messages, delivered ${pct(m.rates?.deliveryRate)}, failed ${pct(m.rates?.failureRate)}, p95 ${m.deliveryTime?.p95Ms ?? 'n/a'} ms, backlog ${m.queueBacklog?.total ?? '?'}`;
    results.push({ name: 'delivery metrics', ok: problems.length === 0, status: 200, ms: metrics.ms, detail: problems.length ? `${problems.join('; ')} (${summary})` : summary });
  }
  return [...results.map((r) => timed(o, r)), ...serviceChecks];
}

export function formatTable(url: string, results: CheckResult[], color: boolean): string {
  const paint = (code: number, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const mark = (r: CheckResult) => (r.skipped ? paint(33, '-') : r.ok ? paint(32, '✓') : paint(31, '✗'));
  const rows = results.map((r) => [r.name, r.status === null ? '—' : String(r.status), r.skipped ? '' : `${r.ms} ms`, r.detail]);
  const header = ['CHECK', 'HTTP', 'TIME', 'DETAIL'];
  const widths = [0, 1, 2].map((i) => Math.max(header[i].length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c)).join('  ');
  const failed = results.filter((r) => !r.ok).length;
  const verdict = failed === 0 ? paint(32, 'OK: every check passed') : paint(31, `FAILED: ${failed} of ${results.length} check(s)`);
  return [`Monitoring ${url}  (${new Date().toISOString()})`, `  ${line(header)}`, ...results.map((r, i) => `${mark(r)} ${line(rows[i])}`), verdict, ''].join('\n');
}

async function main(): Promise<void> {
  let options: MonitorOptions;
  try {
    options = parseArgs(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  const results = await runChecks(options);
  const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
  process.stdout.write(formatTable(options.url, results, color));
  process.exitCode = results.every((r) => r.ok) ? 0 : 1;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`monitor failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
