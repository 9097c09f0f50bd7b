import { Module } from '@nestjs/common';
import { EventWebhooksModule } from '../event-webhooks.module';
import { WebhookDeliveryProcessor } from './webhook-delivery.processor';
import { WebhookDeliverySweeper } from './webhook-delivery-sweeper';

/** The `webhooks` queue's worker and the sweep for lost jobs (APP_ROLE worker or all): only processes that run jobs get a BullMQ Worker. */
@Module({
  imports: [EventWebhooksModule],
  providers: [WebhookDeliveryProcessor, WebhookDeliverySweeper],
})
export class EventWebhooksJobsModule {}
