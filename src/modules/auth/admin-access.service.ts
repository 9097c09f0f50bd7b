import { Injectable } from '@nestjs/common';
import { AccessTokenVerifier, TokenRejection } from './access-token.verifier';
import { UserRole } from './entities/user.entity';

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

export const ACCESS_ALLOWED: AccessResult = { decision: AccessDecision.Allowed, message: 'ok' };

// Where it always lived, for the routes outside Nest's guards; it sits with the API key parsing now.
export { bearerToken } from './credentials';

/**
 * Admin access for the routes that live outside Nest's guards (/metrics on its own port, the
 * queue dashboard): the token is checked by the same AccessTokenVerifier as the API's JwtStrategy,
 * and the user must be an admin.
 */
@Injectable()
export class AdminAccessService {
  constructor(private readonly tokens: AccessTokenVerifier) {}

  /** An active admin's access token, and nothing else. */
  async adminAccess(token: string | undefined): Promise<AccessResult> {
    if (!token) {
      return { decision: AccessDecision.Unauthenticated, message: 'Missing bearer token: send Authorization: Bearer <accessToken> of an admin' };
    }
    const verified = await this.tokens.verify(token);
    if ('rejection' in verified) {
      const expired = verified.rejection === TokenRejection.Expired;
      return { decision: AccessDecision.Unauthenticated, message: expired ? 'The access token has expired; log in again' : 'Invalid access token' };
    }
    if (verified.user.role !== UserRole.Admin) return { decision: AccessDecision.Forbidden, message: 'This needs the admin role' };
    return ACCESS_ALLOWED;
  }
}
