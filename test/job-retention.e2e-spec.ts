import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import { JobName, RECONCILE_JOB_OPTIONS } from '../src/modules/whatsapp/jobs/whatsapp-jobs';
import { QueueName } from '../src/modules/queue/queue.types';
import { startTestApp, TestApp, waitFor } from './support/test-app';

/**
 * Completed send jobs are kept (a day) so that an outbox row relayed twice finds its job id
 * taken. A reconciliation run must not trim that history when it completes.
 */
describe('job retention (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ TWILIO_MPS: '1000' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('keeps every completed send job when a reconciliation run completes', async () => {
    const count = 120;
    const bulk = await t.api('/api/v1/whatsapp/send/bulk', {
      body: { messages: Array.from({ length: count }, (_, i) => ({ to: `+1415555${String(2000 + i)}`, message: `kept ${i}` })) },
      token: t.adminToken,
    });
    expect(bulk.body.accepted).toBe(count);
    const queue = t.app.get<Queue>(getQueueToken(QueueName.WhatsApp));
    await waitFor(async () => (await queue.getCompletedCount()) >= count, `${count} completed send jobs`, 30_000);

    const run = await queue.add(JobName.Reconcile, {}, RECONCILE_JOB_OPTIONS);
    await waitFor(async () => ['completed', 'unknown'].includes(await queue.getJobState(run.id!)), 'the reconciliation run to finish', 15_000);

    const completed = await queue.getCompleted(0, -1);
    expect(completed.filter((j) => j.name === JobName.SendMessage).length).toBe(count);
  });
});
