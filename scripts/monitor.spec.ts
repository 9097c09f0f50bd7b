import { DEFAULT_THRESHOLDS, histogramQuantile, parseArgs, parsePrometheusText, serviceSignals, signalsBetween, UsageError } from './monitor';

const exposition = (ok: number, errors: number, probes: number) => `# HELP http_request_duration_seconds HTTP request duration
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.5",method="POST",route="/api/v1/whatsapp/send",status_code="202"} ${ok}
http_request_duration_seconds_bucket{le="1",method="POST",route="/api/v1/whatsapp/send",status_code="202"} ${ok}
http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/api/v1/whatsapp/send",status_code="202"} ${ok}
http_request_duration_seconds_count{method="POST",route="/api/v1/whatsapp/send",status_code="202"} ${ok}
http_request_duration_seconds_bucket{le="0.5",method="POST",route="/api/v1/whatsapp/send",status_code="500"} 0
http_request_duration_seconds_bucket{le="1",method="POST",route="/api/v1/whatsapp/send",status_code="500"} 0
http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/api/v1/whatsapp/send",status_code="500"} ${errors}
http_request_duration_seconds_count{method="POST",route="/api/v1/whatsapp/send",status_code="500"} ${errors}
http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/api/v1/health/ready",status_code="503"} ${probes}
http_request_duration_seconds_count{method="GET",route="/api/v1/health/ready",status_code="503"} ${probes}
# TYPE whatsapp_database_connection_errors_total counter
whatsapp_database_connection_errors_total{kind="connect"} 0
whatsapp_database_connection_errors_total{kind="idle"} 2
`;

describe('monitor arguments', () => {
  it("defaults to the runbook's thresholds and takes tokens from the environment only", () => {
    const o = parseArgs(['--url', 'https://api.example.com/'], { MONITOR_TOKEN: 'jwt', MONITOR_METRICS_TOKEN: 'scrape' });
    expect(o).toMatchObject({ url: 'https://api.example.com', token: 'jwt', metricsToken: 'scrape', metricsUrl: 'https://api.example.com/metrics', windowSeconds: 10 });
    expect(o).toMatchObject(DEFAULT_THRESHOLDS);
    expect(DEFAULT_THRESHOLDS).toEqual({ maxErrorRate: 5, maxResponseMs: 1000, maxFailureRate: 10, maxDatabaseErrors: 0 });
  });

  it.each([
    [['--url', 'https://a.example', '--token', 'secret'], /MONITOR_TOKEN/],
    [['--url', 'https://a.example', '--token=secret'], /MONITOR_TOKEN/],
    [['--url', 'ftp://a.example'], /--url must be an http\(s\) URL/],
    [['--url', 'https://a.example', '--metrics-url', 'a.example:9100'], /--metrics-url must be an http\(s\) URL/],
    [['--url', 'https://a.example', '--window', '-1'], /--window must be a non-negative number/],
    [['--url', 'https://a.example', '--max-error-rate', ''], /--max-error-rate must be a non-negative number/],
    [['--url', 'https://a.example', '--verbose', 'yes'], /Unknown option --verbose/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

describe('service signals from /metrics', () => {
  it('counts API answers and 5xx without probes and scrapes, and Postgres connection errors of every kind', () => {
    const s = serviceSignals(parsePrometheusText(exposition(90, 10, 500)).samples);
    expect(s).toMatchObject({ requests: 100, serverErrors: 10, databaseErrors: 2 });
    expect(s.buckets.get(Infinity)).toBe(100);
  });

  it('measures the window between two reads, and only the later read after a restart', () => {
    const before = serviceSignals(parsePrometheusText(exposition(90, 10, 5)).samples);
    const after = serviceSignals(parsePrometheusText(exposition(180, 10, 9)).samples);
    expect(signalsBetween(before, after)).toMatchObject({ requests: 90, serverErrors: 0, databaseErrors: 0 });
    const restarted = serviceSignals(parsePrometheusText(exposition(3, 0, 0)).samples);
    expect(signalsBetween(before, restarted)).toBe(restarted);
  });

  it("computes quantiles as Prometheus' histogram_quantile does", () => {
    const buckets = new Map([[0.1, 50], [0.5, 90], [1, 100], [Infinity, 100]]);
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.1);
    expect(histogramQuantile(0.95, buckets)).toBeCloseTo(0.75);
    expect(histogramQuantile(0.99, new Map([[1, 10], [Infinity, 100]]))).toBe(1);
    expect(histogramQuantile(0.95, new Map([[1, 0], [Infinity, 0]]))).toBeNull();
  });
});
