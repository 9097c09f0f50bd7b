import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../../config/configuration';
import { AccessTokenVerifier } from './access-token.verifier';
import { AdminAccessService } from './admin-access.service';
import { MetricsAccessService } from './metrics-access.service';
import { ApiKeysService } from './api-keys.service';
import { AuthService } from './auth.service';
import { ApiKey } from './entities/api-key.entity';
import { User } from './entities/user.entity';
import { JwtAuthGuard } from './guards/jwt-auth.guard';
import { RolesGuard } from './guards/roles.guard';
import { JwtStrategy } from './strategies/jwt.strategy';
import { jwtModuleOptions } from './jwt-options';
import { UsersService } from './users.service';

/** Users, tokens and admin access, for every process; login and the first admin are AuthApiModule. */
@Module({
  imports: [
    TypeOrmModule.forFeature([User, ApiKey]),
    PassportModule,
    JwtModule.registerAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<AppConfig, true>) => jwtModuleOptions(config.get('auth', { infer: true })),
    }),
  ],
  providers: [AuthService, UsersService, ApiKeysService, AccessTokenVerifier, JwtStrategy, JwtAuthGuard, RolesGuard, AdminAccessService, MetricsAccessService],
  exports: [AuthService, UsersService, ApiKeysService, AccessTokenVerifier, JwtAuthGuard, RolesGuard, AdminAccessService, MetricsAccessService],
})
export class AuthModule {}
