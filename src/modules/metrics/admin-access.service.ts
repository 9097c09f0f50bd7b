import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import { timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../../config/configuration';
import { AccessTokenClaims } from '../auth/auth.types';
import { UserRole } from '../auth/entities/user.entity';
import { UsersService } from '../auth/users.service';

export enum AccessDecision {
  Allowed = 'allowed',
  /** No credentials, or credentials that prove nothing: 401. */
  Unauthenticated = 'unauthenticated',
  /** A valid user who is not an admin: 403. */
  Forbidden = 'forbidden',
}

export interface AccessResult {
  decision: AccessDecision;
  message: string;
}

const ALLOWED: AccessResult = { decision: AccessDecision.Allowed, message: 'ok' };

export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const m = value ? /^Bearer\s+(\S+)\s*$/i.exec(value) : null;
  return m?.[1];
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Access checks for the routes that live outside Nest's guards: /metrics (also on its own port)
 * and the queue dashboard. An admin JWT is verified exactly as the API's JWT strategy does
 * (algorithm, issuer, audience, expiry) and the user must still exist, be active and be an admin.
 */
@Injectable()
export class AdminAccessService {
  constructor(
    private readonly jwt: JwtService,
    private readonly users: UsersService,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  /** With METRICS_TOKEN set only that token opens /metrics (what Prometheus sends); otherwise an admin JWT. */
  async metricsAccess(authorization: string | string[] | undefined): Promise<AccessResult> {
    const expected = this.config.get('observability', { infer: true }).metricsToken;
    const token = bearerToken(authorization);
    if (!expected) return this.adminAccess(token);
    if (!token) return { decision: AccessDecision.Unauthenticated, message: 'Missing bearer token: send Authorization: Bearer <METRICS_TOKEN>' };
    return sameSecret(token, expected) ? ALLOWED : { decision: AccessDecision.Unauthenticated, message: 'Invalid metrics token' };
  }

  /** An active admin's access token, and nothing else. */
  async adminAccess(token: string | undefined): Promise<AccessResult> {
    if (!token) {
      return { decision: AccessDecision.Unauthenticated, message: 'Missing bearer token: send Authorization: Bearer <accessToken> of an admin' };
    }
    let claims: AccessTokenClaims;
    try {
      claims = await this.jwt.verifyAsync<AccessTokenClaims>(token);
    } catch (err) {
      const expired = (err as Error).name === 'TokenExpiredError';
      return { decision: AccessDecision.Unauthenticated, message: expired ? 'The access token has expired; log in again' : 'Invalid access token' };
    }
    const user = typeof claims.sub === 'string' ? await this.users.findById(claims.sub) : null;
    if (!user || !user.active) return { decision: AccessDecision.Unauthenticated, message: 'Invalid access token' };
    if (user.role !== UserRole.Admin) return { decision: AccessDecision.Forbidden, message: 'This needs the admin role' };
    return ALLOWED;
  }
}
