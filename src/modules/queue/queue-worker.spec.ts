import Redis from 'ioredis';
import { QueueWorker, workerConnection } from './queue-worker';

describe('workerConnection', () => {
  it("turns the queue's fail-fast options into a blocking client's: offline queue on, no per-request limit", () => {
    expect(workerConnection({ host: 'redis.internal', port: 6380, enableOfflineQueue: false, maxRetriesPerRequest: 1 })).toEqual({
      host: 'redis.internal',
      port: 6380,
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
    });
  });

  it('leaves a ready-made client as it is', () => {
    const client = new Redis({ lazyConnect: true });
    expect(workerConnection(client)).toBe(client);
    client.disconnect();
  });
});

describe('QueueWorker', () => {
  const jobLockMs = QueueWorker.jobLockMs;
  afterEach(() => (QueueWorker.jobLockMs = jobLockMs));

  it('holds and checks job locks for the configured time (QUEUE_LOCK_DURATION_MS), 30 s unless set', async () => {
    const connection = new Redis({ lazyConnect: true, maxRetriesPerRequest: null });
    const defaults = new QueueWorker('lock-defaults', null, { connection, autorun: false });
    QueueWorker.jobLockMs = 5000;
    const configured = new QueueWorker('lock-configured', null, { connection, autorun: false });
    try {
      expect(defaults.opts).toMatchObject({ lockDuration: 30_000, stalledInterval: 30_000, lockRenewTime: 15_000 });
      expect(configured.opts).toMatchObject({ lockDuration: 5000, stalledInterval: 5000, lockRenewTime: 2500 });
    } finally {
      await Promise.all([defaults.close(true), configured.close(true)]);
      connection.disconnect();
    }
  });
});
