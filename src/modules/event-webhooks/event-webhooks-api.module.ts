import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { EventWebhooksController } from './event-webhooks.controller';
import { EventWebhooksModule } from './event-webhooks.module';

/** The /webhooks routes (APP_ROLE api or all). */
@Module({
  imports: [EventWebhooksModule, AuthModule],
  controllers: [EventWebhooksController],
})
export class EventWebhooksApiModule {}
