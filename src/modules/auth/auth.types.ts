import { UserRole } from './entities/user.entity';

/** Claims of an access token. `sub` is the user id. */
export interface AccessTokenClaims {
  sub: string;
  email: string;
  role: UserRole;
}

/**
 * What guards put on `request.user`: a user, or an API key acting as a principal of its own (`id`
 * is then the key's id, which is what its sends record as their creator).
 */
export interface AuthenticatedUser {
  id: string;
  /** Unset for an API key. */
  email?: string;
  role: UserRole;
  apiKey?: { name: string; createdBy: string };
}
