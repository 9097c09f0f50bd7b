import { sleep } from '../../bench/support/infra';
import { TestPostgresServer } from '../support/postgres-server';
import { freePort } from '../support/test-app';
import { ChaosScenario, expectSettledOnce, ScenarioSpec } from './support/chaos-scenario';

/**
 * Issue 12's chaos battery: real processes (the built service, the standalone sandbox as Twilio),
 * a private Postgres cluster and a private Redis per scenario, clients that retry with an
 * Idempotency-Key. In every scenario each accepted message reaches a final status, reaches the
 * sandbox exactly once, and /health never stays silent for more than 2 s while the service runs.
 * `npm run test:chaos`; each scenario prints its counts.
 */
describe('chaos', () => {
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

  const start = async (spec: ScenarioSpec): Promise<ChaosScenario> => (scenario = await ChaosScenario.start(spec, postgres));

  it('kill -9 of the service three times under load', async () => {
    const s = await start({ name: 'kill-9-x3', env: { TWILIO_MPS: '40' } });
    s.load({ messages: 200, clients: 8 });
    await s.waitForSandbox(20);
    for (let i = 0; i < 3; i++) {
      expect(await s.restartService('SIGKILL')).toMatch(/SIGKILL$/);
      await sleep(2000);
    }
    expectSettledOnce(await s.finish(120_000));
  });

  it('a Redis restart under a backlog (kill -9, back 5 s later with its data)', async () => {
    const s = await start({ name: 'redis-restart', env: { TWILIO_MPS: '20' }, redis: { persistent: true } });
    const load = s.load({ messages: 200, clients: 8 });
    await load.done();
    await s.waitForSandbox(20);
    await s.redis.stop();
    await sleep(5000);
    await s.redis.start();
    expectSettledOnce(await s.finish(120_000));
  });

  it('FLUSHALL under a backlog', async () => {
    const s = await start({ name: 'flushall', env: { TWILIO_MPS: '20', REDIS_WATCH_INTERVAL_MS: '1000' } });
    const load = s.load({ messages: 200, clients: 8 });
    await load.done();
    await s.waitForSandbox(20);
    await s.redis.command('FLUSHALL');
    expectSettledOnce(await s.finish(120_000));
  });

  it('a Postgres restart under load', async () => {
    const s = await start({ name: 'postgres-restart', env: { TWILIO_MPS: '40' } });
    s.load({ messages: 200, clients: 8 });
    await s.waitForSandbox(20);
    s.postgres.stop('immediate');
    await sleep(3000);
    await s.postgres.start();
    expectSettledOnce(await s.finish(120_000));
  });

  it('Twilio answering 20% 429, 5% 5xx and losing 2% of its answers', async () => {
    const s = await start({ name: 'twilio-faults', env: { TWILIO_MPS: '80', TWILIO_TIMEOUT_MS: '2000' } });
    await s.stack.setSandboxFaults({ rateLimitProbability: 0.2, serverErrorProbability: 0.05, timeoutProbability: 0.02, timeoutAnswerAfterMs: null });
    s.load({ messages: 150, clients: 8 });
    expectSettledOnce(await s.finish(120_000));
  });

  it('SIGTERM mid-run: the service drains, stops and the next one finishes the backlog', async () => {
    const s = await start({ name: 'sigterm', env: { TWILIO_MPS: '20' } });
    const load = s.load({ messages: 200, clients: 8 });
    await load.done();
    await s.waitForSandbox(20);
    expect(await s.restartService('SIGTERM')).toMatch(/with code 0$/);
    expectSettledOnce(await s.finish(120_000));
  });

  it('clients retrying every send at once with the same Idempotency-Key', async () => {
    const s = await start({ name: 'idempotent-retries', env: { TWILIO_MPS: '40' } });
    s.load({ messages: 150, clients: 8, doubled: true });
    await s.waitForSandbox(20);
    expect(await s.restartService('SIGKILL')).toMatch(/SIGKILL$/);
    expectSettledOnce(await s.finish(120_000));
  });
});
