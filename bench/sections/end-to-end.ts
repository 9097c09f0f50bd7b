import { recipient } from '../support/callback-plan';
import { connect, sleep } from '../support/infra';
import { Contention, LockSampler } from '../support/lock-sampler';
import { Section } from '../support/options';
import { Measure } from '../support/report';
import { round } from '../support/stats';
import { DEFAULT_SENDER, peakRss, SECOND_SENDER, SectionContext, startServiceStack } from '../support/service-stack';

export interface EndToEndResult {
  messages: number;
  bulkMessages: number;
  singleMessages: number;
  senders: string[];
  workers: number;
  mps: number;
  sandboxStatusDelayMs: number;
  /** Not sent at all: the deadline came first. */
  notSent: number;
  /** Refused by the API (should be 0). */
  notAccepted: number;
  acceptSeconds: number;
  /** From the first send request to the last `read`. */
  seconds: number;
  messagesPerSecond: number;
  /** Handed to the sandbox (a SID stored) by the end. */
  sent: number;
  read: number;
  failed: number;
  /** Never `read` by the timeout. */
  lost: number;
  /** Created at the sandbox more than once for one of our messages. */
  duplicates: number;
  atSandbox: number;
  timedOut: boolean;
  contention: Contention;
  peakRssMb: Record<string, number | null>;
}

const SENDERS = [DEFAULT_SENDER, SECOND_SENDER];
const BULK_SIZE = 500;
const BULK_SHARE = 0.75;
const SINGLE_CONCURRENCY = 16;
const POLL_MS = 250;

interface SandboxMessageView {
  resource: { body: string | null };
}

/**
 * N messages through two senders, three quarters in bulk requests and the rest one by one at the
 * same time, from the first request until the sandbox's signed callbacks have made every one
 * `read`. Every body is unique, so the sandbox's messages show any message created twice.
 */
export async function runEndToEnd(ctx: SectionContext): Promise<{ result: EndToEndResult; measures: Measure[] }> {
  const { options } = ctx;
  const total = options.e2eMessages;
  const result = await measureEndToEnd(ctx, { section: Section.EndToEnd, total, split: false });
  const { messagesPerSecond, lost, duplicates, contention } = result;
  const section = Section.EndToEnd;
  const measures: Measure[] = [
    { section, name: `${total.toLocaleString('en-US')} messages, accept to read`, unit: 'msg/s', value: messagesPerSecond, target: '>= 400 msg/s', pass: messagesPerSecond >= 400 },
    { section, name: 'accept only (bulk + single)', unit: 'msg/s', value: round((total - result.notSent - result.notAccepted) / Math.max(0.001, result.acceptSeconds), 1) },
    { section, name: `lost (not read within ${options.e2eTimeoutS} s)`, unit: '', value: lost, target: '0', pass: lost === 0 },
    { section, name: 'duplicates at the sandbox', unit: '', value: duplicates, target: '0', pass: duplicates === 0 },
    { section, name: 'lock waits (% of active backends)', unit: '%', value: contention.lockWaitPercent },
  ];
  return { result, measures };
}

/**
 * The same run twice, on fresh databases: one `all` process, then one API process and one worker
 * process (APP_ROLE api + worker) on the same machine.
 */
export async function runScaleOut(ctx: SectionContext): Promise<{ result: { all: EndToEndResult; split: EndToEndResult; peakRssMb: Record<string, number | null> }; measures: Measure[] }> {
  const total = ctx.options.scaleOutMessages;
  const all = await measureEndToEnd(ctx, { section: `${Section.ScaleOut}_all`, total, split: false });
  const split = await measureEndToEnd(ctx, { section: `${Section.ScaleOut}_split`, total, split: true });
  const section = Section.ScaleOut;
  const name = `${total.toLocaleString('en-US')} messages, accept to read`;
  const measures: Measure[] = [
    { section, name: `${name}: 1 all process`, unit: 'msg/s', value: all.messagesPerSecond },
    {
      section,
      name: `${name}: 1 api + 1 worker`,
      unit: 'msg/s',
      value: split.messagesPerSecond,
      baseline: all.messagesPerSecond,
      ratio: round(split.messagesPerSecond / Math.max(0.001, all.messagesPerSecond), 2),
    },
    { section, name: 'lost + duplicates (both runs)', unit: '', value: all.lost + all.duplicates + split.lost + split.duplicates, target: '0', pass: all.lost + all.duplicates + split.lost + split.duplicates === 0 },
  ];
  // Per process name, as the memory table reads them: the worker and the API of the split run.
  const peak = (a: number | null | undefined, b: number | null | undefined) => (a == null ? (b ?? null) : b == null ? a : Math.max(a, b));
  const peakRssMb = { ...split.peakRssMb, service: peak(all.peakRssMb.service, null), sandbox: peak(all.peakRssMb.sandbox, split.peakRssMb.sandbox) };
  return { result: { all, split, peakRssMb }, measures };
}

interface EndToEndRun {
  section: string;
  total: number;
  split: boolean;
}

async function measureEndToEnd(ctx: SectionContext, run: EndToEndRun): Promise<EndToEndResult> {
  const { options } = ctx;
  const { total } = run;
  const stack = await startServiceStack(ctx, {
    section: run.section,
    senders: SENDERS,
    mps: options.e2eMps,
    workers: options.e2eWorkers,
    statusDelayMs: options.statusDelayMs,
    split: run.split,
  });
  const tag = `${ctx.runTag}-${run.section}`;
  const item = (i: number) => ({ to: recipient(i), message: `Order ${i} is on its way (${tag} #${i})`, from: SENDERS[i % SENDERS.length] });
  const bulkCount = Math.round(total * BULK_SHARE);

  const sampler = new LockSampler(options.adminUrl, stack.database);
  await sampler.start();
  const pg = await connect(stack.databaseUrl);
  let contention: Contention;
  let notAccepted = 0;
  let attempted = 0;
  let acceptedAt = 0;
  let lastReadMs = 0;
  let read = 0;
  let failed = 0;
  let sent = 0;
  let timedOut = false;
  const startedAt = Date.now();
  // Sending stops at the deadline too, so a slow service cannot stretch the run: what was never sent is lost.
  const deadline = startedAt + options.e2eTimeoutS * 1000;
  try {
    const bulk = (async () => {
      for (let from = 0; from < bulkCount && Date.now() < deadline; from += BULK_SIZE) {
        const messages = Array.from({ length: Math.min(BULK_SIZE, bulkCount - from) }, (_, k) => item(from + k));
        const res = await stack.api.post<{ accepted?: number }>('/api/v1/whatsapp/send/bulk', { messages });
        attempted += messages.length;
        notAccepted += res.status === 202 ? messages.length - (res.body.accepted ?? 0) : messages.length;
      }
    })();
    let nextSingle = bulkCount;
    const singles = Array.from({ length: SINGLE_CONCURRENCY }, async () => {
      while (nextSingle < total && Date.now() < deadline) {
        const i = nextSingle++;
        const res = await stack.api.post('/api/v1/whatsapp/send', item(i));
        attempted++;
        if (res.status !== 202) notAccepted++;
      }
    });
    await Promise.all([bulk, ...singles]);
    acceptedAt = Date.now();

    const expected = attempted - notAccepted;
    for (;;) {
      const { rows } = await pg.query<{ read: number; failed: number; sent: number; last_read_ms: string | null }>(
        `SELECT count(*) FILTER (WHERE status = 'read')::int AS read,
                count(*) FILTER (WHERE "messageSid" IS NOT NULL)::int AS sent,
                count(*) FILTER (WHERE status IN ('failed', 'undelivered'))::int AS failed,
                (extract(epoch FROM max("readAt")) * 1000)::bigint AS last_read_ms
           FROM "WhatsAppMessage" WHERE direction = 'outbound'`,
      );
      ({ read, failed, sent } = rows[0]);
      lastReadMs = Number(rows[0].last_read_ms ?? 0);
      if (read + failed >= expected) break;
      if (Date.now() > deadline) {
        timedOut = true;
        break;
      }
      await sleep(POLL_MS);
    }
  } finally {
    contention = await sampler.stop();
    await pg.end().catch(() => undefined);
  }

  const res = await fetch(`${stack.sandboxUrl}/sandbox/control/messages`);
  const sandboxMessages = (await res.json()) as SandboxMessageView[];
  const creates = new Map<string, number>();
  for (const m of sandboxMessages) {
    const body = m.resource.body ?? '';
    if (body.includes(`(${tag} #`)) creates.set(body, (creates.get(body) ?? 0) + 1);
  }
  const duplicates = [...creates.values()].reduce((sum, n) => sum + (n - 1), 0);
  const rss = peakRss(stack.service, stack.sandbox, ...(stack.worker ? [stack.worker] : []));
  await stack.worker?.stop();
  await stack.service.stop();
  await stack.sandbox.stop();

  const seconds = Math.max(0.001, ((lastReadMs || Date.now()) - startedAt) / 1000);
  const lost = total - read;
  const messagesPerSecond = round(read / seconds, 1);
  return {
    messages: total,
    bulkMessages: bulkCount,
    singleMessages: total - bulkCount,
    senders: SENDERS,
    workers: options.e2eWorkers,
    mps: options.e2eMps,
    sandboxStatusDelayMs: options.statusDelayMs,
    notSent: total - attempted,
    notAccepted,
    acceptSeconds: round((acceptedAt - startedAt) / 1000, 2),
    seconds: round(seconds, 2),
    messagesPerSecond,
    sent,
    read,
    failed,
    lost,
    duplicates,
    atSandbox: creates.size,
    timedOut,
    contention,
    peakRssMb: rss,
  };
}
