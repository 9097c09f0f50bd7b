import { ExecutionContext, Injectable } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { DomainException } from '../../../common/errors/domain.exception';
import { ErrorCode } from '../../../common/errors/error-code';

@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  override handleRequest<TUser>(err: unknown, user: TUser, info: unknown, _context: ExecutionContext): TUser {
    if (err || !user) {
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
