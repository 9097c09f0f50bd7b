import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { sleep } from '../../../bench/support/infra';
import { TestPostgresServer } from '../../support/postgres-server';
import { FINAL_STATUSES, HealthWatch, ProcessStack, statusCounts } from '../../support/process-stack';
import { TestRedisOptions, TestRedisServer } from '../../support/redis-server';
import { freePort } from '../../support/test-app';
import { ClientLoad, ClientLoadSpec } from './client-load';

/**
 * The hooks of a chaos spec file: the file's private Postgres cluster (its scenarios' databases
 * live there), and the running test's scenario, stopped after it. Each file has its own cluster,
 * so the files can run side by side (one jest worker each) and a Postgres restart in one file
 * touches no other file's scenario.
 */
export function chaosScenarios(): (spec: ScenarioSpec) => Promise<ChaosScenario> {
  let postgres: TestPostgresServer;
  let scenario: ChaosScenario | undefined;

  beforeAll(async () => {
    postgres = new TestPostgresServer(await freePort());
    await postgres.init();
  });
  afterEach(async () => {
    await scenario?.stop();
    scenario = undefined;
  });
  afterAll(() => postgres?.destroy());

  return async (spec) => (scenario = await ChaosScenario.start(spec, postgres));
}

export interface ScenarioSpec {
  name: string;
  /** Service settings beyond the stack's (e.g. a slow sender to keep a backlog). */
  env?: Record<string, string>;
  redis?: TestRedisOptions;
  statusDelayMs?: number;
}

export interface ScenarioReport {
  scenario: string;
  accepted: number;
  refused: number;
  clientRetries: number;
  /** Messages in the database per status when the scenario ended. */
  statuses: Record<string, number>;
  notFinal: number;
  /** Bodies the sandbox holds more than once, and accepted bodies it never got. */
  duplicatesAtSandbox: number;
  missingAtSandbox: number;
  replayMismatches: number;
  healthProbes: number;
  healthSilent: number;
  serviceRestarts: number;
  /** Where the processes' logs are (kept with KEEP_TEST_LOGS=1). */
  logs: string;
}

/**
 * One chaos scenario: a private Redis, a database of its own on the battery's private Postgres,
 * the standalone sandbox and the built service as processes, clients with Idempotency-Keys, and
 * a liveness probe four times a second. The scenario's faults are applied by the test; finish()
 * waits for every accepted message to settle and reports what the system shows.
 */
export class ChaosScenario {
  readonly redis: TestRedisServer;
  stack!: ProcessStack;
  health!: HealthWatch;
  databaseUrl = '';
  private restarts = 0;
  private loads: ClientLoad[] = [];

  private constructor(
    private readonly spec: ScenarioSpec,
    readonly postgres: TestPostgresServer,
    redisPort: number,
  ) {
    this.redis = new TestRedisServer(redisPort, spec.redis);
  }

  static async start(spec: ScenarioSpec, postgres: TestPostgresServer): Promise<ChaosScenario> {
    const scenario = new ChaosScenario(spec, postgres, await freePort());
    await scenario.redis.start();
    scenario.databaseUrl = await postgres.createDatabase(`chaos_${spec.name.replace(/\W+/g, '_')}_${randomBytes(3).toString('hex')}`);
    const env = {
      // Statuses must converge within the scenario, so the waits a fault leaves behind are set
      // as an operator whose requests and Twilio calls are known to be short would set them (the
      // sandbox answers in milliseconds): reconciliation looks at messages idle for 10 s (10
      // minutes in production); a killed or cut-off request's Idempotency-Key is free after 15 s,
      // a killed attempt's message after 40 s (two 5 s Twilio calls and the 30 s slack), and a
      // killed worker's job runs again within about 20 s (60 s, 60 s and 60 s by default).
      RECONCILE_AFTER_MS: '10000',
      RECONCILE_INTERVAL_MS: '2000',
      IDEMPOTENCY_LEASE_MS: '15000',
      TWILIO_TIMEOUT_MS: '5000',
      QUEUE_LOCK_DURATION_MS: '10000',
      ...spec.env,
    };
    scenario.stack = new ProcessStack({ redisUrl: scenario.redis.url, databaseUrl: scenario.databaseUrl, env, statusDelayMs: spec.statusDelayMs });
    await scenario.stack.start();
    scenario.health = new HealthWatch(scenario.stack);
    return scenario;
  }

  load(spec: Omit<ClientLoadSpec, 'label'>): ClientLoad {
    const load = new ClientLoad(this.stack, { label: this.spec.name, ...spec }).start();
    this.loads.push(load);
    return load;
  }

  /** Signals the service, waits for it to end, and starts it again; how it ended. */
  async restartService(signal: NodeJS.Signals): Promise<string | null> {
    this.health.pause();
    const ended = await this.stack.signalService(signal, 30_000);
    if (ended === null) await this.stack.signalService('SIGKILL');
    await this.stack.startService();
    this.restarts++;
    this.health.resume();
    return ended;
  }

  /** Waits until the sandbox has sent at least `n` messages (a run is under way). */
  async waitForSandbox(n: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.stack.sandboxMessagesByBody()).size < n) {
      if (Date.now() > deadline) throw new Error(`the sandbox did not get ${n} messages within ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  /** Waits for the clients and for every message to be final (or `settleMs`), then measures. */
  async finish(settleMs: number): Promise<ScenarioReport> {
    for (const load of this.loads) await load.done();
    for (const load of this.loads) await load.replayAll();
    const deadline = Date.now() + settleMs;
    let statuses: Record<string, number> = {};
    for (;;) {
      statuses = await statusCounts(this.databaseUrl).catch(() => statuses);
      const total = Object.values(statuses).reduce((a, b) => a + b, 0);
      const final = FINAL_STATUSES.reduce((n, s) => n + (statuses[s] ?? 0), 0);
      if ((total > 0 && final === total) || Date.now() > deadline) break;
      await sleep(500);
    }
    const { probes, silent } = await this.health.stop();
    const atSandbox = await this.stack.sandboxMessagesByBody();
    const acceptedBodies = await this.acceptedBodies();
    const report: ScenarioReport = {
      scenario: this.spec.name,
      accepted: this.loads.reduce((n, l) => n + l.accepted.size, 0),
      refused: this.loads.reduce((n, l) => n + l.refused.length, 0),
      clientRetries: this.loads.reduce((n, l) => n + l.retries, 0),
      statuses,
      notFinal: Object.entries(statuses).reduce((n, [s, c]) => n + ((FINAL_STATUSES as readonly string[]).includes(s) ? 0 : c), 0),
      duplicatesAtSandbox: [...atSandbox.values()].filter((c) => c > 1).length,
      missingAtSandbox: acceptedBodies.filter((b) => !atSandbox.has(b)).length,
      replayMismatches: this.loads.reduce((n, l) => n + l.replayMismatches.length, 0),
      healthProbes: probes,
      healthSilent: silent,
      serviceRestarts: this.restarts,
      logs: this.stack.logDir,
    };
    process.stdout.write(`chaos ${formatReport(report)}\n`);
    return report;
  }

  /** Bodies of the messages the service accepted that did not fail (a failed one may never reach Twilio). */
  private async acceptedBodies(): Promise<string[]> {
    const client = new Client({ connectionString: this.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ body: string }>(`SELECT body FROM "WhatsAppMessage" WHERE direction = 'outbound' AND status NOT IN ('failed', 'undelivered', 'canceled')`);
      return rows.map((r) => r.body);
    } finally {
      await client.end();
    }
  }

  async stop(): Promise<void> {
    await this.health?.stop();
    await this.stack?.stop();
    await this.redis.destroy();
  }
}

export function formatReport(r: ScenarioReport): string {
  const statuses = Object.entries(r.statuses)
    .map(([s, c]) => `${s} ${c}`)
    .join(', ');
  return (
    `${r.scenario}: accepted ${r.accepted} (refused ${r.refused}, client retries ${r.clientRetries}); ${statuses}; not final ${r.notFinal}; ` +
    `duplicates at the sandbox ${r.duplicatesAtSandbox}, missing ${r.missingAtSandbox}; idempotency replays answering another id ${r.replayMismatches}; ` +
    `/health probes ${r.healthProbes}, silent > 2 s ${r.healthSilent}; service restarts ${r.serviceRestarts}`
  );
}

/** What every scenario must show. */
export function expectSettledOnce(report: ScenarioReport): void {
  expect({
    refused: report.refused,
    notFinal: report.notFinal,
    duplicatesAtSandbox: report.duplicatesAtSandbox,
    missingAtSandbox: report.missingAtSandbox,
    replayMismatches: report.replayMismatches,
    healthSilent: report.healthSilent,
    logs: report.logs,
  }).toEqual({ refused: 0, notFinal: 0, duplicatesAtSandbox: 0, missingAtSandbox: 0, replayMismatches: 0, healthSilent: 0, logs: report.logs });
  expect(report.accepted).toBeGreaterThan(0);
  expect(report.healthProbes).toBeGreaterThan(0);
}
