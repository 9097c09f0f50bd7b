/** Every message status Twilio documents for the Messages API (MessageStatus / SmsStatus). */
export enum MessageStatus {
  Queued = 'queued',
  Accepted = 'accepted',
  Scheduled = 'scheduled',
  Canceled = 'canceled',
  Sending = 'sending',
  Sent = 'sent',
  Delivered = 'delivered',
  Read = 'read',
  Failed = 'failed',
  Undelivered = 'undelivered',
  PartiallyDelivered = 'partially_delivered',
  Receiving = 'receiving',
  Received = 'received',
}

export const MESSAGE_STATUSES: readonly MessageStatus[] = Object.values(MessageStatus);

export function isMessageStatus(value: unknown): value is MessageStatus {
  return typeof value === 'string' && (MESSAGE_STATUSES as readonly string[]).includes(value);
}

export enum MessageDirection {
  Outbound = 'outbound',
  Inbound = 'inbound',
}
