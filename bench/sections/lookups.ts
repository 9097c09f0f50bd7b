import { JsonClient } from '../support/http';
import { withClient } from '../support/infra';
import { deliveryMetricsQueries, seedMessagesSql } from '../support/message-seed';
import { Section } from '../support/options';
import { Measure } from '../support/report';
import { LatencySummary, round, summarize } from '../support/stats';
import { DEFAULT_SENDER, peakRss, SectionContext, startServiceStack } from '../support/service-stack';

export interface LookupsResult {
  rows: number;
  seedSeconds: number;
  byId: LatencySummary;
  bySid: LatencySummary;
  deliveryMetrics: LatencySummary;
  /** Answers other than 200 (should be 0). */
  errors: number;
  peakRssMb: Record<string, number | null>;
}

const WARMUP_REQUESTS = 200;
const METRICS_WARMUP_REQUESTS = 30;

function shuffled<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * GET /delivery-status/:id by message id and by SID, and GET /delivery-metrics over the
 * bench:metrics query mix, one request at a time over a keep-alive connection, with `rows`
 * complete messages stored (seeded with one INSERT ... SELECT generate_series, then ANALYZE).
 */
export async function runLookups(ctx: SectionContext): Promise<{ result: LookupsResult; measures: Measure[] }> {
  const { options } = ctx;
  const stack = await startServiceStack(ctx, { section: Section.Lookups, senders: [DEFAULT_SENDER], mps: 80, statusDelayMs: options.statusDelayMs });
  const rows = options.lookupRows;
  const n = options.lookupRequests;
  const seedStarted = Date.now();
  const sample = await withClient(stack.databaseUrl, async (c) => {
    await c.query(seedMessagesSql({ offset: 0, count: rows, total: rows, detail: { createdBy: stack.adminId, sidSeed: `${ctx.runTag}-lookup-` } }));
    // The seed's rollup contributions are journaled like any write; fold them now, so the
    // lookups are measured on a settled database rather than beside a million-row fold.
    while ((await c.query<{ n: number }>('SELECT delivery_rollup_fold_journal(100000, true) AS n')).rows[0].n > 0);
    await c.query('ANALYZE');
    const percent = Math.min(100, (100 * 4 * (n + WARMUP_REQUESTS)) / rows);
    const { rows: picked } = await c.query<{ id: string; messageSid: string }>(
      `SELECT id::text, "messageSid" FROM "WhatsAppMessage" TABLESAMPLE BERNOULLI (${percent}) WHERE "messageSid" IS NOT NULL LIMIT ${2 * (n + WARMUP_REQUESTS)}`,
    );
    return shuffled(picked);
  });
  const seedSeconds = round((Date.now() - seedStarted) / 1000, 1);
  if (sample.length < n + WARMUP_REQUESTS) throw new Error(`only ${sample.length} messages sampled for ${n} lookups`);

  const client = new JsonClient(stack.baseUrl, stack.token, 1);
  let errors = 0;
  const timed = async (path: string): Promise<number> => {
    const res = await client.get(path);
    if (res.status !== 200) errors++;
    return res.ms;
  };
  const byId: number[] = [];
  const bySid: number[] = [];
  try {
    for (let i = 0; i < WARMUP_REQUESTS; i++) {
      await timed(`/api/v1/whatsapp/delivery-status/${i % 2 ? sample[i].id : sample[i].messageSid}`);
    }
    for (let i = WARMUP_REQUESTS; i < WARMUP_REQUESTS + n; i++) {
      byId.push(await timed(`/api/v1/whatsapp/delivery-status/${sample[i].id}`));
      bySid.push(await timed(`/api/v1/whatsapp/delivery-status/${sample[sample.length - 1 - (i - WARMUP_REQUESTS)].messageSid}`));
    }
    const queries = deliveryMetricsQueries();
    const metrics: number[] = [];
    for (let i = 0; i < METRICS_WARMUP_REQUESTS; i++) await timed(`/api/v1/whatsapp/delivery-metrics?${queries[i % queries.length]}`);
    for (let i = 0; i < options.metricsRequests; i++) metrics.push(await timed(`/api/v1/whatsapp/delivery-metrics?${queries[i % queries.length]}`));

    const rss = peakRss(stack.service, stack.sandbox);
    const result: LookupsResult = {
      rows,
      seedSeconds,
      byId: summarize(byId),
      bySid: summarize(bySid),
      deliveryMetrics: summarize(metrics),
      errors,
      peakRssMb: rss,
    };
    const section = Section.Lookups;
    const stored = `${rows.toLocaleString('en-US')} messages`;
    const measures: Measure[] = [
      { section, name: `delivery-status by id, ${stored}: p50`, unit: 'ms', value: result.byId.p50Ms },
      { section, name: `delivery-status by id, ${stored}: p99`, unit: 'ms', value: result.byId.p99Ms, target: '< 5 ms', pass: result.byId.p99Ms < 5 },
      { section, name: `delivery-status by SID, ${stored}: p50`, unit: 'ms', value: result.bySid.p50Ms },
      { section, name: `delivery-status by SID, ${stored}: p99`, unit: 'ms', value: result.bySid.p99Ms, target: '< 5 ms', pass: result.bySid.p99Ms < 5 },
      { section, name: `delivery-metrics, ${stored}: p95`, unit: 'ms', value: result.deliveryMetrics.p95Ms, target: '< 50 ms', pass: result.deliveryMetrics.p95Ms < 50 },
      { section, name: 'answers other than 200', unit: '', value: errors, target: '0', pass: errors === 0 },
    ];
    return { result, measures };
  } finally {
    client.close();
    await stack.service.stop();
    await stack.sandbox.stop();
  }
}
