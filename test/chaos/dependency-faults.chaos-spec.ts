import { sleep } from '../../bench/support/infra';
import { chaosScenarios, expectSettledOnce } from './support/chaos-scenario';

/**
 * Issue 12's chaos battery, the faults of the service's dependencies (Redis, Postgres, Twilio; the
 * service's own are in service-faults.chaos-spec.ts), with the same processes, private servers,
 * clients and expectations: each accepted message reaches a final status, reaches the sandbox
 * exactly once, and /health never stays silent for more than 2 s while the service runs.
 */
describe('chaos: the dependencies', () => {
  const start = chaosScenarios();

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
});
