import { ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { DomainException } from '../../../common/errors/domain.exception';
import { ErrorCode } from '../../../common/errors/error-code';
import { apiKeyFromHeaders } from '../credentials';
import { API_KEY_REJECTION_ERRORS, ApiKeysService } from '../api-keys.service';
import { AuthenticatedUser } from '../auth.types';

const UNCHECKABLE = 'The access token cannot be checked right now (a dependency is unavailable); retry shortly';

/**
 * Authenticates a request by its API key (`X-API-Key` or `Authorization: Bearer wsk_...`) or else
 * by its JWT (passport's `jwt` strategy); either way RolesGuard then decides by `request.user.role`.
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  @Inject(ApiKeysService) private readonly apiKeys!: ApiKeysService;

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<{ headers?: Record<string, string | string[] | undefined>; user?: AuthenticatedUser }>();
    const presented = apiKeyFromHeaders(request.headers);
    if (presented === undefined) return (await super.canActivate(context)) as boolean;
    const verified = await this.apiKeys.verify(presented).catch(() => {
      throw new DomainException(ErrorCode.ServiceUnavailable, UNCHECKABLE);
    });
    if ('rejection' in verified) {
      const { code, message } = API_KEY_REJECTION_ERRORS[verified.rejection];
      throw new DomainException(code, message);
    }
    request.user = verified.user;
    return true;
  }

  /**
   * `info` carries what is wrong with the token (missing, expired, forged): 401. `err` means the
   * token could not be checked at all (the user look-up failed: the database is unreachable):
   * 503, so a client retries instead of dropping the message as unauthorised.
   */
  override handleRequest<TUser>(err: unknown, user: TUser, info: unknown, _context: ExecutionContext): TUser {
    if (err) {
      throw new DomainException(ErrorCode.ServiceUnavailable, UNCHECKABLE);
    }
    if (!user) {
      const reason = info instanceof Error ? info.message : undefined;
      const message =
        reason === 'No auth token'
          ? 'Missing bearer token: send Authorization: Bearer <accessToken> from POST /api/v1/auth/login, or an API key as X-API-Key'
          : reason === 'jwt expired'
            ? 'The access token has expired; log in again'
            : 'Invalid access token';
      throw new DomainException(ErrorCode.Unauthorized, message);
    }
    return user;
  }
}
