/**
 * Checks a running service from the outside and prints one line per check:
 *
 *   npm run monitor -- --url https://api.example.com --token "$ADMIN_TOKEN"
 *   node dist/scripts/monitor.js --url https://api.example.com      (token from MONITOR_TOKEN)
 *
 * Exit code 0 when every check passed, 1 when any failed, 2 on a usage error; colours only on
 * a terminal (and never with NO_COLOR), so cron mails stay readable.
 */

export interface MonitorOptions {
  url: string;
  token?: string;
  timeoutMs: number;
  /** Fail the metrics check above this failure rate (percent of settled messages). */
  maxFailureRate?: number;
  /** Fail the metrics check when more jobs than this wait (queue + outbox). */
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

const USAGE = `Usage: monitor --url <base URL> [--token <admin access token>] [--timeout <ms>] [--max-failure-rate <percent>] [--max-backlog <jobs>]
  --url               where the service answers, e.g. https://api.example.com (no /api/v1)
  --token             an admin's access token for the delivery metrics (or set MONITOR_TOKEN)
  --timeout           per request, default 5000 ms
  --max-failure-rate  fail when the last 24 h failure rate is above this percentage
  --max-backlog       fail when more jobs than this wait in the queue and the outbox`;

export class UsageError extends Error {}

export function parseArgs(argv: string[], env: Record<string, string | undefined> = {}): MonitorOptions {
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new UsageError(`Unexpected argument: ${arg}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${m[1]} needs a value`);
    values[m[1]] = value;
  }
  const known = ['url', 'token', 'timeout', 'max-failure-rate', 'max-backlog'];
  const unknown = Object.keys(values).find((k) => !known.includes(k));
  if (unknown) throw new UsageError(`Unknown option --${unknown}`);
  if (!values.url || !/^https?:\/\/[^\s/]+/i.test(values.url)) throw new UsageError('--url must be an http(s) URL');
  const number = (name: string): number | undefined => {
    if (values[name] === undefined) return undefined;
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a non-negative number`);
    return n;
  };
  return {
    url: values.url.replace(/\/+$/, ''),
    token: values.token ?? env.MONITOR_TOKEN ?? undefined,
    timeoutMs: number('timeout') ?? 5000,
    maxFailureRate: number('max-failure-rate'),
    maxBacklog: number('max-backlog'),
  };
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

export async function runChecks(o: MonitorOptions): Promise<CheckResult[]> {
  const api = `${o.url}/api/v1`;
  const [live, ready, status, inbound, metrics] = await Promise.all([
    get(`${api}/health`, o.timeoutMs),
    // Readiness names what is down only to an operator's token.
    get(`${api}/health/ready`, o.timeoutMs, o.token),
    get(`${api}/whatsapp/status`, o.timeoutMs),
    get(`${api}/whatsapp/webhook`, o.timeoutMs),
    o.token ? get(`${api}/whatsapp/delivery-metrics`, o.timeoutMs, o.token) : Promise.resolve(undefined),
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
  // Unsigned GETs: 403 means the route is there and checks signatures; 200 means it is there too.
  for (const [name, f] of [['webhook status', status], ['webhook inbound', inbound]] as const) {
    const ok = f.status === 200 || f.status === 403;
    results.push({ name, ok, status: f.status, ms: f.ms, detail: ok ? 'reachable' : f.status === 404 ? 'not found: wrong URL or prefix?' : unreachable(f) });
  }
  if (!metrics) {
    results.push({ name: 'delivery metrics', ok: true, skipped: true, status: null, ms: 0, detail: 'skipped: no --token (or MONITOR_TOKEN)' });
  } else if (metrics.status !== 200) {
    const why = metrics.status === 401 || metrics.status === 403 ? `${metrics.body?.message ?? 'not allowed'}` : unreachable(metrics);
    results.push({ name: 'delivery metrics', ok: false, status: metrics.status, ms: metrics.ms, detail: why });
  } else {
    const m = metrics.body;
    const problems: string[] = [];
    if (o.maxFailureRate !== undefined && (m.rates?.failureRate ?? 0) > o.maxFailureRate) problems.push(`failure rate above ${o.maxFailureRate}%`);
    if (o.maxBacklog !== undefined && (m.queueBacklog?.total ?? 0) > o.maxBacklog) problems.push(`backlog above ${o.maxBacklog}`);
    const pct = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : `${v}%`);
    const summary = `24h: ${m.totalMessages} messages, delivered ${pct(m.rates?.deliveryRate)}, failed ${pct(m.rates?.failureRate)}, p95 ${m.deliveryTime?.p95Ms ?? 'n/a'} ms, backlog ${m.queueBacklog?.total ?? '?'}`;
    results.push({ name: 'delivery metrics', ok: problems.length === 0, status: 200, ms: metrics.ms, detail: problems.length ? `${problems.join('; ')} (${summary})` : summary });
  }
  return results;
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
