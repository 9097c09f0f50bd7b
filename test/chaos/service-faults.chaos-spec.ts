import { sleep } from '../../bench/support/infra';
import { chaosScenarios, expectSettledOnce } from './support/chaos-scenario';

/**
 * Issue 12's chaos battery, the service's own faults (its dependencies' are in
 * dependency-faults.chaos-spec.ts): real processes (the built service, the standalone sandbox as
 * Twilio), a private Postgres cluster and a private Redis per scenario, clients that retry with an
 * Idempotency-Key. In every scenario each accepted message reaches a final status, reaches the
 * sandbox exactly once, and /health never stays silent for more than 2 s while the service runs.
 * `npm run test:chaos`; each scenario prints its counts.
 */
describe('chaos: the service', () => {
  const start = chaosScenarios();

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
