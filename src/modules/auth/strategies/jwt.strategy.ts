import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { AppConfig } from '../../../config/configuration';
import { AccessTokenVerifier } from '../access-token.verifier';
import { AccessTokenClaims, AuthenticatedUser } from '../auth.types';
import { accessTokenVerifyOptions, jwtKey } from '../jwt-options';

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    config: ConfigService<AppConfig, true>,
    private readonly tokens: AccessTokenVerifier,
  ) {
    const auth = config.get('auth', { infer: true });
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // Handed to jsonwebtoken as is, which takes a KeyObject (see jwtKey); passport-jwt's types predate it.
      secretOrKey: jwtKey(auth) as unknown as Buffer,
      // Algorithm pinned: a token signed with any other (none, RS256 with the secret as a key) is refused.
      ...accessTokenVerifyOptions(auth),
      ignoreExpiration: false,
    });
  }

  async validate(claims: AccessTokenClaims): Promise<AuthenticatedUser | false> {
    return (await this.tokens.activeUser(claims)) ?? false;
  }
}
