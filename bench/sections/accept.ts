import { recipient } from '../support/callback-plan';
import { createDatabase, freePort, redisPrefix } from '../support/infra';
import { MeasuredLoad, measureLoad } from '../support/load';
import { startBaseline } from '../support/processes';
import { Measure, ratioOf } from '../support/report';
import { DEFAULT_SENDER, peakRss, SectionContext, startServiceStack } from '../support/service-stack';
import { Section } from '../support/options';

export interface AcceptResult {
  service: MeasuredLoad;
  baseline: MeasuredLoad;
  ratio: number | null;
  peakRssMb: Record<string, number | null>;
}

const SEND_PATH = '/api/v1/whatsapp/send';

/** Request bodies: a queued send to a new number every time. */
function sendBodies(): () => { body: string } {
  let n = 0;
  return () => {
    const i = n++;
    return { body: JSON.stringify({ to: recipient(i), message: `Your order ${i} has shipped` }) };
  };
}

/**
 * POST /whatsapp/send under `connections` connections, beside the naive baseline (Fastify, one
 * INSERT, one BullMQ add). The service's sender is held to 1 message/s so its workers stay
 * nearly idle: the number is the accept path, like the baseline's, whose jobs nobody takes.
 */
export async function runAccept(ctx: SectionContext): Promise<{ result: AcceptResult; measures: Measure[] }> {
  const { options, cleanup, logDir } = ctx;
  const timing = { warmupS: options.warmupS, durationS: options.durationS };

  const baselineDb = `${ctx.runTag}_accept_baseline`;
  const baselineUrl = await createDatabase(options.adminUrl, baselineDb, cleanup);
  const baselinePort = await freePort();
  const baselineProcess = await startBaseline(
    'accept-baseline',
    'bench/baselines/accept-baseline.ts',
    {
      BASELINE_PORT: String(baselinePort),
      BASELINE_DATABASE_URL: baselineUrl,
      BASELINE_REDIS_URL: options.redisUrl,
      BASELINE_REDIS_PREFIX: redisPrefix(options.redisUrl, `${ctx.runTag.replace(/_/g, '-')}-accept-baseline`, cleanup),
    },
    logDir,
    cleanup,
  );
  const baseline = await measureLoad(
    {
      url: `http://127.0.0.1:${baselinePort}${SEND_PATH}`,
      connections: options.connections,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer -' },
      next: sendBodies(),
    },
    timing,
    { adminUrl: options.adminUrl, database: baselineDb },
  );
  const baselineRss = peakRss(baselineProcess);
  await baselineProcess.stop();

  const stack = await startServiceStack(ctx, { section: Section.Accept, senders: [DEFAULT_SENDER], mps: 1, statusDelayMs: options.statusDelayMs });
  const service = await measureLoad(
    {
      url: `${stack.baseUrl}${SEND_PATH}`,
      connections: options.connections,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}` },
      next: sendBodies(),
    },
    timing,
    { adminUrl: options.adminUrl, database: stack.database },
  );
  const rss = { ...peakRss(stack.service, stack.sandbox), ...baselineRss };
  await stack.service.stop();
  await stack.sandbox.stop();

  const ratio = ratioOf(service.load.reqPerSec, baseline.load.reqPerSec);
  const s = service.load;
  const b = baseline.load;
  const section = Section.Accept;
  const measures: Measure[] = [
    { section, name: 'POST /send req/s (2xx)', unit: '', value: s.reqPerSec, baseline: b.reqPerSec, ratio, target: '>= 1.5x baseline', pass: ratio !== null && ratio >= 1.5 },
    { section, name: 'p50', unit: 'ms', value: s.p50Ms, baseline: b.p50Ms },
    { section, name: 'p99', unit: 'ms', value: s.p99Ms, baseline: b.p99Ms, target: '< 100 ms', pass: s.p99Ms < 100 },
    { section, name: 'non-2xx + errors', unit: '', value: s.non2xx + s.errors, baseline: b.non2xx + b.errors },
    {
      section,
      name: 'lock waits (% of active backends)',
      unit: '%',
      value: service.contention.lockWaitPercent,
      baseline: baseline.contention.lockWaitPercent,
      target: '< 10 %',
      pass: service.contention.lockWaitPercent < 10,
    },
  ];
  return { result: { service, baseline, ratio, peakRssMb: rss }, measures };
}
