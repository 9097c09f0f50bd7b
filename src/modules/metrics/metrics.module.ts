import { DynamicModule, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtModule } from '@nestjs/jwt';
import { ObservabilitySettings, AppConfig } from '../../config/configuration';
import { OutboxModule } from '../../database/outbox/outbox.module';
import { AuthModule } from '../auth/auth.module';
import { jwtModuleOptions } from '../auth/jwt-options';
import { QueueModule } from '../queue/queue.module';
import { AdminAccessService } from './admin-access.service';
import { DatabaseConnectionMonitor } from './database-connection-monitor';
import { DeliveryMetricsController } from './delivery-metrics.controller';
import { DeliveryMetricsRepository } from './delivery-metrics.repository';
import { DeliveryRollupAggregator } from './delivery-rollup-aggregator';
import { DeliveryMetricsService } from './delivery-metrics.service';
import { MetricsAuthGuard } from './metrics-auth.guard';
import { MetricsController } from './metrics.controller';
import { MetricsServer } from './metrics-server';
import { PrometheusMetricsService } from './prometheus-metrics.service';

@Module({})
export class MetricsModule {
  /** /metrics is served by the API (MetricsController) or, with METRICS_PORT, by MetricsServer alone. */
  static forRoot(settings: ObservabilitySettings): DynamicModule {
    return {
      module: MetricsModule,
      imports: [
        AuthModule,
        QueueModule,
        OutboxModule,
        // Verifies admin tokens outside Nest's guards, with the API's exact options.
        JwtModule.registerAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService<AppConfig, true>) => jwtModuleOptions(config.get('auth', { infer: true })),
        }),
      ],
      controllers: [DeliveryMetricsController, ...(settings.metricsPort ? [] : [MetricsController])],
      providers: [
        DeliveryMetricsRepository,
        DeliveryRollupAggregator,
        DeliveryMetricsService,
        PrometheusMetricsService,
        AdminAccessService,
        MetricsAuthGuard,
        DatabaseConnectionMonitor,
        MetricsServer,
      ],
      exports: [PrometheusMetricsService, AdminAccessService, MetricsServer, DeliveryRollupAggregator],
    };
  }
}
