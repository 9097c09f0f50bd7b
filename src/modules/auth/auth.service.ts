import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import { AppConfig } from '../../config/configuration';
import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';
import { AccessTokenClaims } from './auth.types';
import { timingSafeDummyHash, verifyPassword } from './password-hasher';
import { UsersService } from './users.service';
import { LoginResponseDto } from './dto/login-response.dto';

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly jwt: JwtService,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  async login(email: string, password: string): Promise<LoginResponseDto> {
    const user = await this.users.findForLogin(email);
    const ok = user
      ? user.active && (await verifyPassword(user.passwordHash, password))
      : await verifyPassword(await timingSafeDummyHash(), password).then(() => false);
    if (!user || !ok) {
      throw new DomainException(ErrorCode.InvalidCredentials, 'Invalid email or password');
    }
    const claims: AccessTokenClaims = { sub: user.id, email: user.email, role: user.role };
    const accessToken = await this.jwt.signAsync(claims);
    return {
      accessToken,
      tokenType: 'Bearer',
      expiresIn: this.config.get('auth', { infer: true }).jwtExpiresInSeconds,
    };
  }
}
