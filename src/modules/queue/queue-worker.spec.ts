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

  it('is what a QueueWorker connects with', async () => {
    const worker = new QueueWorker('q', null, { connection: { host: '127.0.0.1', port: 1, enableOfflineQueue: false, lazyConnect: true }, autorun: false });
    worker.on('error', () => undefined);
    expect(worker.opts.connection).toMatchObject({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    await worker.close(true).catch(() => undefined);
  });
});
