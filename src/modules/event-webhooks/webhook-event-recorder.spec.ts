import type { EntityManager } from 'typeorm';
import { DomainEventType, MessageStatusAppliedEvent } from '../../common/events/domain-events';
import { MessageChangeHooks } from '../../common/events/message-change-hooks';
import { NewDelivery, WebhookDeliveryRepository } from './webhook-delivery.repository';
import { WebhookEventRecorder } from './webhook-event-recorder';
import { EnabledSubscription, WebhookSubscriptionCache } from './webhook-subscription-cache';

function applied(messageId: string, previousStatus: string, status: string, statusChanged = true): MessageStatusAppliedEvent {
  return {
    type: DomainEventType.MessageStatusApplied,
    messageId,
    messageSid: `SM${messageId}`,
    from: 'whatsapp:+14155238886',
    to: 'whatsapp:+14155550100',
    clientReference: 'order-1',
    metadata: { k: 'v' },
    previousStatus,
    status,
    statusChanged,
    errorCode: status === 'undelivered' ? 30003 : null,
    at: new Date('2026-11-29T10:00:00Z'),
    queuedAt: new Date('2026-11-29T09:59:59Z'),
    sentAt: null,
    deliveredAt: null,
    readAt: null,
    failedAt: null,
    scheduledAt: null,
    canceledAt: null,
  };
}

function recorderWith(subscriptions: EnabledSubscription[]) {
  const cache = Object.assign(Object.create(WebhookSubscriptionCache.prototype) as WebhookSubscriptionCache, { subscriptions });
  const inserts: NewDelivery[][] = [];
  const deliveries = { insertForEvents: jest.fn(async (_tx: EntityManager, rows: NewDelivery[]) => void inserts.push(rows)) } as unknown as WebhookDeliveryRepository;
  const hooks = new MessageChangeHooks();
  const recorder = new WebhookEventRecorder(hooks, cache, deliveries);
  recorder.onModuleInit();
  // Any statement through the transaction itself would be a query on the status path.
  const tx = { query: jest.fn(() => Promise.reject(new Error('no SQL expected'))) } as unknown as EntityManager;
  return { hooks, inserts, tx };
}

describe('WebhookEventRecorder', () => {
  it('does nothing, and no SQL, when no subscription is enabled', async () => {
    const { hooks, inserts, tx } = recorderWith([]);
    await hooks.statusesApplied(tx, [applied('m1', 'sent', 'delivered')]);
    expect(inserts).toEqual([]);
    expect(tx.query).not.toHaveBeenCalled();
  });

  it('does nothing when the subscriptions want other events', async () => {
    const { hooks, inserts } = recorderWith([{ id: 's1', events: new Set(['message.inbound']) }]);
    await hooks.statusesApplied({} as EntityManager, [applied('m1', 'sent', 'delivered')]);
    expect(inserts).toEqual([]);
  });

  it('writes a whole batch in one statement: an event per subscription, in order, with one event id shared across subscriptions', async () => {
    const { hooks, inserts } = recorderWith([
      { id: 's1', events: new Set(['message.status']) },
      { id: 's2', events: new Set(['message.status', 'message.failed']) },
    ]);
    await hooks.statusesApplied({} as EntityManager, [applied('m1', 'sent', 'delivered'), applied('m1', 'delivered', 'read'), applied('m1', 'read', 'read', false), applied('m2', 'sent', 'undelivered')]);
    expect(inserts).toHaveLength(1);
    const rows = inserts[0];
    expect(rows.map((r) => [r.subscriptionId, r.eventType, r.messageId, JSON.parse(r.body).data.status])).toEqual([
      ['s1', 'message.status', 'm1', 'delivered'],
      ['s2', 'message.status', 'm1', 'delivered'],
      ['s1', 'message.status', 'm1', 'read'],
      ['s2', 'message.status', 'm1', 'read'],
      ['s1', 'message.status', 'm2', 'undelivered'],
      ['s2', 'message.status', 'm2', 'undelivered'],
      ['s2', 'message.failed', 'm2', 'undelivered'],
    ]);
    expect(rows[0].eventId).toBe(rows[1].eventId);
    expect(rows[0].eventId).not.toBe(rows[2].eventId);
    expect(rows[0].eventId).toMatch(/^msg_[0-9a-f]{32}$/);
    const failed = JSON.parse(rows[6].body);
    expect(failed).toEqual({
      type: 'message.failed',
      timestamp: '2026-11-29T10:00:00.000Z',
      data: expect.objectContaining({ errorCode: 30003, errorHint: expect.any(String), clientReference: 'order-1', metadata: { k: 'v' }, previousStatus: 'sent' }),
    });
  });
});
