import { DynamicModule, Module, Provider } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { AppConfig, runsJobs, servesApi } from './config/configuration';
import { DatabaseModule } from './database/database.module';
import { OutboxRelayModule } from './database/outbox/outbox-relay.module';
import { EventsModule } from './common/events/events.module';
import { LoggingModule } from './common/logging/logging.module';
import { RedisModule } from './common/redis/redis.module';
import { AuthApiModule } from './modules/auth/auth-api.module';
import { AuthModule } from './modules/auth/auth.module';
import { EventWebhooksApiModule } from './modules/event-webhooks/event-webhooks-api.module';
import { EventWebhooksModule } from './modules/event-webhooks/event-webhooks.module';
import { EventWebhooksJobsModule } from './modules/event-webhooks/jobs/event-webhooks-jobs.module';
import { UserThrottlerGuard } from './modules/auth/guards/user-throttler.guard';
import { RedisThrottlerStorage } from './modules/auth/redis-throttler.storage';
import { HealthModule } from './modules/health/health.module';
import { MetricsModule } from './modules/metrics/metrics.module';
import { QueueModule } from './modules/queue/queue.module';
import { TemplatesApiModule } from './modules/templates/templates-api.module';
import { TwilioModule } from './modules/twilio/twilio.module';
import { WebhookModule } from './modules/webhook/webhook.module';
import { WhatsAppJobsModule } from './modules/whatsapp/jobs/whatsapp-jobs.module';
import { WhatsAppApiModule } from './modules/whatsapp/whatsapp-api.module';
import { WhatsAppModule } from './modules/whatsapp/whatsapp.module';

@Module({})
export class AppModule {
  /**
   * The service for an already validated configuration (main.ts and the e2e tests), with the parts
   * its APP_ROLE runs: the API (routes, webhooks, rate limit), the jobs (queue worker, outbox
   * relay, schedules), or both. The domain modules are in every role.
   */
  static forRoot(config: AppConfig): DynamicModule {
    const api = servesApi(config.app.role);
    const jobs = runsJobs(config.app.role);
    const apiGuards: Provider[] = api ? [{ provide: APP_GUARD, useClass: UserThrottlerGuard }] : [];
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, ignoreEnvVars: true, load: [() => config] }),
        LoggingModule.forRoot(config),
        EventsModule,
        RedisModule,
        DatabaseModule.forRoot(config.database),
        AuthModule,
        TwilioModule,
        WhatsAppModule,
        EventWebhooksModule,
        QueueModule,
        HealthModule,
        MetricsModule.forRoot(config),
        ...(api
          ? [
              ThrottlerModule.forRootAsync({
                imports: [AuthApiModule],
                inject: [RedisThrottlerStorage],
                useFactory: (storage: RedisThrottlerStorage) => ({
                  throttlers: [{ name: 'default', ttl: 60_000, limit: config.http.rateLimitPerMinute }],
                  storage,
                }),
              }),
              AuthApiModule,
              WhatsAppApiModule,
              TemplatesApiModule,
              WebhookModule,
              EventWebhooksApiModule,
            ]
          : []),
        ...(jobs ? [WhatsAppJobsModule, EventWebhooksJobsModule, OutboxRelayModule] : []),
      ],
      providers: apiGuards,
    };
  }
}
