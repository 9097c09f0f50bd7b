import { Module } from '@nestjs/common';
import { EventWebhooksModule } from '../event-webhooks.module';
import { WebhookDeliveryProcessor } from './webhook-delivery.processor';

/** The `webhooks` queue's worker (APP_ROLE worker or all): only processes that run jobs get a BullMQ Worker. */
@Module({
  imports: [EventWebhooksModule],
  providers: [WebhookDeliveryProcessor],
})
export class EventWebhooksJobsModule {}
