import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../../config/configuration';
import { ACCESS_ALLOWED, AccessDecision, AccessResult, AdminAccessService, bearerToken } from './admin-access.service';

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Who may read /metrics (on the API port and on METRICS_PORT alike) and readiness details. */
@Injectable()
export class MetricsAccessService {
  constructor(
    private readonly admins: AdminAccessService,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  /** With METRICS_TOKEN set only that token opens /metrics (what Prometheus sends); otherwise an admin JWT. */
  async metricsAccess(authorization: string | string[] | undefined): Promise<AccessResult> {
    const expected = this.config.get('observability', { infer: true }).metricsToken;
    const token = bearerToken(authorization);
    if (!expected) return this.admins.adminAccess(token);
    if (!token) return { decision: AccessDecision.Unauthenticated, message: 'Missing bearer token: send Authorization: Bearer <METRICS_TOKEN>' };
    return sameSecret(token, expected) ? ACCESS_ALLOWED : { decision: AccessDecision.Unauthenticated, message: 'Invalid metrics token' };
  }

  /** Readiness details: for METRICS_TOKEN (a monitoring system) and for an admin alike. */
  async operatorAccess(authorization: string | string[] | undefined): Promise<AccessResult> {
    const expected = this.config.get('observability', { infer: true }).metricsToken;
    const token = bearerToken(authorization);
    if (expected && token && sameSecret(token, expected)) return ACCESS_ALLOWED;
    return this.admins.adminAccess(token);
  }
}
