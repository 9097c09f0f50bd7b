import Redis from 'ioredis';
import { workerConnection } from './queue-worker';

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
