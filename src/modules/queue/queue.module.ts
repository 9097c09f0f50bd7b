import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
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
      inject: [ConfigService],
      useFactory: (config: ConfigService<AppConfig, true>) => {
        const redis = config.get('redis', { infer: true });
        return { prefix: redis.prefix, connection: { url: redis.url } };
      },
    }),
    BullModule.registerQueueAsync({
      name: QueueName.WhatsApp,
      inject: [ConfigService],
      useFactory: (config: ConfigService<AppConfig, true>) => {
        const redis = config.get('redis', { infer: true });
        return {
          prefix: redis.prefix,
          // The producer side fails fast when Redis is down, so the outbox relay can back off
          // instead of hanging with a Postgres transaction open. Workers get other options.
          connection: { url: redis.url, enableOfflineQueue: false },
        };
      },
    }),
  ],
  providers: [RedisEpochWatch],
  exports: [BullModule, RedisEpochWatch],
})
export class QueueModule {}
