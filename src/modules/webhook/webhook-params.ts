import { ErrorCode } from '../../common/errors/error-code';
import { WebhookKind } from './guards/twilio-signature.guard';

/**
 * Twilio's longest field is an inbound Body (WhatsApp allows 4,096 characters; a media URL or a
 * location label is far shorter). Anything longer is not Twilio's.
 */
export const MAX_WEBHOOK_VALUE_LENGTH = 8192;

export enum WebhookRefusalReason {
  MissingParameter = 'missing_parameter',
  DuplicateParameter = 'duplicate_parameter',
  ValueTooLong = 'value_too_long',
  ForeignAccount = 'foreign_account',
  UnknownRecipient = 'unknown_recipient',
}

export interface WebhookRefusal {
  reason: WebhookRefusalReason;
  code: ErrorCode;
  field: string;
  message: string;
}

export interface WebhookExpectations {
  /** The account whose callbacks these are. */
  accountSid: string;
  /** The senders an inbound message may be addressed to (`whatsapp:+E164`); empty: any (a Messaging Service's numbers). */
  senders: readonly string[];
}

const malformed = (reason: WebhookRefusalReason, field: string, message: string): WebhookRefusal => ({ reason, code: ErrorCode.WebhookMalformed, field, message });

/**
 * What a validly signed webhook must also be before anything is stored: well formed (each
 * parameter once, of sane length, with the ones the handler needs), for our account, and (inbound)
 * addressed to one of our senders. Twilio does not retry a 4xx, so a refusal is final.
 */
export function checkWebhookParams(kind: WebhookKind, params: Record<string, unknown>, expect: WebhookExpectations): WebhookRefusal | undefined {
  for (const [field, value] of Object.entries(params)) {
    if (Array.isArray(value)) {
      return malformed(WebhookRefusalReason.DuplicateParameter, field, `${field} must be sent once (Twilio never repeats a parameter)`);
    }
    if (typeof value === 'string' && value.length > MAX_WEBHOOK_VALUE_LENGTH) {
      return malformed(WebhookRefusalReason.ValueTooLong, field, `${field} is longer than ${MAX_WEBHOOK_VALUE_LENGTH} characters`);
    }
  }
  // A JSON body can hold numbers and objects where the handlers read text.
  for (const field of ['MessageSid', 'SmsMessageSid', 'SmsSid', 'MessageStatus', 'SmsStatus', 'AccountSid', 'To', 'From', 'Body']) {
    if (params[field] !== undefined && typeof params[field] !== 'string') {
      return malformed(WebhookRefusalReason.MissingParameter, field, `${field} must be text`);
    }
  }
  const p = params as Record<string, string | undefined>;
  if (!(p.MessageSid || p.SmsMessageSid || p.SmsSid)) {
    return malformed(WebhookRefusalReason.MissingParameter, 'MessageSid', `A ${kind} webhook needs MessageSid`);
  }
  if (kind === WebhookKind.Status && !(p.MessageStatus || p.SmsStatus)) {
    return malformed(WebhookRefusalReason.MissingParameter, 'MessageStatus', 'A status callback needs MessageStatus');
  }
  if (p.AccountSid !== undefined && p.AccountSid !== expect.accountSid) {
    return {
      reason: WebhookRefusalReason.ForeignAccount,
      code: ErrorCode.WebhookForeignAccount,
      field: 'AccountSid',
      message: 'AccountSid is not the account this service uses',
    };
  }
  if (kind === WebhookKind.Inbound && expect.senders.length > 0 && !expect.senders.includes(p.To ?? '')) {
    return {
      reason: WebhookRefusalReason.UnknownRecipient,
      code: ErrorCode.WebhookUnknownRecipient,
      field: 'To',
      message: 'To is not one of the configured senders (TWILIO_WHATSAPP_FROM)',
    };
  }
  return undefined;
}
