import type { MessageStatusAppliedEvent } from '../../common/events/domain-events';
import type { InboundStoredEvent } from '../../common/events/message-change-hooks';
import { operatorHint } from '../twilio/twilio-error-codes';
import { WebhookEventType } from './webhook-event-type';

/** Statuses that make a message.failed event as well as its message.status. */
const FAILED_STATUSES: ReadonlySet<string> = new Set(['failed', 'undelivered']);

const iso = (d: Date | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

export interface WebhookEvent {
  type: WebhookEventType;
  messageId: string;
  /** The JSON body, as signed and sent. */
  body: string;
}

/** The events one applied status change makes: message.status, and message.failed on failure. Stale events (no status change) make none. */
export function statusEvents(e: MessageStatusAppliedEvent): WebhookEvent[] {
  if (!e.statusChanged) return [];
  const data = {
    id: e.messageId,
    messageSid: e.messageSid,
    status: e.status,
    previousStatus: e.previousStatus,
    errorCode: e.errorCode,
    errorHint: e.errorCode ? (operatorHint(e.errorCode) ?? null) : null,
    to: e.to,
    from: e.from,
    clientReference: e.clientReference,
    metadata: e.metadata,
    timestamps: {
      scheduledAt: iso(e.scheduledAt),
      queuedAt: iso(e.queuedAt),
      sentAt: iso(e.sentAt),
      deliveredAt: iso(e.deliveredAt),
      readAt: iso(e.readAt),
      failedAt: iso(e.failedAt),
      canceledAt: iso(e.canceledAt),
    },
  };
  const types = FAILED_STATUSES.has(e.status) ? [WebhookEventType.MessageStatus, WebhookEventType.MessageFailed] : [WebhookEventType.MessageStatus];
  return types.map((type) => ({ type, messageId: e.messageId, body: JSON.stringify({ type, timestamp: e.at.toISOString(), data }) }));
}

/** message.inbound: the stored inbound message. */
export function inboundEvent(e: InboundStoredEvent): WebhookEvent {
  const type = WebhookEventType.MessageInbound;
  const data = {
    id: e.messageId,
    messageSid: e.messageSid,
    direction: 'inbound',
    from: e.from,
    to: e.to,
    body: e.body,
    mediaUrls: e.mediaUrls,
    mediaContentTypes: e.mediaContentTypes,
    profileName: e.profileName,
    waId: e.waId,
    status: e.status,
    metadata: e.metadata,
    receivedAt: e.receivedAt.toISOString(),
  };
  return { type, messageId: e.messageId, body: JSON.stringify({ type, timestamp: e.receivedAt.toISOString(), data }) };
}
