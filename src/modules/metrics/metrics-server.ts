import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import fastify, { FastifyInstance } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { ErrorCode } from '../../common/errors/error-code';
import { AppConfig } from '../../config/configuration';
import { AccessDecision } from '../auth/admin-access.service';
import { MetricsAccessService } from '../auth/metrics-access.service';
import { PrometheusMetricsService } from './prometheus-metrics.service';

/**
 * /metrics on METRICS_PORT, a plain Fastify server apart from the API (e.g. reachable only
 * inside the cluster). Started with the app, stopped with it; same access rules as on the API port.
 */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MetricsServer.name);
  private server?: FastifyInstance;

  constructor(
    private readonly metrics: PrometheusMetricsService,
    private readonly access: MetricsAccessService,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  get port(): number | undefined {
    const address = this.server?.server.address();
    return address && typeof address === 'object' ? address.port : undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.get('observability', { infer: true }).metricsPort;
    if (!port) return;
    const server = fastify({ logger: false, forceCloseConnections: true });
    server.get('/metrics', async (request, reply) => {
      const result = await this.access.metricsAccess(request.headers.authorization);
      if (result.decision !== AccessDecision.Allowed) {
        const status = result.decision === AccessDecision.Forbidden ? 403 : 401;
        const code = status === 403 ? ErrorCode.Forbidden : ErrorCode.Unauthorized;
        return reply.code(status).send({ statusCode: status, error: STATUS_CODES[status], message: result.message, code, requestId: request.id });
      }
      const { contentType, body } = await this.metrics.exposition();
      return reply.header('content-type', contentType).send(body);
    });
    await server.listen({ port, host: this.config.get('app', { infer: true }).host });
    this.server = server;
    this.logger.log(`Prometheus metrics on port ${port} at /metrics`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
  }
}
