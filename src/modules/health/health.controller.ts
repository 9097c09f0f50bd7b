import { Controller, Get, Headers, Logger, Res, ServiceUnavailableException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { ErrorCode } from '../../common/errors/error-code';
import { AccessDecision } from '../auth/admin-access.service';
import { MetricsAccessService } from '../auth/metrics-access.service';
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
    private readonly access: MetricsAccessService,
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
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Readiness: Postgres, Redis, migrations, queue workers (where the process runs them) and Twilio (or the sandbox)',
    description:
      '503 when any is not ready, and from the first moment of a graceful shutdown. The body names each dependency and what is wrong only for an admin token or METRICS_TOKEN; anyone else gets the status alone.',
  })
  @ApiOkResponse({ description: 'Ready to take traffic' })
  @ApiServiceUnavailableResponse({ description: 'Not ready; `error` names what is down (with an admin token or METRICS_TOKEN)' })
  async ready(
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<HealthCheckResult | Record<string, unknown>> {
    // While draining, the connections are being closed: report that alone, touch nothing.
    const result = this.shutdown.draining
      ? await this.answer(reply, () => this.health.check([() => this.readiness.notShuttingDown()]))
      : await this.answer(reply, () =>
          this.health.check([
            () => this.readiness.notShuttingDown(),
            () => this.db.pingCheck('database', { timeout: 1000 }),
            () => this.redis.isHealthy('redis'),
            () => this.readiness.migrations(),
            ...(this.hasWorkers ? [() => this.readiness.workers()] : []),
            () => this.twilio.isHealthy('twilio'),
          ]),
        );
    if (await this.mayReadDetails(authorization)) return result;
    // Hosts, versions, Twilio's answers and pending migration names are for operators, not the internet.
    return { status: result.status, ...('code' in result ? { code: result.code } : {}) };
  }

  /** Probes send no credentials, so they never wait on the token check (which needs the database). */
  private async mayReadDetails(authorization: string | undefined): Promise<boolean> {
    if (!authorization) return false;
    try {
      return (await this.access.operatorAccess(authorization)).decision === AccessDecision.Allowed;
    } catch {
      return false;
    }
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
