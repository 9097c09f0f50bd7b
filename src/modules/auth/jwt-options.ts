import { JwtModuleOptions } from '@nestjs/jwt';
import { AuthSettings } from '../../config/configuration';

/** The one algorithm tokens are signed and accepted with; anything else (`none`, RS256, HS512) is refused. */
export const JWT_ALGORITHM = 'HS256';

export function jwtModuleOptions(auth: AuthSettings): JwtModuleOptions {
  return {
    secret: auth.jwtSecret,
    signOptions: { algorithm: JWT_ALGORITHM, expiresIn: auth.jwtExpiresInSeconds, issuer: auth.jwtIssuer, audience: auth.jwtAudience },
    verifyOptions: { algorithms: [JWT_ALGORITHM], issuer: auth.jwtIssuer, audience: auth.jwtAudience },
  };
}
