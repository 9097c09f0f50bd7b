import { ConfigService } from '@nestjs/config';
import { Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import { AppConfig } from '../../config/configuration';
import { RedisEpochWatch, RedisStateOwner } from './redis-epoch-watch';

/** A Redis of one map, behind the part of a BullMQ queue the watch uses. */
function fakeQueue(redis: Map<string, string>): Queue {
  const client = {
    get: async (key: string) => redis.get(key) ?? null,
    set: async (key: string, value: string) => {
      redis.set(key, value);
      return 'OK';
    },
  };
  return { getBackend: () => ({ client: Promise.resolve(client) }), toKey: (type: string) => `wa:whatsapp:${type}` } as unknown as Queue;
}

describe('RedisEpochWatch', () => {
  const config = { get: () => ({ watchIntervalMs: 60_000 }) } as unknown as ConfigService<AppConfig, true>;
  let redis: Map<string, string>;
  let watch: RedisEpochWatch;
  let owner: jest.Mocked<RedisStateOwner>;

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    redis = new Map();
    watch = new RedisEpochWatch(fakeQueue(redis), config);
    owner = { redisDataLost: jest.fn().mockResolvedValue(0), ensureRedisState: jest.fn().mockResolvedValue(undefined) };
    watch.register(owner);
  });
  afterEach(() => jest.restoreAllMocks());

  it('rebuilds when the epoch is missing, writes it after the rebuild, and checks the standing state every time', async () => {
    await watch.check();
    expect(owner.redisDataLost).toHaveBeenCalledTimes(1);
    expect(redis.get('wa:whatsapp:epoch')).toEqual(expect.any(String));

    await watch.check();
    expect(owner.redisDataLost).toHaveBeenCalledTimes(1);
    expect(owner.ensureRedisState).toHaveBeenCalledTimes(2);

    redis.clear(); // FLUSHALL
    await watch.check();
    expect(owner.redisDataLost).toHaveBeenCalledTimes(2);
    expect(redis.has('wa:whatsapp:epoch')).toBe(true);
  });

  it('does not watch in a process that keeps nothing in Redis (APP_ROLE api): the epoch is left for the processes that rebuild', async () => {
    const idle = new RedisEpochWatch(fakeQueue(redis), config);
    idle.onApplicationBootstrap();
    await new Promise((resolve) => setImmediate(resolve));
    expect(redis.has('wa:whatsapp:epoch')).toBe(false);
    await idle.onApplicationShutdown();
  });

  it('adopts an epoch another process wrote, without rebuilding', async () => {
    redis.set('wa:whatsapp:epoch', 'written-by-another-process');
    await watch.check();
    redis.set('wa:whatsapp:epoch', 'rebuilt-by-another-process');
    await watch.check();
    expect(owner.redisDataLost).not.toHaveBeenCalled();
  });

  it('leaves the loss standing when the rebuild fails (Postgres down), so the next check tries again', async () => {
    owner.redisDataLost.mockRejectedValueOnce(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    await watch.check();
    expect(redis.has('wa:whatsapp:epoch')).toBe(false);
    await watch.check();
    expect(owner.redisDataLost).toHaveBeenCalledTimes(2);
    expect(redis.has('wa:whatsapp:epoch')).toBe(true);
  });
});
