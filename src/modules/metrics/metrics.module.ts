import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig, runsJobs, servesApi } from '../../config/configuration';
import { OutboxModule } from '../../database/outbox/outbox.module';
import { AuthModule } from '../auth/auth.module';
import { QueueModule } from '../queue/queue.module';
import { DatabaseConnectionMonitor } from './database-connection-monitor';
import { DeliveryMetricsController } from './delivery-metrics.controller';
import { DeliveryMetricsRepository } from './delivery-metrics.repository';
import { DeliveryRollupAggregator } from './delivery-rollup-aggregator';
import { DeliveryRollupSchedule } from './delivery-rollup-schedule';
import { DeliveryMetricsService } from './delivery-metrics.service';
import { MetricsAuthGuard } from './metrics-auth.guard';
import { MetricsController } from './metrics.controller';
import { MetricsServer } from './metrics-server';
import { PrometheusMetricsService } from './prometheus-metrics.service';

@Module({})
export class MetricsModule {
  /**
   * /metrics is served by the API (MetricsController) or, with METRICS_PORT, by MetricsServer alone;
   * a worker serves it only on METRICS_PORT. The journal is folded on schedule where jobs run.
   */
  static forRoot(config: Pick<AppConfig, 'app' | 'observability'>): DynamicModule {
    const api = servesApi(config.app.role);
    return {
      module: MetricsModule,
      // AuthModule: admin access for /metrics and the queue dashboard, checked like the API's tokens.
      imports: [AuthModule, QueueModule, OutboxModule],
      controllers: api ? [DeliveryMetricsController, ...(config.observability.metricsPort ? [] : [MetricsController])] : [],
      providers: [
        DeliveryMetricsRepository,
        DeliveryRollupAggregator,
        DeliveryMetricsService,
        PrometheusMetricsService,
        MetricsAuthGuard,
        DatabaseConnectionMonitor,
        MetricsServer,
        ...(runsJobs(config.app.role) ? [DeliveryRollupSchedule] : []),
      ],
      exports: [PrometheusMetricsService, MetricsServer, DeliveryRollupAggregator],
    };
  }
}
