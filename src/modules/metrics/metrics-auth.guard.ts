import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';
import { AccessDecision } from '../auth/admin-access.service';
import { MetricsAccessService } from '../auth/metrics-access.service';

/** /metrics on the API port: METRICS_TOKEN when configured, otherwise an admin's JWT. */
@Injectable()
export class MetricsAuthGuard implements CanActivate {
  constructor(private readonly access: MetricsAccessService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const result = await this.access.metricsAccess(request.headers.authorization);
    if (result.decision === AccessDecision.Allowed) return true;
    throw new DomainException(result.decision === AccessDecision.Forbidden ? ErrorCode.Forbidden : ErrorCode.Unauthorized, result.message);
  }
}
