import { Inject, Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import { AccessTokenVerifier } from '../access-token.verifier';
import { apiKeyFromHeaders, bearerToken } from '../credentials';
import { ApiKeysService } from '../api-keys.service';

/**
 * Rate limits per API user (or API key) rather than per address, so users behind one NAT do not
 * share a budget. Global guards run before the auth guard, so the credential is checked here: a
 * token's signature and claims (an HMAC, no database), or an API key (the look-up the auth guard
 * then finds cached). Anything that does not check out counts against the client address, so a
 * made-up credential cannot buy a fresh budget. Login attempts always count per address
 * (AuthController sets its own tracker).
 */
@Injectable()
export class UserThrottlerGuard extends ThrottlerGuard {
  @Inject(AccessTokenVerifier) private readonly tokens!: AccessTokenVerifier;
  @Inject(ApiKeysService) private readonly apiKeys!: ApiKeysService;

  protected override async getTracker(req: Record<string, any>): Promise<string> {
    const key = apiKeyFromHeaders(req.headers);
    if (key !== undefined) {
      const verified = await this.apiKeys.verify(key).catch(() => undefined);
      return verified && 'user' in verified ? `key:${verified.user.id}` : `ip:${req.ip}`;
    }
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
