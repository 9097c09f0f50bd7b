import { JwtModuleOptions } from '@nestjs/jwt';
import { createSecretKey, KeyObject } from 'node:crypto';
import type { Algorithm } from 'jsonwebtoken';
import { AuthSettings } from '../../config/configuration';

/** The one algorithm tokens are signed and accepted with; anything else (`none`, RS256, HS512) is refused. */
export const JWT_ALGORITHM = 'HS256';

const keys = new Map<string, KeyObject>();

/**
 * The HMAC secret as a KeyObject. Given a string, jsonwebtoken first tries to parse it as a
 * public key on every verification and catches the failure: a tenth of an API process's CPU
 * under load. A KeyObject skips that.
 */
export function jwtKey(auth: Pick<AuthSettings, 'jwtSecret'>): KeyObject {
  let key = keys.get(auth.jwtSecret);
  if (!key) {
    key = createSecretKey(Buffer.from(auth.jwtSecret, 'utf8'));
    keys.set(auth.jwtSecret, key);
  }
  return key;
}

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
  const key = jwtKey(auth);
  return {
    secretOrKeyProvider: () => key,
    signOptions: { algorithm: JWT_ALGORITHM, expiresIn: auth.jwtExpiresInSeconds, issuer: auth.jwtIssuer, audience: auth.jwtAudience },
    verifyOptions: accessTokenVerifyOptions(auth),
  };
}
