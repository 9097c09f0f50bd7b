import { Controller, Get, Logger, Res, ServiceUnavailableException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { ErrorCode } from '../../common/errors/error-code';
import { AppConfig, runsJobs } from '../../config/configuration';
import { TwilioHealthIndicator } from '../twilio/twilio.health';
import { EventLoopMonitor, isStalled } from './event-loop-monitor';
import { GracefulShutdown } from './graceful-shutdown.service';
import { ReadinessIndicators } from './readiness.indicators';
import { RedisHealthIndicator } from './redis.health';

/**
 * Liveness and readiness, for Kubernetes-style probes and load balancers (docs/metrics.md).
 * Liveness depends on nothing outside the process: were it to fail while Postgres or Redis
 * blip, every instance would be restarted at once and the outage made worse. Readiness is what
 * takes an instance out of rotation.
 */
@ApiTags('health')
@SkipThrottle()
@Controller('health')
export class HealthController {
  private readonly logger = new Logger(HealthController.name);
  /** An API process (APP_ROLE=api) has no queue worker by design: its readiness does not ask for one. */
  private readonly hasWorkers: boolean;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    private readonly readiness: ReadinessIndicators,
    private readonly twilio: TwilioHealthIndicator,
    private readonly eventLoop: EventLoopMonitor,
    private readonly shutdown: GracefulShutdown,
    config: ConfigService<AppConfig, true>,
  ) {
    this.hasWorkers = runsJobs(config.get('app', { infer: true }).role);
  }

  @Get()
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process runs and its event loop is not stalled', description: 'Independent of Postgres, Redis and Twilio; stays 200 while shutting down.' })
  @ApiOkResponse({ description: 'Alive; `details.eventLoop` has the measured lag' })
  @ApiServiceUnavailableResponse({ description: 'Event loop stalled: restart the process' })
  live(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult | Record<string, unknown>> {
    return this.answer(reply, () =>
      this.health.check([
        () => {
          const lag = this.eventLoop.lag();
          const indicator = this.indicators.check('eventLoop');
          return isStalled(lag) ? indicator.down({ ...lag, message: 'event loop stalled' }) : indicator.up({ ...lag });
        },
      ]),
    );
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    summary: 'Readiness: Postgres, Redis, migrations, queue workers (where the process runs them) and Twilio (or the sandbox)',
    description: '503 with details when any is not ready, and from the first moment of a graceful shutdown.',
  })
  @ApiOkResponse({ description: 'Ready to take traffic' })
  @ApiServiceUnavailableResponse({ description: 'Not ready; `error` names what is down' })
  ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult | Record<string, unknown>> {
    // While draining, the connections are being closed: report that alone, touch nothing.
    if (this.shutdown.draining) return this.answer(reply, () => this.health.check([() => this.readiness.notShuttingDown()]));
    return this.answer(reply, () =>
      this.health.check([
        () => this.readiness.notShuttingDown(),
        () => this.db.pingCheck('database', { timeout: 1000 }),
        () => this.redis.isHealthy('redis'),
        () => this.readiness.migrations(),
        ...(this.hasWorkers ? [() => this.readiness.workers()] : []),
        () => this.twilio.isHealthy('twilio'),
      ]),
    );
  }

  /** Terminus' own body (status, info, error, details) on 503 too, which probes and people read. */
  private async answer(reply: FastifyReply, run: () => Promise<HealthCheckResult>): Promise<HealthCheckResult | Record<string, unknown>> {
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      const body = err.getResponse() as Record<string, unknown>;
      // Expected while draining; otherwise the one line that says what is down.
      if (!this.shutdown.draining) this.logger.warn(`Health check failed: ${JSON.stringify(body.error)}`);
      reply.status(503);
      return { ...body, code: ErrorCode.ServiceUnavailable };
    }
  }
}
