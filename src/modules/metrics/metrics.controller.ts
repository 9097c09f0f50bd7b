import { Controller, Get, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { MetricsAuthGuard } from './metrics-auth.guard';
import { PrometheusMetricsService } from './prometheus-metrics.service';

/** Prometheus scrape endpoint, outside the /api/v1 prefix (registered only without METRICS_PORT). */
@ApiExcludeController()
@SkipThrottle()
@UseGuards(MetricsAuthGuard)
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: PrometheusMetricsService) {}

  @Get()
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const { contentType, body } = await this.metrics.exposition();
    reply.header('content-type', contentType);
    return body;
  }
}
