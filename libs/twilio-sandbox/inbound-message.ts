import { InboundMessageInput } from './sandbox.types';
import { TWILIO_API_VERSION, parseAddress } from './twilio-format';

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
