import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { PassportStrategy } from '@nestjs/passport';
import { isUUID } from 'class-validator';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { AppConfig } from '../../../config/configuration';
import { AccessTokenClaims, AuthenticatedUser } from '../auth.types';
import { JWT_ALGORITHM, jwtKey } from '../jwt-options';
import { UsersService } from '../users.service';

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    config: ConfigService<AppConfig, true>,
    private readonly users: UsersService,
  ) {
    const auth = config.get('auth', { infer: true });
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // Handed to jsonwebtoken as is, which takes a KeyObject (see jwtKey); passport-jwt's types predate it.
      secretOrKey: jwtKey(auth) as unknown as Buffer,
      // Pinned: a token signed with any other algorithm (none, RS256 with the secret as a key) is refused.
      algorithms: [JWT_ALGORITHM],
      issuer: auth.jwtIssuer,
      audience: auth.jwtAudience,
      ignoreExpiration: false,
    });
  }

  /**
   * A deleted or deactivated user's tokens stop working within seconds, not at expiry. A token
   * without a user id (signed with our secret by mistake) authenticates nobody.
   */
  async validate(claims: AccessTokenClaims): Promise<AuthenticatedUser | false> {
    if (typeof claims.sub !== 'string' || !isUUID(claims.sub)) return false;
    const user = await this.users.findActiveById(claims.sub);
    if (!user || !user.active) return false;
    return { id: user.id, email: user.email, role: user.role };
  }
}
