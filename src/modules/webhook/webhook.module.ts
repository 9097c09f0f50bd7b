import { Module } from '@nestjs/common';
import { WhatsAppModule } from '../whatsapp/whatsapp.module';
import { TwilioSignatureGuard } from './guards/twilio-signature.guard';
import { StatusCallbackService } from './status-callback.service';
import { WebhookController } from './webhook.controller';

@Module({
  imports: [WhatsAppModule],
  controllers: [WebhookController],
  providers: [StatusCallbackService, TwilioSignatureGuard],
})
export class WebhookModule {}
