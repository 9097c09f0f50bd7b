import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ThrottlerGuard } from '@nestjs/throttler';
import jwt from 'jsonwebtoken';
import { AppConfig } from '../../../config/configuration';
import { JWT_ALGORITHM, jwtKey } from '../jwt-options';

/**
 * Rate limits per API user rather than per address, so users behind one NAT do not share a
 * budget. Global guards run before the JWT guard, so the token is verified here (an HMAC, cheap);
 * anything that is not a valid token, and every login, counts against the client address, so a
 * made-up token cannot buy a fresh budget.
 */
@Injectable()
export class UserThrottlerGuard extends ThrottlerGuard {
  @Inject(ConfigService) private readonly config!: ConfigService<AppConfig, true>;

  protected override async getTracker(req: Record<string, any>): Promise<string> {
    const auth = req.headers?.authorization;
    if (typeof auth === 'string' && auth.startsWith('Bearer ')) {
      const settings = this.config.get('auth', { infer: true });
      try {
        const claims = jwt.verify(auth.slice(7), jwtKey(settings), { algorithms: [JWT_ALGORITHM], issuer: settings.jwtIssuer, audience: settings.jwtAudience });
        if (typeof claims === 'object' && typeof claims.sub === 'string') return `user:${claims.sub}`;
      } catch {
        // not a valid token: the address pays
      }
    }
    return `ip:${req.ip}`;
  }
}
