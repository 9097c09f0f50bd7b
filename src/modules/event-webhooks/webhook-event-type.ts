/** The events a subscription can ask for. */
export enum WebhookEventType {
  /** Every applied status change of an outbound message. */
  MessageStatus = 'message.status',
  /** An outbound message reached failed or undelivered (in addition to its message.status). */
  MessageFailed = 'message.failed',
  /** A message a user sent to one of our senders was stored. */
  MessageInbound = 'message.inbound',
}

export const WEBHOOK_EVENT_TYPES: readonly string[] = Object.values(WebhookEventType);
