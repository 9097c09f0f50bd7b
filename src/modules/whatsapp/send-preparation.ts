import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';
import type { TwilioSettings } from '../../config/configuration';
import type { MessageMetadata } from './entities/whatsapp-message.entity';
import { MessageDirection, MessageStatus } from './message-status';
import type { NewMessage } from './messages/whatsapp-message.repository';
import { parseWhatsAppAddress, WhatsAppAddress } from './phone-number';
import { resolveSendAt } from './send-schedule';

/** What a send asks for, from the API or from code. */
export interface SendInput {
  to: string;
  body?: string;
  mediaUrls?: string[];
  from?: string;
  contentSid?: string;
  contentVariables?: Record<string, string>;
  /** The caller's own reference and data, stored and echoed back, never sent to Twilio. */
  clientReference?: string;
  metadata?: MessageMetadata;
  /** The API user sending it. */
  userId?: string;
  /** Send at this time (ISO 8601 with an offset) instead of now: stored as scheduled. */
  sendAt?: string;
}

/** What a scheduled send is measured against: the accept time and the minimum lead time. */
export interface ScheduleRules {
  now: Date;
  minLeadMs: number;
}

/** The senders a deployment may send from. */
export type SenderSettings = Pick<TwilioSettings, 'whatsappFrom' | 'messagingServiceSid'>;

/** A send that passed every check that needs no database: recipient, sender, content. */
export interface PreparedSend {
  to: WhatsAppAddress;
  /** Approved templates may be sent outside the 24-hour window. */
  isTemplate: boolean;
  /** The row to store; the caller adds queuedAt (unless it is scheduled). */
  message: NewMessage;
  /** When a scheduled send is due (also message.scheduledAt); undefined for a send now. */
  scheduledAt?: Date;
}

/** The sender to use: the given one if configured, else the default. */
export function resolveSender(requested: string | undefined, senders: SenderSettings): string {
  const { whatsappFrom, messagingServiceSid } = senders;
  // Without a WhatsApp sender the Messaging Service (MG...) picks one at Twilio; the row keeps its SID.
  if (!requested) return whatsappFrom[0] ?? messagingServiceSid!;
  if (whatsappFrom.length === 0) {
    throw new DomainException(ErrorCode.UnknownSender, `from is not accepted: messages go through the Messaging Service ${messagingServiceSid}, which picks the sender`, {
      field: 'from',
    });
  }
  const normalized = parseWhatsAppAddress(requested, 'from').address;
  if (!whatsappFrom.includes(normalized)) {
    throw new DomainException(ErrorCode.UnknownSender, `from must be one of the configured senders: ${whatsappFrom.join(', ')}`, {
      field: 'from',
    });
  }
  return normalized;
}

/**
 * Checks a send without touching the database (recipient, sender, content) and builds the row
 * to store. The contact policy is left to the caller, so a bulk send can check all its
 * recipients in one query.
 */
export function prepareSend(input: SendInput, senders: SenderSettings, schedule: ScheduleRules): PreparedSend {
  const to = parseWhatsAppAddress(input.to, 'to');
  const scheduledAt = input.sendAt === undefined ? undefined : resolveSendAt(input.sendAt, schedule.now, schedule.minLeadMs);
  const from = resolveSender(input.from, senders);
  const body = input.body ?? null;
  if (!body && !input.contentSid && !(input.mediaUrls && input.mediaUrls.length > 0)) {
    throw new DomainException(ErrorCode.ValidationFailed, 'message is required (or contentSid for a template, or mediaUrl)', {
      field: 'message',
    });
  }
  return {
    to,
    isTemplate: !!input.contentSid,
    ...(scheduledAt ? { scheduledAt } : {}),
    message: {
      direction: MessageDirection.Outbound,
      from,
      to: to.address,
      body,
      mediaUrls: input.mediaUrls ?? [],
      contentSid: input.contentSid ?? null,
      contentVariables: input.contentVariables ?? null,
      clientReference: input.clientReference ?? null,
      metadata: input.metadata ?? null,
      status: scheduledAt ? MessageStatus.Scheduled : MessageStatus.Queued,
      scheduledAt: scheduledAt ?? null,
      createdBy: input.userId ?? null,
    },
  };
}
