import {
  CALLBACKS_PER_MESSAGE,
  CallbackAccount,
  CallbackPlan,
  messageSid,
  planCallbacks,
  PlannedCallback,
  signedCallback,
} from '../support/callback-plan';
import { createDatabase, freePort, withClient } from '../support/infra';
import { MeasuredLoad, measureLoad, NextRequest } from '../support/load';
import { Section } from '../support/options';
import { startBaseline } from '../support/processes';
import { Measure, ratioOf } from '../support/report';
import {
  DEFAULT_SENDER,
  peakRss,
  SANDBOX_ACCOUNT_SID,
  SANDBOX_AUTH_TOKEN,
  SECOND_SENDER,
  SectionContext,
  startServiceStack,
} from '../support/service-stack';

export interface CallbacksResult {
  plan: { messages: number; callbacks: number; repeats: number; outOfOrderMessages: number };
  service: MeasuredLoad & { posted: number };
  floor: MeasuredLoad & { posted: number };
  ratio: number | null;
  /** Messages all of whose callbacks were answered 2xx, and how many of them did not end `read`. */
  stateCheck: { messagesComplete: number; notRead: number };
  peakRssMb: Record<string, number | null>;
}

const STATUS_PATH = '/api/v1/whatsapp/status';
const SENDERS = [DEFAULT_SENDER, SECOND_SENDER];

/** Walks the plan once; every answer is recorded by plan position. */
class PlanCursor {
  private position = 0;
  readonly answers: Int16Array;

  constructor(
    private readonly plan: CallbackPlan,
    private readonly account: CallbackAccount,
    private readonly url: string,
  ) {
    this.answers = new Int16Array(plan.items.length);
  }

  get posted(): number {
    return this.position;
  }

  next = (): NextRequest | null => {
    if (this.position >= this.plan.items.length) return null;
    const tag = this.position++;
    return { ...signedCallback(this.account, this.url, this.plan.items[tag]), tag };
  };

  answer = (status: number, tag: number): void => {
    this.answers[tag] = status;
  };
}

/** Messages whose three original callbacks were all answered 2xx. */
function completeMessages(plan: CallbackPlan, answers: Int16Array): number[] {
  const answered = new Uint8Array(plan.messages);
  plan.items.forEach((item: PlannedCallback, i) => {
    if (!item.repeat && answers[i] >= 200 && answers[i] < 300) answered[item.message]++;
  });
  const complete: number[] = [];
  answered.forEach((n, m) => n === 3 && complete.push(m));
  return complete;
}

/**
 * Signed, Twilio-shaped status callbacks (sent, delivered, read; about 10 % repeated, 5 % of
 * messages with two statuses swapped) for messages that exist, beside the floor (Fastify,
 * signature check, one event INSERT, one UPDATE). Both get the same plan from its start.
 */
export async function runCallbacks(ctx: SectionContext): Promise<{ result: CallbacksResult; measures: Measure[] }> {
  const { options, cleanup, logDir } = ctx;
  const timing = { warmupS: options.warmupS, durationS: options.durationS };
  const messages = Math.ceil((options.callbackPlanRate * (options.warmupS + options.durationS)) / CALLBACKS_PER_MESSAGE);
  const plan = planCallbacks(messages);
  const sidSeed = `${ctx.runTag}-cb-`;
  const account: CallbackAccount = {
    accountSid: SANDBOX_ACCOUNT_SID,
    authToken: SANDBOX_AUTH_TOKEN,
    sidSeed,
    senders: SENDERS,
    channelInstallSid: 'XE00000000000000000000000000000000',
  };

  const floorDb = `${ctx.runTag}_callbacks_baseline`;
  const floorDbUrl = await createDatabase(options.adminUrl, floorDb, cleanup);
  const floorPort = await freePort();
  const floorUrl = `http://127.0.0.1:${floorPort}${STATUS_PATH}`;
  const floorProcess = await startBaseline(
    'callback-floor',
    'bench/baselines/callback-floor.ts',
    { BASELINE_PORT: String(floorPort), BASELINE_DATABASE_URL: floorDbUrl, BASELINE_AUTH_TOKEN: SANDBOX_AUTH_TOKEN, BASELINE_PUBLIC_URL: floorUrl },
    logDir,
    cleanup,
  );
  await withClient(floorDbUrl, async (c) => {
    await c.query(`INSERT INTO floor_message (sid, status) SELECT 'SM' || md5($1 || g::text), 'queued' FROM generate_series(0, $2 - 1) g`, [sidSeed, messages]);
    await c.query('ANALYZE floor_message');
  });
  const floorCursor = new PlanCursor(plan, account, floorUrl);
  const floor = await measureLoad(
    { url: floorUrl, connections: options.connections, method: 'POST', next: floorCursor.next },
    timing,
    { adminUrl: options.adminUrl, database: floorDb },
  );
  const floorRss = peakRss(floorProcess);
  await floorProcess.stop();

  const stack = await startServiceStack(ctx, { section: Section.Callbacks, senders: SENDERS, mps: 80, statusDelayMs: options.statusDelayMs });
  await withClient(stack.databaseUrl, async (c) => {
    // Messages Twilio accepted (SID stored, status queued) and whose callbacks are still to come.
    await c.query(
      `INSERT INTO "WhatsAppMessage" (direction, "from", "to", body, status, "messageSid", "createdBy", attempts, "queuedAt", "lastAttemptAt")
       SELECT 'outbound', ($3::text[])[1 + g % 2], 'whatsapp:+1415' || (2000000 + g)::text, 'Your order ' || g || ' has shipped', 'queued',
              'SM' || md5($1 || g::text), $4::uuid, 1, now(), now()
         FROM generate_series(0, $2 - 1) g`,
      [sidSeed, messages, SENDERS, stack.adminId],
    );
    await c.query('ANALYZE "WhatsAppMessage"');
  });
  const serviceCursor = new PlanCursor(plan, account, stack.statusCallbackUrl);
  const service = await measureLoad(
    { url: `${stack.baseUrl}${STATUS_PATH}`, connections: options.connections, method: 'POST', next: serviceCursor.next, onAnswer: serviceCursor.answer },
    timing,
    { adminUrl: options.adminUrl, database: stack.database },
  );
  const complete = completeMessages(plan, serviceCursor.answers);
  const notRead = await withClient(stack.databaseUrl, async (c) => {
    const { rows } = await c.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "WhatsAppMessage" WHERE "messageSid" = ANY($1::varchar[]) AND status <> 'read'`,
      [complete.map((m) => messageSid(sidSeed, m))],
    );
    return rows[0].n;
  });
  const rss = { ...peakRss(stack.service, stack.sandbox), ...floorRss };
  await stack.service.stop();
  await stack.sandbox.stop();

  const ratio = ratioOf(service.load.reqPerSec, floor.load.reqPerSec);
  const s = service.load;
  const f = floor.load;
  const section = Section.Callbacks;
  const measures: Measure[] = [
    { section, name: 'status callbacks req/s (2xx)', unit: '', value: s.reqPerSec, baseline: f.reqPerSec, ratio, target: '>= 1.0x floor', pass: ratio !== null && ratio >= 1 },
    { section, name: 'p50', unit: 'ms', value: s.p50Ms, baseline: f.p50Ms },
    { section, name: 'p99', unit: 'ms', value: s.p99Ms, baseline: f.p99Ms },
    { section, name: 'non-2xx + errors', unit: '', value: s.non2xx + s.errors, baseline: f.non2xx + f.errors },
    {
      section,
      name: 'lock waits (% of active backends)',
      unit: '%',
      value: service.contention.lockWaitPercent,
      baseline: floor.contention.lockWaitPercent,
      target: '< 10 %',
      pass: service.contention.lockWaitPercent < 10,
    },
    { section, name: 'messages not read after all callbacks', unit: '', value: notRead, target: '0', pass: notRead === 0 },
  ];
  return {
    result: {
      plan: { messages, callbacks: plan.items.length, repeats: plan.repeats, outOfOrderMessages: plan.outOfOrder },
      service: { ...service, posted: serviceCursor.posted },
      floor: { ...floor, posted: floorCursor.posted },
      ratio,
      stateCheck: { messagesComplete: complete.length, notRead },
      peakRssMb: rss,
    },
    measures,
  };
}
