import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { isUUID } from 'class-validator';
import { JsonWebTokenError } from 'jsonwebtoken';
import { API_KEY_PREFIX } from './credentials';
import { ApiKeyRejection, ApiKeysService } from './api-keys.service';
import { AccessTokenClaims, AuthenticatedUser } from './auth.types';
import { UsersService } from './users.service';

export enum TokenRejection {
  Expired = 'expired',
  Invalid = 'invalid',
}

export type TokenVerification = { user: AuthenticatedUser } | { rejection: TokenRejection };

/** How many verified tokens a process remembers; past that the oldest is forgotten first. */
export const VERIFIED_TOKEN_CACHE_SIZE = 10_000;

interface VerifiedToken {
  claims: AccessTokenClaims;
  /** The token's `exp`, in ms. */
  expiresAt: number;
}

/**
 * What makes an access token good, for the API's JwtStrategy and for the routes outside Nest's
 * guards alike: signed by this service with HS256, with its issuer and audience, not expired
 * (the JwtModule's verify options, which the strategy is configured with too), and naming a user
 * who still exists and is active.
 */
@Injectable()
export class AccessTokenVerifier {
  /**
   * Tokens whose signature and claims checked out, by their text. A client sends the same token on
   * every request until it expires, and checking it costs two HMACs per request (the rate limit's
   * tracker and the auth guard each need the claims): a tenth of an API process's CPU at a few
   * thousand requests a second. The outcome of the check depends only on the text, the key and the
   * clock, so a remembered token is good until its own `exp`. Only tokens that verified are kept,
   * so made-up tokens cannot fill the cache; whether the user is still active is checked on every
   * request regardless (activeUser).
   */
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(
    private readonly jwt: JwtService,
    private readonly users: UsersService,
    private readonly apiKeys: ApiKeysService,
  ) {}

  /**
   * The claims of a token this service signed; rejects with jsonwebtoken's error otherwise. The
   * service never signs a token without an expiry, and jsonwebtoken accepts one: one signed with
   * our secret but no `exp` would never expire, so it is refused here.
   */
  async claims(token: string): Promise<AccessTokenClaims> {
    const known = this.verified.get(token);
    if (known !== undefined) {
      // jsonwebtoken's own rule: expired once the clock (in whole seconds) reaches exp.
      if (Math.floor(Date.now() / 1000) * 1000 < known.expiresAt) return known.claims;
      this.verified.delete(token);
    }
    const claims = await this.jwt.verifyAsync<AccessTokenClaims & { exp?: unknown }>(token);
    if (typeof claims.exp !== 'number') throw new JsonWebTokenError('jwt has no expiry');
    if (this.verified.size >= VERIFIED_TOKEN_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, { claims, expiresAt: claims.exp * 1000 });
    return claims;
  }

  /**
   * A deleted or deactivated user's tokens stop working within seconds (UsersService keeps the
   * check ACTIVE_USER_CACHE_MS), not at expiry. A token without a user id (signed with our
   * secret by mistake) authenticates nobody.
   */
  async activeUser(claims: AccessTokenClaims): Promise<AuthenticatedUser | null> {
    if (typeof claims.sub !== 'string' || !isUUID(claims.sub)) return null;
    // The passport strategy verifies the signature itself and comes here with the claims.
    if (typeof (claims as { exp?: unknown }).exp !== 'number') return null;
    const user = await this.users.findActiveById(claims.sub);
    if (!user) return null;
    return { id: user.id, email: user.email, role: user.role };
  }

  /** A bearer token or an API key (`wsk_...`), for the routes outside Nest's guards. */
  async verify(token: string): Promise<TokenVerification> {
    if (token.startsWith(API_KEY_PREFIX)) {
      const verified = await this.apiKeys.verify(token);
      if ('user' in verified) return verified;
      return { rejection: verified.rejection === ApiKeyRejection.Expired ? TokenRejection.Expired : TokenRejection.Invalid };
    }
    let claims: AccessTokenClaims;
    try {
      claims = await this.claims(token);
    } catch (err) {
      return { rejection: (err as Error).name === 'TokenExpiredError' ? TokenRejection.Expired : TokenRejection.Invalid };
    }
    const user = await this.activeUser(claims);
    return user ? { user } : { rejection: TokenRejection.Invalid };
  }
}
