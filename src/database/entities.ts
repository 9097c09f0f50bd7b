import { User } from '../modules/auth/entities/user.entity';
import { WebhookDelivery } from '../modules/event-webhooks/entities/webhook-delivery.entity';
import { WebhookDeliveryAttempt } from '../modules/event-webhooks/entities/webhook-delivery-attempt.entity';
import { WebhookSubscription } from '../modules/event-webhooks/entities/webhook-subscription.entity';
import { ApiKey } from '../modules/auth/entities/api-key.entity';
import { OutboxEntry } from './outbox/outbox-entry.entity';
import { Contact } from '../modules/whatsapp/entities/contact.entity';
import { MessageEvent } from '../modules/whatsapp/entities/message-event.entity';
import { WhatsAppMessage } from '../modules/whatsapp/entities/whatsapp-message.entity';
import { IdempotencyKey } from '../modules/whatsapp/idempotency/idempotency-key.entity';

/** Listed explicitly (no globs) so the app, the CLI and the tests load the same entities from ts or js. */
export const ENTITIES = [User, ApiKey, WhatsAppMessage, MessageEvent, Contact, OutboxEntry, IdempotencyKey, WebhookSubscription, WebhookDelivery, WebhookDeliveryAttempt];
