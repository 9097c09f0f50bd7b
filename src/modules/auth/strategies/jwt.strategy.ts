import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { AppConfig } from '../../../config/configuration';
import { AccessTokenVerifier } from '../access-token.verifier';
import { AccessTokenClaims, AuthenticatedUser } from '../auth.types';
import { accessTokenVerifyOptions, jwtKey } from '../jwt-options';

const bearerFromRequest = ExtractJwt.fromAuthHeaderAsBearerToken();

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

  /**
   * passport-jwt's flow, with the token checked by AccessTokenVerifier (the same key and options
   * as configured above) so that a token already verified by this process, by the rate limit's
   * tracker a moment earlier or by an earlier request, is not verified again. Outcomes are
   * passport-jwt's: fail with the reason (no token, jsonwebtoken's error), error when the user
   * check cannot run, success with the user.
   */
  override authenticate(req: Parameters<typeof bearerFromRequest>[0]): void {
    const token = bearerFromRequest(req);
    if (!token) return this.fail(new Error('No auth token'), 401);
    this.tokens.claims(token).then(
      (claims) =>
        this.validate(claims).then(
          (user) => (user ? this.success(user) : this.fail(401)),
          (err: unknown) => this.error(err as Error),
        ),
      (err: unknown) => this.fail(err, 401),
    );
  }

  async validate(claims: AccessTokenClaims): Promise<AuthenticatedUser | false> {
    return (await this.tokens.activeUser(claims)) ?? false;
  }
}
