import { Cluster } from 'ioredis';
import { buildConfiguration } from '../../config/configuration';
import { createRedisClient, redisOptions } from './redis-connection';

const redisOf = (env: Record<string, string>) => buildConfiguration(env).redis;

describe('Redis connections from the configuration', () => {
  it('one server: host, port, credentials, TLS and database from REDIS_URL', () => {
    const settings = redisOf({ REDIS_URL: 'rediss://app:s%3Acret@redis.internal:6380/2', REDIS_PREFIX: 'wa' });
    expect(settings.topology).toEqual({ kind: 'standalone' });
    expect(redisOptions(settings, { enableOfflineQueue: false })).toEqual({
      host: 'redis.internal',
      port: 6380,
      username: 'app',
      password: 's:cret',
      tls: {},
      db: 2,
      enableOfflineQueue: false,
    });
    expect(redisOptions(redisOf({}))).toEqual({ host: '127.0.0.1', port: 6379 });
  });

  it('Sentinel: the sentinels and master name, the master reached with the credentials of REDIS_URL', () => {
    const settings = redisOf({
      REDIS_URL: 'redis://:master-pass@ignored:6379/1',
      REDIS_SENTINELS: 'sentinel-a:26379, sentinel-b:26380,[::1]:26381',
      REDIS_SENTINEL_NAME: 'whatsapp',
      REDIS_SENTINEL_PASSWORD: 'sentinel-pass',
    });
    expect(settings.prefix).toBe('bull');
    expect(redisOptions(settings, { maxRetriesPerRequest: null })).toEqual({
      sentinels: [
        { host: 'sentinel-a', port: 26379 },
        { host: 'sentinel-b', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      name: 'whatsapp',
      sentinelPassword: 'sentinel-pass',
      password: 'master-pass',
      db: 1,
      maxRetriesPerRequest: null,
    });
    expect(redisOptions(redisOf({ REDIS_URL: 'rediss://h:1', REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_NAME: 'm' }))).toMatchObject({
      tls: {},
      enableTLSForSentinelMode: true,
      sentinelTLS: {},
    });
  });

  it('Cluster: seed nodes, every key under one hash tag, a Cluster client with per-node options', async () => {
    const settings = redisOf({ REDIS_URL: 'redis://:pw@ignored:6379', REDIS_CLUSTER_NODES: 'node-1:7000,node-2:7001', REDIS_PREFIX: 'prod' });
    expect(settings.prefix).toBe('{prod}');
    expect(settings.topology).toEqual({ kind: 'cluster', nodes: [{ host: 'node-1', port: 7000 }, { host: 'node-2', port: 7001 }] });
    const client = createRedisClient(settings, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectionName: 'x', lazyConnect: true });
    try {
      expect(client).toBeInstanceOf(Cluster);
      const options = (client as Cluster).options;
      expect(options.enableOfflineQueue).toBe(false);
      expect(options.redisOptions).toMatchObject({ password: 'pw', connectionName: 'x', maxRetriesPerRequest: 1 });
      expect(options.redisOptions).not.toHaveProperty('db', expect.anything());
    } finally {
      client.disconnect();
    }
  });

  it('refuses a topology that cannot be meant', () => {
    const errorOf = (env: Record<string, string>) => {
      try {
        buildConfiguration(env);
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    expect(errorOf({ REDIS_SENTINELS: 's:26379' })).toMatch(/REDIS_SENTINEL_NAME is required with REDIS_SENTINELS/);
    expect(errorOf({ REDIS_SENTINEL_NAME: 'm' })).toMatch(/REDIS_SENTINEL_NAME needs REDIS_SENTINELS/);
    expect(errorOf({ REDIS_SENTINELS: 's:1', REDIS_SENTINEL_NAME: 'm', REDIS_CLUSTER_NODES: 'n:1' })).toMatch(/exclude each other/);
    expect(errorOf({ REDIS_CLUSTER_NODES: 'node-without-port' })).toBe('Invalid configuration: REDIS_CLUSTER_NODES must be host:port pairs separated by commas');
    expect(errorOf({ REDIS_SENTINELS: 's:0', REDIS_SENTINEL_NAME: 'm' })).toMatch(/REDIS_SENTINELS must be host:port pairs/);
  });
});
