import { Module } from '@nestjs/common';
import { AdminBootstrapService } from './admin-bootstrap.service';
import { AuthController } from './auth.controller';
import { AuthModule } from './auth.module';

/** Login, and the first admin for it (APP_ROLE api or all: a worker has no one to log in). */
@Module({
  imports: [AuthModule],
  controllers: [AuthController],
  providers: [AdminBootstrapService],
  exports: [AdminBootstrapService],
})
export class AuthApiModule {}
