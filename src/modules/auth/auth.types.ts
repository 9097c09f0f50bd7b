import { UserRole } from './entities/user.entity';

/** Claims of an access token. `sub` is the user id. */
export interface AccessTokenClaims {
  sub: string;
  email: string;
  role: UserRole;
}

/** What guards put on `request.user`. */
export interface AuthenticatedUser {
  id: string;
  email: string;
  role: UserRole;
}
