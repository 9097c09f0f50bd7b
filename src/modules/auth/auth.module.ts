import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../../config/configuration';
import { AccessTokenVerifier } from './access-token.verifier';
import { AdminAccessService } from './admin-access.service';
import { AuthService } from './auth.service';
import { User } from './entities/user.entity';
import { JwtAuthGuard } from './guards/jwt-auth.guard';
import { RolesGuard } from './guards/roles.guard';
import { JwtStrategy } from './strategies/jwt.strategy';
import { jwtModuleOptions } from './jwt-options';
import { UsersService } from './users.service';

/** Users, tokens and admin access, for every process; login and the first admin are AuthApiModule. */
@Module({
  imports: [
    TypeOrmModule.forFeature([User]),
    PassportModule,
    JwtModule.registerAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<AppConfig, true>) => jwtModuleOptions(config.get('auth', { infer: true })),
    }),
  ],
  providers: [AuthService, UsersService, AccessTokenVerifier, JwtStrategy, JwtAuthGuard, RolesGuard, AdminAccessService],
  exports: [AuthService, UsersService, AccessTokenVerifier, JwtAuthGuard, RolesGuard, AdminAccessService],
})
export class AuthModule {}
