import { Injectable, Logger } from '@nestjs/common';

export enum DomainEventType {
  /** A message was stored and will be sent (queued or immediate). */
  MessageAccepted = 'message.accepted',
  /** A status event changed a message (status or a reached-stage timestamp). */
  MessageStatusApplied = 'message.status_applied',
  /** One call to Twilio's REST API finished. */
  TwilioCallCompleted = 'twilio.call_completed',
  /** A webhook's X-Twilio-Signature was checked. */
  WebhookVerified = 'webhook.verified',
  /** A validly signed webhook was refused (malformed, another account, not to our sender). */
  WebhookRefused = 'webhook.refused',
  /** A template send was accepted unchecked: the Content API could not be listed. */
  TemplateCheckSkipped = 'template.check_skipped',
}

export interface MessageAcceptedEvent {
  type: DomainEventType.MessageAccepted;
  messageId: string;
  from: string;
  immediate: boolean;
}

export interface MessageStatusAppliedEvent {
  type: DomainEventType.MessageStatusApplied;
  messageId: string;
  messageSid: string | null;
  from: string;
  to: string;
  clientReference: string | null;
  metadata: Record<string, string | number | boolean | null> | null;
  previousStatus: string;
  status: string;
  statusChanged: boolean;
  errorCode: number | null;
  /** When the change was applied. */
  at: Date;
  queuedAt: Date | null;
  sentAt: Date | null;
  deliveredAt: Date | null;
  readAt: Date | null;
  failedAt: Date | null;
  /** When a scheduled send is due (sendAt), and when it was canceled. */
  scheduledAt: Date | null;
  canceledAt: Date | null;
}

export interface TwilioCallCompletedEvent {
  type: DomainEventType.TwilioCallCompleted;
  operation: 'create' | 'fetch' | 'list';
  durationMs: number;
  ok: boolean;
  twilioCode: number | null;
  httpStatus: number | null;
  networkCode: string | null;
}

export interface WebhookVerifiedEvent {
  type: DomainEventType.WebhookVerified;
  kind: string;
  ok: boolean;
  /** Why it failed (missing_header, mismatch, body_hash_mismatch, ...), or 'unsigned_allowed'. */
  reason: string | null;
  /** Which configured auth token matched (0 = current). */
  tokenIndex: number | null;
}

export interface WebhookRefusedEvent {
  type: DomainEventType.WebhookRefused;
  kind: string;
  reason: string;
}

export interface TemplateCheckSkippedEvent {
  type: DomainEventType.TemplateCheckSkipped;
  contentSid: string;
}

export type DomainEvent = TemplateCheckSkippedEvent | MessageAcceptedEvent | MessageStatusAppliedEvent | TwilioCallCompletedEvent | WebhookVerifiedEvent | WebhookRefusedEvent;

type Listener<T extends DomainEventType> = (event: Extract<DomainEvent, { type: T }>) => void;

/**
 * In-process stream of what happened, for observers (metrics, logs) that must not be wired
 * into the code paths they observe. Listeners run synchronously; a listener that throws is
 * logged and skipped, never failing the send or webhook that published the event.
 */
@Injectable()
export class DomainEvents {
  private readonly logger = new Logger(DomainEvents.name);
  private readonly listeners = new Map<DomainEventType, ((event: DomainEvent) => void)[]>();

  publish(event: DomainEvent): void {
    for (const listener of this.listeners.get(event.type) ?? []) {
      try {
        listener(event);
      } catch (err) {
        this.logger.error(`Listener for ${event.type} failed: ${(err as Error).message}`);
      }
    }
  }

  on<T extends DomainEventType>(type: T, listener: Listener<T>): () => void {
    const wrapped = listener as unknown as (event: DomainEvent) => void;
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), wrapped]);
    return () => this.listeners.set(type, (this.listeners.get(type) ?? []).filter((l) => l !== wrapped));
  }
}
