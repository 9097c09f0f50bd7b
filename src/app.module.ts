import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { AppConfig } from './config/configuration';
import { DatabaseModule } from './database/database.module';
import { EventsModule } from './common/events/events.module';
import { LoggingModule } from './common/logging/logging.module';
import { AuthModule } from './modules/auth/auth.module';
import { UserThrottlerGuard } from './modules/auth/guards/user-throttler.guard';
import { HealthModule } from './modules/health/health.module';
import { MetricsModule } from './modules/metrics/metrics.module';
import { QueueModule } from './modules/queue/queue.module';
import { TwilioModule } from './modules/twilio/twilio.module';
import { WebhookModule } from './modules/webhook/webhook.module';
import { WhatsAppModule } from './modules/whatsapp/whatsapp.module';

@Module({})
export class AppModule {
  /** The whole service for an already validated configuration (main.ts and the e2e tests). */
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, ignoreEnvVars: true, load: [() => config] }),
        LoggingModule.forRoot(config),
        EventsModule,
        ThrottlerModule.forRoot({ throttlers: [{ name: 'default', ttl: 60_000, limit: config.http.rateLimitPerMinute }] }),
        DatabaseModule.forRoot(config.database),
        AuthModule,
        TwilioModule,
        WhatsAppModule,
        QueueModule,
        WebhookModule,
        HealthModule,
        MetricsModule.forRoot(config.observability),
      ],
      providers: [{ provide: APP_GUARD, useClass: UserThrottlerGuard }],
    };
  }
}
