import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { MessageStatusAppliedEvent } from '../../common/events/domain-events';
import { InboundStoredEvent, MessageChangeHook, MessageChangeHooks } from '../../common/events/message-change-hooks';
import { NewDelivery, WebhookDeliveryRepository } from './webhook-delivery.repository';
import { inboundEvent, statusEvents, WebhookEvent } from './webhook-event-body';
import { WebhookSubscriptionCache } from './webhook-subscription-cache';

/** The Standard Webhooks message id: the webhook-id header, stable across retries and subscriptions. */
export function newEventId(): string {
  return `msg_${randomUUID().replace(/-/g, '')}`;
}

/**
 * Records the deliveries of message events in the transaction of the change they report: one
 * statement per transaction batch when someone listens, none when nobody does (the cache answers).
 */
@Injectable()
export class WebhookEventRecorder implements MessageChangeHook, OnModuleInit, OnModuleDestroy {
  private unregister?: () => void;

  constructor(
    private readonly hooks: MessageChangeHooks,
    private readonly cache: WebhookSubscriptionCache,
    private readonly deliveries: WebhookDeliveryRepository,
  ) {}

  onModuleInit(): void {
    this.unregister = this.hooks.register(this);
  }

  onModuleDestroy(): void {
    this.unregister?.();
  }

  async statusesApplied(tx: EntityManager, events: readonly MessageStatusAppliedEvent[]): Promise<void> {
    if (this.cache.isEmpty) return;
    await this.record(tx, events.flatMap(statusEvents));
  }

  async inboundStored(tx: EntityManager, events: readonly InboundStoredEvent[]): Promise<void> {
    if (this.cache.isEmpty) return;
    await this.record(tx, events.map(inboundEvent));
  }

  private async record(tx: EntityManager, events: WebhookEvent[]): Promise<void> {
    const rows: NewDelivery[] = [];
    for (const event of events) {
      const listening = this.cache.listening(event.type);
      if (listening.length === 0) continue;
      const eventId = newEventId();
      for (const s of listening) rows.push({ subscriptionId: s.id, eventId, eventType: event.type, messageId: event.messageId, body: event.body });
    }
    if (rows.length > 0) await this.deliveries.insertForEvents(tx, rows);
  }
}
