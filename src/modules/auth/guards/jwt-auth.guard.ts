import { ExecutionContext, Injectable } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { DomainException } from '../../../common/errors/domain.exception';
import { ErrorCode } from '../../../common/errors/error-code';

@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  /**
   * `info` carries what is wrong with the token (missing, expired, forged): 401. `err` means the
   * token could not be checked at all (the user look-up failed: the database is unreachable):
   * 503, so a client retries instead of dropping the message as unauthorised.
   */
  override handleRequest<TUser>(err: unknown, user: TUser, info: unknown, _context: ExecutionContext): TUser {
    if (err) {
      throw new DomainException(ErrorCode.ServiceUnavailable, 'The access token cannot be checked right now (a dependency is unavailable); retry shortly');
    }
    if (!user) {
      const reason = info instanceof Error ? info.message : undefined;
      const message =
        reason === 'No auth token'
          ? 'Missing bearer token: send Authorization: Bearer <accessToken> from POST /api/v1/auth/login'
          : reason === 'jwt expired'
            ? 'The access token has expired; log in again'
            : 'Invalid access token';
      throw new DomainException(ErrorCode.Unauthorized, message);
    }
    return user;
  }
}
