import { Module } from '@nestjs/common';
import { TwilioModule } from '../twilio/twilio.module';
import { TemplateCatalog } from './template-catalog.service';

/** The account's Content API templates, cached; every role checks template sends against it. */
@Module({
  imports: [TwilioModule],
  providers: [TemplateCatalog],
  exports: [TemplateCatalog],
})
export class TemplatesModule {}
