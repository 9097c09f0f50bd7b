import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { AuthModule } from '../auth/auth.module';
import { QueueModule } from '../queue/queue.module';
import { TwilioModule } from '../twilio/twilio.module';
import { EventLoopMonitor } from './event-loop-monitor';
import { GracefulShutdown } from './graceful-shutdown.service';
import { HealthController } from './health.controller';
import { ReadinessIndicators } from './readiness.indicators';
import { RedisHealthIndicator } from './redis.health';

@Module({
  imports: [// Terminus would log every failed probe as an error; HealthController logs a warning instead.
    TerminusModule.forRoot({ logger: false, gracefulShutdownTimeoutMs: 0 }), QueueModule, TwilioModule, DiscoveryModule, AuthModule],
  controllers: [HealthController],
  providers: [RedisHealthIndicator, ReadinessIndicators, EventLoopMonitor, GracefulShutdown],
  exports: [GracefulShutdown],
})
export class HealthModule {}
