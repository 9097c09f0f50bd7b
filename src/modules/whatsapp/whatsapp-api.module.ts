import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { RetryController } from './retry.controller';
import { SendersController } from './senders.controller';
import { WhatsAppController } from './whatsapp.controller';
import { WhatsAppModule } from './whatsapp.module';

/** The send, query and retry API (APP_ROLE api or all). */
@Module({
  imports: [WhatsAppModule, AuthModule],
  controllers: [WhatsAppController, RetryController, SendersController],
})
export class WhatsAppApiModule {}
