import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { AppConfig } from '../../../config/configuration';
import { AccessTokenVerifier } from '../access-token.verifier';
import { AccessTokenClaims, AuthenticatedUser } from '../auth.types';
import { accessTokenVerifyOptions } from '../jwt-options';

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    config: ConfigService<AppConfig, true>,
    private readonly tokens: AccessTokenVerifier,
  ) {
    const auth = config.get('auth', { infer: true });
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKey: auth.jwtSecret,
      // Algorithm pinned: a token signed with any other (none, RS256 with the secret as a key) is refused.
      ...accessTokenVerifyOptions(auth),
      ignoreExpiration: false,
    });
  }

  async validate(claims: AccessTokenClaims): Promise<AuthenticatedUser | false> {
    return (await this.tokens.activeUser(claims)) ?? false;
  }
}
