import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ErrorCode } from '../../common/errors/error-code';
import { ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { SkipThrottle } from '@nestjs/throttler';
import { RedisHealthIndicator } from './redis.health';

@ApiTags('health')
@SkipThrottle()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly redis: RedisHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  @ApiOperation({ summary: 'Postgres and Redis reachable: 200, otherwise 503 with details' })
  @ApiServiceUnavailableResponse({ description: 'A dependency is down; `error` names it' })
  check(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult | Record<string, unknown>> {
    return this.answer(reply, () =>
      this.health.check([() => this.db.pingCheck('database', { timeout: 1000 }), () => this.redis.isHealthy('redis')]),
    );
  }

  /** Terminus' own body (status, info, error, details) on 503 too, which probes and people read. */
  private async answer(reply: FastifyReply, run: () => Promise<HealthCheckResult>): Promise<HealthCheckResult | Record<string, unknown>> {
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      reply.status(503);
      return { ...(err.getResponse() as Record<string, unknown>), code: ErrorCode.ServiceUnavailable };
    }
  }
}
