import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { TemplatesController } from './templates.controller';
import { TemplatesModule } from './templates.module';
import { TemplatesService } from './templates.service';

/** The template listing API (APP_ROLE api or all). */
@Module({
  imports: [TemplatesModule, AuthModule],
  controllers: [TemplatesController],
  providers: [TemplatesService],
})
export class TemplatesApiModule {}
