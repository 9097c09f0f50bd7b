import { JwtModuleOptions } from '@nestjs/jwt';
import type { Algorithm } from 'jsonwebtoken';
import { AuthSettings } from '../../config/configuration';

/** The one algorithm tokens are signed and accepted with; anything else (`none`, RS256, HS512) is refused. */
export const JWT_ALGORITHM = 'HS256';

export interface AccessTokenVerifyOptions {
  algorithms: Algorithm[];
  issuer: string;
  audience: string;
}

/** What a token must carry besides a valid signature and expiry; the same for JwtModule and the passport strategy. */
export function accessTokenVerifyOptions(auth: AuthSettings): AccessTokenVerifyOptions {
  return { algorithms: [JWT_ALGORITHM], issuer: auth.jwtIssuer, audience: auth.jwtAudience };
}

export function jwtModuleOptions(auth: AuthSettings): JwtModuleOptions {
  return {
    secret: auth.jwtSecret,
    signOptions: { algorithm: JWT_ALGORITHM, expiresIn: auth.jwtExpiresInSeconds, issuer: auth.jwtIssuer, audience: auth.jwtAudience },
    verifyOptions: accessTokenVerifyOptions(auth),
  };
}
