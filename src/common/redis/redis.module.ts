import { Global, Module } from '@nestjs/common';
import { RedisClients } from './redis-connection';

/** Connections to the configured Redis (one server, Sentinel or Cluster), for every module. */
@Global()
@Module({ providers: [RedisClients], exports: [RedisClients] })
export class RedisModule {}
