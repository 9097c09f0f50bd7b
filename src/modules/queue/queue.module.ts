import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { RedisClients } from '../../common/redis/redis-connection';
import { AppConfig } from '../../config/configuration';
import { QueueWorker } from './queue-worker';
import { RedisEpochWatch } from './redis-epoch-watch';
import { QueueName } from './queue.types';

// Every @Processor's worker gets connection options of its own (see workerConnection).
BullModule.workerClass = QueueWorker;

/** BullMQ wiring only: connections and queue registration. The jobs belong to the feature modules. */
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [ConfigService, RedisClients],
      useFactory: (config: ConfigService<AppConfig, true>, clients: RedisClients) => {
        const redis = config.get('redis', { infer: true });
        // Before the explorer creates the workers (module init comes after every provider exists).
        QueueWorker.jobLockMs = redis.jobLockMs;
        return {
          prefix: redis.prefix,
          // Workers block on Redis; BullMQ needs unlimited retries per request on their connections.
          connection: clients.bullConnection(redis, { maxRetriesPerRequest: null }),
        };
      },
    }),
    BullModule.registerQueueAsync(
      ...[QueueName.WhatsApp, QueueName.Webhooks].map((name) => ({
        name,
        inject: [ConfigService, RedisClients],
        useFactory: (config: ConfigService<AppConfig, true>, clients: RedisClients) => {
          const redis = config.get('redis', { infer: true });
          return {
            prefix: redis.prefix,
            // The producer side fails fast when Redis is down, so the outbox relay can back off
            // instead of hanging with a Postgres transaction open. Workers get other options
            // (QueueWorker).
            connection: clients.bullConnection(redis, { enableOfflineQueue: false }),
          };
        },
      })),
    ),
  ],
  providers: [RedisEpochWatch],
  exports: [BullModule, RedisEpochWatch],
})
export class QueueModule {}
