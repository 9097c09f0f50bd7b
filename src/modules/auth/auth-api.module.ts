import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { RedisClients } from '../../common/redis/redis-connection';
import { AppConfig } from '../../config/configuration';
import { AdminBootstrapService } from './admin-bootstrap.service';
import { ApiKeysController } from './api-keys.controller';
import { AuthController } from './auth.controller';
import { AuthModule } from './auth.module';
import { UsersController } from './users.controller';
import { RedisThrottlerStorage, THROTTLER_KEY_PREFIX, THROTTLER_REDIS, THROTTLER_REDIS_TIMEOUT_MS } from './redis-throttler.storage';

/**
 * Login, API keys and users over the API, the first admin, and the storage of the API's rate limits (APP_ROLE api or all:
 * a worker has no one to log in and nothing to limit).
 */
@Module({
  imports: [AuthModule],
  controllers: [AuthController, ApiKeysController, UsersController],
  providers: [
    AdminBootstrapService,
    {
      provide: THROTTLER_REDIS,
      inject: [ConfigService, RedisClients],
      useFactory: (config: ConfigService<AppConfig, true>, clients: RedisClients) =>
        // Fails at once while disconnected, and soon when Redis is slow: the storage then counts in memory.
        clients.open(config.get('redis', { infer: true }), {
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          commandTimeout: THROTTLER_REDIS_TIMEOUT_MS,
          connectionName: 'api-rate-limit',
          // Every request makes one hit: those arriving in the same turn of the event loop go to
          // Redis in one write instead of one system call (and one wake-up of Redis) each.
          enableAutoPipelining: true,
        }),
    },
    {
      provide: THROTTLER_KEY_PREFIX,
      inject: [ConfigService],
      useFactory: (config: ConfigService<AppConfig, true>) => config.get('redis', { infer: true }).prefix,
    },
    RedisThrottlerStorage,
  ],
  exports: [AdminBootstrapService, RedisThrottlerStorage],
})
export class AuthApiModule {}
