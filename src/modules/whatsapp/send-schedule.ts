import { ValidateBy, ValidationOptions } from 'class-validator';
import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';
import { isCalendarDateTime } from '../../common/http/calendar-date-time.validator';

/** The furthest ahead a send may be scheduled. */
export const MAX_SCHEDULE_LEAD_MS = 35 * 24 * 60 * 60 * 1000;
/**
 * What the minimum lead time forgives for the request's transfer and the client's clock: a
 * sendAt of exactly "now + 60 s" computed by the client arrives a little less than 60 s ahead
 * and is accepted; one of "now + 59 s" is not. At most 1 s, and never more than a twelfth of the
 * lead (a test's short lead stays a lead).
 */
export const SEND_AT_TOLERANCE_MS = 1_000;

/**
 * A date-time with an explicit offset (Z or ±hh:mm / ±hhmm). Without one, the instant would
 * depend on the server's time zone: refused rather than guessed.
 */
const WITH_OFFSET = /T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

export function isInstantWithOffset(value: unknown): value is string {
  return isCalendarDateTime(value) && WITH_OFFSET.test(value);
}

export function IsInstantWithOffset(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy({ name: 'isInstantWithOffset', validator: { validate: isInstantWithOffset } }, options);
}

/** The earliest and latest sendAt accepted at `now`. */
export function scheduleWindow(now: Date, minLeadMs: number): { earliest: Date; latest: Date } {
  const tolerance = Math.min(SEND_AT_TOLERANCE_MS, Math.floor(minLeadMs / 12));
  return { earliest: new Date(now.getTime() + minLeadMs - tolerance), latest: new Date(now.getTime() + MAX_SCHEDULE_LEAD_MS) };
}

/**
 * The time a send is scheduled for, measured against `now` (accept time). Throws
 * SEND_AT_OUT_OF_RANGE (with the window) when it is too soon or too far ahead; `sendAt` has
 * already passed IsInstantWithOffset.
 */
export function resolveSendAt(sendAt: string, now: Date, minLeadMs: number): Date {
  const at = new Date(sendAt);
  const { earliest, latest } = scheduleWindow(now, minLeadMs);
  if (at.getTime() < earliest.getTime() || at.getTime() > latest.getTime()) {
    throw new DomainException(
      ErrorCode.SendAtOutOfRange,
      `sendAt must be from ${Math.round(minLeadMs / 1000)} seconds to 35 days ahead (got ${at.toISOString()}, now ${now.toISOString()})`,
      { field: 'sendAt', sendAt: at.toISOString(), earliest: earliest.toISOString(), latest: latest.toISOString() },
    );
  }
  return at;
}
