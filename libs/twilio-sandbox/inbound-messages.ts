import { MessageStore } from './message-store';
import { SandboxAccount } from './sandbox-account';
import { SandboxControlError } from './sandbox-control.error';
import { SandboxTimers } from './sandbox-timers';
import {
  InboundMessageInput,
  InboundMessageResult,
  MessageChannel,
  SandboxLogger,
  SimulatedWebhookKind,
  TwilioMessageDirection,
  TwilioMessageStatus,
} from './sandbox.types';
import {
  SidPrefix,
  TWILIO_API_VERSION,
  isE164,
  newSid,
  numberKey,
  parseAddress,
  toRfc2822,
  toWhatsAppAddress,
} from './twilio-format';
import { WebhookSender } from './webhook-sender';

export enum WhatsAppMessageType {
  Text = 'text',
  Image = 'image',
  Video = 'video',
  Audio = 'audio',
  Document = 'document',
}

export const DEFAULT_PROFILE_NAME = 'Sandbox User';

/** WhatsApp reports the kind of the first attachment; a message with no media is text. */
export function messageTypeFor(mediaContentTypes: string[]): WhatsAppMessageType {
  const first = mediaContentTypes[0];
  if (first === undefined) {
    return WhatsAppMessageType.Text;
  }
  if (first.startsWith('image/')) {
    return WhatsAppMessageType.Image;
  }
  if (first.startsWith('video/')) {
    return WhatsAppMessageType.Video;
  }
  if (first.startsWith('audio/')) {
    return WhatsAppMessageType.Audio;
  }
  return WhatsAppMessageType.Document;
}

/** The form fields Twilio posts to the incoming-message webhook of a WhatsApp sender. */
export function buildInboundParams(
  sid: string,
  accountSid: string,
  from: string,
  to: string,
  input: InboundMessageInput,
): Record<string, string> {
  const media = input.mediaUrls ?? [];
  const profileName = input.profileName ?? DEFAULT_PROFILE_NAME;
  const waId = parseAddress(from).number.replace(/^\+/, '');
  const params: Record<string, string> = {
    MessageSid: sid,
    SmsMessageSid: sid,
    SmsSid: sid,
    AccountSid: accountSid,
    From: from,
    To: to,
    Body: input.body ?? '',
    NumMedia: String(media.length),
    NumSegments: '1',
    ReferralNumMedia: '0',
    ProfileName: profileName,
    WaId: waId,
    SmsStatus: 'received',
    MessageType: messageTypeFor(media.map((item) => item.contentType)),
    ApiVersion: TWILIO_API_VERSION,
    ChannelMetadata: JSON.stringify({ type: 'whatsapp', data: { context: { ProfileName: profileName, WaId: waId } } }),
  };
  media.forEach((item, index) => {
    params[`MediaUrl${index}`] = item.url;
    params[`MediaContentType${index}`] = item.contentType;
  });
  return params;
}

export interface InboundMessagesDeps {
  account: SandboxAccount;
  store: MessageStore;
  timers: SandboxTimers;
  webhooks: WebhookSender;
  logger: SandboxLogger;
  /** Where inbound messages are posted, signed; without one they are only stored. */
  inboundWebhookUrl?: string;
}

// WhatsApp's customer service window: free-form messages are allowed for 24h after the user last wrote.
const SESSION_WINDOW_MS = 24 * 60 * 60 * 1000;

/** Users writing in: the messages they send to the service, and the 24h session window each one opens. */
export class InboundMessages {
  private readonly lastInboundAtMs = new Map<string, number>();

  constructor(private readonly deps: InboundMessagesDeps) {}

  /** Stores the message as received, opens the sender's window, and posts it to the inbound webhook. */
  async send(input: InboundMessageInput): Promise<InboundMessageResult> {
    const { account, store, timers, webhooks, logger, inboundWebhookUrl } = this.deps;
    if (timers.isStopped) {
      throw new SandboxControlError('the sandbox is stopped');
    }
    if (typeof input?.from !== 'string' || typeof input?.to !== 'string') {
      throw new SandboxControlError('inbound needs "from" and "to" phone numbers');
    }
    const from = toWhatsAppAddress(input.from);
    const to = toWhatsAppAddress(input.to);
    for (const address of [from, to]) {
      if (!isE164(parseAddress(address).number)) {
        throw new SandboxControlError(`${address} is not an E.164 number (whatsapp:+<country><number>)`);
      }
    }
    const media = input.mediaUrls ?? [];
    if (!Array.isArray(media) || media.some((item) => typeof item?.url !== 'string' || typeof item?.contentType !== 'string')) {
      throw new SandboxControlError('mediaUrls must be [{ url, contentType }]');
    }

    const now = new Date();
    const sid = newSid(SidPrefix.Message);
    this.lastInboundAtMs.set(numberKey(from), now.getTime());
    store.add({
      sid,
      resource: {
        ...account.newMessageResource(sid, now),
        body: input.body ?? '',
        date_sent: toRfc2822(now),
        direction: TwilioMessageDirection.Inbound,
        from,
        num_media: String(media.length),
        status: TwilioMessageStatus.Received,
        to,
      },
      channel: MessageChannel.WhatsApp,
      statusCallback: null,
      contentSid: null,
      contentVariables: null,
      mediaUrls: media.map((item) => item.url),
      statusHistory: [{ status: TwilioMessageStatus.Received, at: now.toISOString(), errorCode: null }],
    });

    if (!inboundWebhookUrl) {
      logger.warn(`[twilio-sandbox] inbound ${sid} from ${from} recorded, but no inboundWebhookUrl is configured`);
      return { status: 0, body: '', messageSid: sid };
    }
    const outcome = await webhooks.send({
      kind: SimulatedWebhookKind.Inbound,
      configuredUrl: inboundWebhookUrl,
      messageSid: sid,
      status: TwilioMessageStatus.Received,
      params: buildInboundParams(sid, account.accountSid, from, to, input),
    });
    return { status: outcome.httpStatus ?? 0, body: outcome.body, messageSid: sid };
  }

  /** Backdates or clears a number's last inbound message, e.g. to test the 24h window's end. */
  setLastInbound(number: string, at: Date | null): void {
    if (at === null) {
      this.lastInboundAtMs.delete(numberKey(number));
    } else {
      this.lastInboundAtMs.set(numberKey(number), at.getTime());
    }
  }

  lastInbound(): Record<string, string> {
    return Object.fromEntries(
      [...this.lastInboundAtMs.entries()].map(([number, ms]) => [number, new Date(ms).toISOString()]),
    );
  }

  isSessionOpen(number: string): boolean {
    const lastInboundMs = this.lastInboundAtMs.get(number);
    return lastInboundMs !== undefined && Date.now() - lastInboundMs < SESSION_WINDOW_MS;
  }

  /** Forgets every session window. */
  reset(): void {
    this.lastInboundAtMs.clear();
  }
}
