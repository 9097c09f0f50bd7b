import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OutboxModule } from '../../database/outbox/outbox.module';
import { QueueModule } from '../queue/queue.module';
import { WebhookDelivery } from './entities/webhook-delivery.entity';
import { WebhookDeliveryAttempt } from './entities/webhook-delivery-attempt.entity';
import { WebhookSubscription } from './entities/webhook-subscription.entity';
import { EventWebhooksService } from './event-webhooks.service';
import { WebhookJobRoutes } from './jobs/webhook-job-routes';
import { WebhookDeliveryRepository } from './webhook-delivery.repository';
import { WebhookDeliveryService } from './webhook-delivery.service';
import { WebhookEventRecorder } from './webhook-event-recorder';
import { WebhookHttpSender } from './webhook-http-sender';
import { WebhookSubscriptionCache } from './webhook-subscription-cache';

/**
 * Outbound webhooks as every process needs them: the recorder that writes deliveries in the
 * transactions of message changes, and the subscription cache it reads. The routes are
 * EventWebhooksApiModule, the delivery worker EventWebhooksJobsModule.
 */
@Module({
  imports: [TypeOrmModule.forFeature([WebhookSubscription, WebhookDelivery, WebhookDeliveryAttempt]), OutboxModule, QueueModule],
  providers: [WebhookSubscriptionCache, WebhookDeliveryRepository, WebhookEventRecorder, WebhookJobRoutes, EventWebhooksService, WebhookDeliveryService, WebhookHttpSender],
  exports: [EventWebhooksService, WebhookDeliveryService, WebhookDeliveryRepository],
})
export class EventWebhooksModule {}
