import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';

export const WHATSAPP_PREFIX = 'whatsapp:';

export interface WhatsAppAddress {
  /** E.164, e.g. +14155550123 */
  e164: string;
  /** Twilio's WhatsApp address, e.g. whatsapp:+14155550123 */
  address: string;
}

/** The number behind a `whatsapp:` address (the address itself when it has no prefix). */
export function phoneOf(address: string): string {
  return address.toLowerCase().startsWith(WHATSAPP_PREFIX) ? address.slice(WHATSAPP_PREFIX.length) : address;
}

/**
 * Parses a recipient as E.164, with or without the `whatsapp:` prefix. A number without a
 * country code is the mistake behind Twilio's 21614/30003 failures, so it gets its own code.
 */
export function parseWhatsAppAddress(input: string, field = 'to'): WhatsAppAddress {
  const raw = input.trim();
  const withoutPrefix = phoneOf(raw).trim();
  const compact = withoutPrefix.replace(/[\s().-]/g, '');
  if (!/^\+?\d+$/.test(compact)) {
    throw new DomainException(ErrorCode.InvalidPhoneNumber, `${field} must be a phone number in E.164 format, e.g. +14155550123`, { field });
  }
  if (!compact.startsWith('+')) {
    const hint = compact.startsWith('00') ? `+${compact.slice(2)}` : `+<country code>${compact.replace(/^0+/, '')}`;
    throw new DomainException(
      ErrorCode.MissingCountryCode,
      `${field} must include the country code in E.164 format, e.g. ${hint} (a number without a country code is what Twilio rejects with 21614/30003)`,
      { field },
    );
  }
  const parsed = parsePhoneNumberFromString(compact);
  if (!parsed || !parsed.isValid()) {
    throw new DomainException(ErrorCode.InvalidPhoneNumber, `${field} is not a valid phone number: ${withoutPrefix}`, { field });
  }
  return { e164: parsed.number, address: `${WHATSAPP_PREFIX}${parsed.number}` };
}

/**
 * The key a WhatsApp user's contact state (opt-out, 24-hour window) is kept under. WhatsApp IDs
 * differ from the dialable E.164 number in two countries: Mexican mobiles write from +521 and
 * are dialled as +52; Brazilian mobiles registered before the ninth digit write without it. Both
 * spellings must reach the same contact, or a STOP would not stop anything.
 */
export function contactKey(e164: string): string {
  const mexico = /^\+521(\d{10})$/.exec(e164);
  if (mexico) return `+52${mexico[1]}`;
  const brazil = /^\+55(\d{2})([6-9]\d{7})$/.exec(e164);
  if (brazil) return `+55${brazil[1]}9${brazil[2]}`;
  return e164;
}
