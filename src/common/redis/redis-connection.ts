import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { ConnectionOptions } from 'bullmq';
import Redis, { Cluster, RedisOptions } from 'ioredis';
import { RedisSettings } from '../../config/configuration';

/**
 * ioredis options for a connection to the configured Redis: the server of REDIS_URL, or the
 * master the sentinels name; credentials, TLS (rediss://) and database from REDIS_URL either way.
 * `extra` is what the caller needs of this connection (fail fast, retries, a name).
 */
export function redisOptions(settings: RedisSettings, extra: RedisOptions = {}): RedisOptions {
  const url = new URL(settings.url);
  const tls = url.protocol === 'rediss:';
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : undefined;
  const common: RedisOptions = {
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(tls ? { tls: {} } : {}),
    ...(db !== undefined && Number.isInteger(db) ? { db } : {}),
    ...extra,
  };
  const topology = settings.topology;
  switch (topology.kind) {
    case 'standalone':
      return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 6379), ...common };
    case 'sentinel':
      return {
        sentinels: topology.sentinels,
        name: topology.name,
        ...(topology.sentinelPassword ? { sentinelPassword: topology.sentinelPassword } : {}),
        // With rediss:// the sentinels are spoken to over TLS too, as the master is.
        ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
        ...common,
      };
    case 'cluster':
      // A cluster client takes these per node (Cluster's redisOptions); db does not exist there.
      return { ...common, db: undefined };
  }
}

/** A client of the configured topology: Redis for one server or Sentinel, Cluster for a cluster. */
export function createRedisClient(settings: RedisSettings, extra: RedisOptions = {}): Redis | Cluster {
  const topology = settings.topology;
  if (topology.kind !== 'cluster') return new Redis(redisOptions(settings, extra));
  const { enableOfflineQueue, maxRetriesPerRequest, connectionName, ...perNode } = redisOptions(settings, extra);
  return new Cluster(topology.nodes, {
    redisOptions: { ...perNode, connectionName, maxRetriesPerRequest },
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
  });
}

/**
 * Clients the service opens itself beside BullMQ's, closed when the app stops. BullMQ connects
 * through options it is given (it owns those connections), except to a cluster, which it takes as
 * a client: those are opened here too, and closed here.
 */
@Injectable()
export class RedisClients implements OnApplicationShutdown {
  private readonly clients = new Set<Redis | Cluster>();

  open(settings: RedisSettings, extra: RedisOptions = {}): Redis | Cluster {
    const client = createRedisClient(settings, extra);
    this.clients.add(client);
    return client;
  }

  /** What BullMQ's `connection` should be: options, or a cluster client. */
  bullConnection(settings: RedisSettings, extra: RedisOptions = {}): ConnectionOptions {
    // ioredis' own option types are stricter than BullMQ's copy of them; the values are ioredis'.
    return (settings.topology.kind === 'cluster' ? this.open(settings, extra) : redisOptions(settings, extra)) as ConnectionOptions;
  }

  onApplicationShutdown(): void {
    // By now nothing waits on them (BullMQ and the limiters have stopped): no QUIT round trip,
    // which would wait for a Redis that is down or still reconnecting.
    for (const client of this.clients) client.disconnect();
    this.clients.clear();
  }
}
