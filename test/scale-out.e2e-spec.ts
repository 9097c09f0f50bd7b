import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recipient } from '../bench/support/callback-plan';
import { Cleanup } from '../bench/support/cleanup';
import { JsonClient } from '../bench/support/http';
import { connect, createDatabase, freePort, redisPrefix, sleep } from '../bench/support/infra';
import { BenchProcess, startSandbox, startService } from '../bench/support/processes';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  DEFAULT_SENDER,
  SANDBOX_ACCOUNT_SID,
  SANDBOX_AUTH_TOKEN,
  SECOND_SENDER,
  serviceEnv,
} from '../bench/support/service-stack';
import type { SandboxRequestStats } from '../libs/twilio-sandbox/sandbox.types';
import { ensureBuilt } from './support/built-code';
import { TEST_PG_URL, TEST_REDIS_URL, uniqueName } from './support/test-app';

const SENDERS = [DEFAULT_SENDER, SECOND_SENDER];
const MESSAGES = 2000;
/** Accepted before any worker runs: the API processes must leave them alone. */
const BEFORE_WORKERS = 500;
const BULK_SIZE = 500;
/**
 * Per sender: 1,000 messages each take 40 s at this rate. Each message brings four callbacks, and
 * the machine running the suite has two cores shared with other test files: faster, and the APIs
 * answer callbacks later than the sandbox waits (then reconciliation has to fetch the statuses).
 */
const MPS = 25;
/** This many have been sent when the first worker is killed: well into the run. */
const KILL_AFTER = 800;

/**
 * Arrival jitter a loaded two-core machine adds between a worker taking its slot and the sandbox
 * receiving the request (event-loop stalls of four processes, the suite's other files): a request
 * whose slot fell just before a one-second window can arrive inside it. Over five seconds the
 * same jitter is a rounding error, so the long window is held to the exact rate.
 */
const JITTER_ALLOWANCE = 3;

/** The most requests of one sender the sandbox received in any window of `windowMs`. */
function maxInAnyWindow(receivedAtMs: number[], windowMs: number): number {
  const times = [...receivedAtMs].sort((a, b) => a - b);
  let max = 0;
  for (let first = 0, last = 0; last < times.length; last++) {
    while (times[last] - times[first] >= windowMs) first++;
    max = Math.max(max, last - first + 1);
  }
  return max;
}

/**
 * The service as deployed at scale, from built code: two API processes and two worker processes
 * on one Postgres and one Redis, the standalone sandbox as Twilio. Messages go in through both
 * APIs from two senders, the first of them while no worker runs; one worker is killed with SIGKILL
 * mid-run and started again. Every message must end `read`, created at the sandbox exactly once,
 * and no sender may exceed its MPS there in any one-second window.
 */
describe('scale-out: 2 API and 2 worker processes (e2e)', () => {
  const cleanup = new Cleanup();
  const logDir = mkdtempSync(join(tmpdir(), 'wa-scale-out-'));

  afterAll(async () => {
    await cleanup.unwind();
    rmSync(logDir, { recursive: true, force: true });
  });

  it(`sends ${MESSAGES} messages through both APIs, exactly once each, across a killed worker`, async () => {
    await ensureBuilt();
    const databaseUrl = await createDatabase(TEST_PG_URL, uniqueName('wa_e2e'), cleanup);
    const prefix = redisPrefix(TEST_REDIS_URL, uniqueName('wa-scale'), cleanup);
    const [sandboxPort, ...ports] = await Promise.all([0, 1, 2, 3, 4].map(() => freePort()));
    const [apiPorts, workerPorts] = [ports.slice(0, 2), ports.slice(2)];
    const apiUrls = apiPorts.map((port) => `http://127.0.0.1:${port}`);
    const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
    await startSandbox({ port: sandboxPort, accountSid: SANDBOX_ACCOUNT_SID, authToken: SANDBOX_AUTH_TOKEN, statusDelayMs: 50, logDir }, cleanup);

    const deployment = { databaseUrl, redisUrl: TEST_REDIS_URL, redisPrefix: prefix, jwtSecret: randomBytes(32).toString('hex'), sandboxUrl, senders: SENDERS, mps: MPS };
    // Four processes share the test Postgres with other test files: a small pool each.
    const poolEnv = { DATABASE_POOL_MIN: '1', DATABASE_POOL_MAX: '6' };
    const startApi = (i: number) =>
      startService(
        { ...serviceEnv({ ...deployment, role: 'api', port: apiPorts[i], publicUrl: apiUrls[i] }), ...poolEnv },
        logDir,
        cleanup,
        `api-${i + 1}`,
      );
    const startWorker = (i: number, name: string) =>
      startService(
        {
          // Each worker's messages report to one of the APIs, as a load balancer would spread them.
          ...serviceEnv({ ...deployment, role: 'worker', port: workerPorts[i], publicUrl: apiUrls[i] }),
          ...poolEnv,
          // A killed worker's unanswered sends are looked up at Twilio once this has passed.
          TWILIO_TIMEOUT_MS: '10000',
          // Callbacks the overloaded APIs answered too late for the sandbox are fetched instead.
          RECONCILE_INTERVAL_MS: '5000',
          RECONCILE_AFTER_MS: '30000',
        },
        logDir,
        cleanup,
        name,
      );

    // Both APIs start at once: their migrations take turns under the lock.
    await Promise.all([startApi(0), startApi(1)]);
    const apis = apiUrls.map((url) => new JsonClient(url, null, 4));
    cleanup.add('close api clients', async () => apis.forEach((a) => a.close()));
    for (const api of apis) {
      const login = await api.post<{ accessToken: string }>('/api/v1/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
      expect(login.status).toBe(200);
      api.authorize(login.body.accessToken);
    }
    const pg = await connect(databaseUrl);
    cleanup.add('close pg', () => pg.end());
    const sandboxStats = async () => (await (await fetch(`${sandboxUrl}/sandbox/control/requests`)).json()) as SandboxRequestStats;

    const item = (i: number) => ({ to: recipient(i), message: `Scale-out message #${i}`, from: SENDERS[i % SENDERS.length] });
    /** Messages [from, to) in bulk requests, alternating between the two APIs, two requests at a time. */
    const sendRange = async (from: number, to: number) => {
      const batches: number[] = [];
      for (let start = from; start < to; start += BULK_SIZE) batches.push(start);
      await Promise.all(
        batches.map(async (start, n) => {
          const messages = Array.from({ length: Math.min(BULK_SIZE, to - start) }, (_, k) => item(start + k));
          const res = await apis[n % 2].post<{ accepted: number }>('/api/v1/whatsapp/send/bulk', { messages });
          expect({ status: res.status, accepted: res.body.accepted }).toEqual({ status: 202, accepted: messages.length });
        }),
      );
    };

    await sendRange(0, BEFORE_WORKERS);
    // Longer than the relays' poll and a worker's pick-up: were an API to relay or send, it would have.
    await sleep(3000);
    expect((await sandboxStats()).total).toBe(0);
    const [{ waiting }] = (await pg.query<{ waiting: number }>('SELECT count(*)::int AS waiting FROM outbox')).rows;
    expect(waiting).toBe(BEFORE_WORKERS);

    const workers: BenchProcess[] = await Promise.all([startWorker(0, 'worker-1'), startWorker(1, 'worker-2')]);
    await sendRange(BEFORE_WORKERS, MESSAGES);

    // Counted in the database: the sandbox's request log is the one to check, but copying it while
    // it is being written would take the time the sandbox needs to answer the workers.
    const sentSoFar = async () => (await pg.query<{ n: number }>('SELECT count(*)::int AS n FROM "WhatsAppMessage" WHERE "messageSid" IS NOT NULL')).rows[0].n;
    while ((await sentSoFar()) < KILL_AFTER) await sleep(250);
    process.kill(workers[0].pid, 'SIGKILL');
    for (let i = 0; workers[0].exit() === null && i < 100; i++) await sleep(50);
    expect(workers[0].exit()).toMatch(/SIGKILL/);
    await startWorker(0, 'worker-1-restarted');

    const deadline = Date.now() + 150_000;
    let read = 0;
    while (read < MESSAGES && Date.now() < deadline) {
      await sleep(500);
      [{ read }] = (await pg.query<{ read: number }>(`SELECT count(*)::int AS read FROM "WhatsAppMessage" WHERE status = 'read'`)).rows;
    }
    const { rows: notRead } = await pg.query(`SELECT status, count(*)::int AS count FROM "WhatsAppMessage" WHERE status <> 'read' GROUP BY 1`);
    expect({ read, notRead }).toEqual({ read: MESSAGES, notRead: [] });

    const stats = await sandboxStats();
    const creates = stats.records.filter((r) => r.outcome === 'created');
    expect(creates).toHaveLength(MESSAGES);
    const perRecipient = new Map<string, number>();
    for (const r of creates) perRecipient.set(String(r.params.To), (perRecipient.get(String(r.params.To)) ?? 0) + 1);
    expect(perRecipient.size).toBe(MESSAGES);
    expect([...perRecipient.values()].filter((n) => n !== 1)).toEqual([]);
    const [{ sids }] = (await pg.query<{ sids: number }>('SELECT count(DISTINCT "messageSid")::int AS sids FROM "WhatsAppMessage"')).rows;
    expect(sids).toBe(MESSAGES);

    for (const sender of SENDERS) {
      const times = creates.filter((r) => r.params.From === sender).map((r) => Date.parse(r.receivedAt));
      expect({ sender, sent: times.length }).toEqual({ sender, sent: MESSAGES / 2 });
      expect(maxInAnyWindow(times, 5_000)).toBeLessThanOrEqual(5 * MPS);
      expect(maxInAnyWindow(times, 1_000)).toBeLessThanOrEqual(MPS + JITTER_ALLOWANCE);
    }
  }, 300_000);
});
