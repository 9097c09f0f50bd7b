import { randomBytes } from 'node:crypto';
import { MessageChannel } from './sandbox.types';

export const TWILIO_API_VERSION = '2010-04-01';
export const TWILIO_API_ORIGIN = 'https://api.twilio.com';
export const TWILIO_CONTENT_ORIGIN = 'https://content.twilio.com';

export enum SidPrefix {
  Message = 'SM',
  Content = 'HX',
  ChannelInstall = 'XE',
  PageAfter = 'PA',
  PageBefore = 'PB',
}

/** Twilio SIDs are a two-letter type prefix and 32 lowercase hex digits. */
export function newSid(prefix: SidPrefix): string {
  return prefix + randomBytes(16).toString('hex');
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

/** Twilio's resource dates: `Thu, 28 Nov 2026 15:04:42 +0000` (always GMT, `+0000` rather than Date#toUTCString's `GMT`). */
export function toRfc2822(date: Date): string {
  return (
    `${WEEKDAYS[date.getUTCDay()]}, ${pad(date.getUTCDate())} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

/** The carrier DLR time in status callbacks: `YYMMDDhhmm`, GMT. */
export function toRawDlrDoneDate(date: Date): string {
  return (
    pad(date.getUTCFullYear() % 100) +
    pad(date.getUTCMonth() + 1) +
    pad(date.getUTCDate()) +
    pad(date.getUTCHours()) +
    pad(date.getUTCMinutes())
  );
}

/** Whole-second precision, like Twilio's resource dates; keeps ISO output stable for per-second grouping. */
export function toIsoSecond(date: Date): string {
  return date.toISOString().slice(0, 19) + 'Z';
}

const WHATSAPP_PREFIX = 'whatsapp:';
const E164 = /^\+[1-9]\d{1,14}$/;

export interface ChannelAddress {
  channel: MessageChannel;
  /** The number without the channel prefix, e.g. `+15551234567`. */
  number: string;
}

export function parseAddress(address: string): ChannelAddress {
  const trimmed = address.trim();
  if (trimmed.toLowerCase().startsWith(WHATSAPP_PREFIX)) {
    return { channel: MessageChannel.WhatsApp, number: trimmed.slice(WHATSAPP_PREFIX.length) };
  }
  return { channel: MessageChannel.Sms, number: trimmed };
}

export function isE164(number: string): boolean {
  return E164.test(number);
}

/** Keys for per-number settings, so `whatsapp:+1555...` and `+1555...` name the same person. */
export function numberKey(address: string): string {
  return parseAddress(address).number;
}

export function toWhatsAppAddress(address: string): string {
  return parseAddress(address).channel === MessageChannel.WhatsApp ? address.trim() : WHATSAPP_PREFIX + address.trim();
}

const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM7_EXTENDED = '^{}\\[~]|€\f';

/** SMS segment count: 160/153 GSM-7 characters or 70/67 UCS-2 characters per segment. WhatsApp is always one. */
export function countSegments(body: string, channel: MessageChannel): number {
  if (channel === MessageChannel.WhatsApp || body.length === 0) {
    return 1;
  }
  let gsmLength = 0;
  let isGsm = true;
  for (const char of body) {
    if (GSM7_BASIC.includes(char)) {
      gsmLength += 1;
    } else if (GSM7_EXTENDED.includes(char)) {
      gsmLength += 2;
    } else {
      isGsm = false;
      break;
    }
  }
  if (isGsm) {
    return gsmLength <= 160 ? 1 : Math.ceil(gsmLength / 153);
  }
  const ucs2Length = body.length;
  return ucs2Length <= 70 ? 1 : Math.ceil(ucs2Length / 67);
}

export function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function allValues(value: string | string[] | undefined): string[] {
  if (value === undefined) {
    return [];
  }
  return Array.isArray(value) ? value : [value];
}

export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
