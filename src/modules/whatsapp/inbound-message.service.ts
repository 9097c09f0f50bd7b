import { Injectable, Logger } from '@nestjs/common';
import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';
import { MessageChangeHooks } from '../../common/events/message-change-hooks';
import { MessageDirection, MessageStatus } from './message-status';
import { ContactRepository } from './messages/contact.repository';
import { WhatsAppMessageRepository } from './messages/whatsapp-message.repository';
import { contactKey, phoneOf } from './phone-number';

/** Keywords WhatsApp/Twilio users send to opt out and back in (compared case-insensitively, trimmed). */
export const OPT_OUT_KEYWORDS: ReadonlySet<string> = new Set(['stop', 'stopall', 'unsubscribe', 'cancel', 'end', 'quit', 'optout', 'opt-out', 'revoke']);
export const OPT_IN_KEYWORDS: ReadonlySet<string> = new Set(['start', 'unstop', 'yes', 'optin', 'opt-in', 'subscribe']);

/** Fields of Twilio's inbound webhook that the message row stores in their own columns. */
const COLUMN_FIELDS = new Set(['MessageSid', 'SmsMessageSid', 'SmsSid', 'AccountSid', 'From', 'To', 'Body', 'NumMedia', 'ProfileName', 'WaId', 'SmsStatus', 'ApiVersion', 'NumSegments']);

export enum InboundOutcome {
  Stored = 'stored',
  Duplicate = 'duplicate',
}

export interface InboundResult {
  outcome: InboundOutcome;
  messageId?: string;
  optedOut?: boolean;
  optedIn?: boolean;
}

/** Stores messages users send to our WhatsApp senders and keeps their contact state. */
@Injectable()
export class InboundMessageService {
  private readonly logger = new Logger(InboundMessageService.name);

  constructor(
    private readonly messages: WhatsAppMessageRepository,
    private readonly contacts: ContactRepository,
    private readonly hooks: MessageChangeHooks,
  ) {}

  async receive(params: Record<string, string>): Promise<InboundResult> {
    const sid = params.MessageSid ?? params.SmsMessageSid ?? params.SmsSid;
    if (!sid) throw new DomainException(ErrorCode.WebhookMalformed, 'An inbound webhook needs MessageSid', { field: 'MessageSid' });
    const numMedia = Math.min(Number.parseInt(params.NumMedia ?? '0', 10) || 0, 10);
    const mediaUrls: string[] = [];
    const mediaContentTypes: string[] = [];
    for (let i = 0; i < numMedia; i++) {
      if (params[`MediaUrl${i}`]) {
        mediaUrls.push(params[`MediaUrl${i}`]);
        mediaContentTypes.push(params[`MediaContentType${i}`] ?? 'application/octet-stream');
      }
    }
    // Buttons, location, referral and whatever Twilio adds later: kept, not dropped.
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(params)) {
      if (!COLUMN_FIELDS.has(k) && !/^Media(Url|ContentType)\d+$/.test(k)) metadata[k] = v;
    }
    const from = params.From ?? '';
    const phone = contactKey(phoneOf(from));
    const body = params.Body ?? '';
    const keyword = body.trim().toLowerCase();
    const now = new Date();

    return this.messages.transaction(async (tx) => {
      // A SID seen before (Twilio retried the webhook) inserts nothing.
      const [row] = await this.messages.insert(tx, [
        {
          direction: MessageDirection.Inbound,
          messageSid: sid,
          from,
          to: params.To ?? '',
          body,
          mediaUrls,
          mediaContentTypes,
          profileName: params.ProfileName ?? null,
          waId: params.WaId ?? null,
          metadata,
          status: MessageStatus.Received,
        },
      ]);
      if (!row) return { outcome: InboundOutcome.Duplicate };
      await this.hooks.inboundStored(tx, [
        { messageId: row.id, messageSid: sid, from, to: params.To ?? '', body, mediaUrls, mediaContentTypes, profileName: params.ProfileName ?? null, waId: params.WaId ?? null, metadata, status: MessageStatus.Received, receivedAt: now },
      ]);

      const optedOut = OPT_OUT_KEYWORDS.has(keyword);
      const optedIn = OPT_IN_KEYWORDS.has(keyword);
      // A reply opens (or renews) WhatsApp's 24-hour customer-service window.
      await this.contacts.recordInbound(tx, { phone, profileName: params.ProfileName ?? null, receivedAt: now, optedOut, optedIn });
      if (optedOut) this.logger.log(`${phone} opted out (${keyword.toUpperCase()})`);
      if (optedIn) this.logger.log(`${phone} opted back in (${keyword.toUpperCase()})`);
      return { outcome: InboundOutcome.Stored, messageId: row.id, optedOut, optedIn };
    });
  }
}
