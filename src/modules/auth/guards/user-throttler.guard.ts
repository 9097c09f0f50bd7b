import { Inject, Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import { AccessTokenVerifier } from '../access-token.verifier';
import { bearerToken } from '../admin-access.service';

/**
 * Rate limits per API user rather than per address, so users behind one NAT do not share a
 * budget. Global guards run before the JWT guard, so the token's signature and claims are
 * checked here (an HMAC, no database); anything that is not a valid token counts against the
 * client address, so a made-up token cannot buy a fresh budget. Login attempts always count per
 * address (AuthController sets its own tracker).
 */
@Injectable()
export class UserThrottlerGuard extends ThrottlerGuard {
  @Inject(AccessTokenVerifier) private readonly tokens!: AccessTokenVerifier;

  protected override async getTracker(req: Record<string, any>): Promise<string> {
    const token = bearerToken(req.headers?.authorization);
    if (token) {
      try {
        const claims = await this.tokens.claims(token);
        if (typeof claims.sub === 'string') return `user:${claims.sub}`;
      } catch {
        // not a valid token: the address pays
      }
    }
    return `ip:${req.ip}`;
  }
}
