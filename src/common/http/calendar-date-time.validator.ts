import { isISO8601, ValidateBy, ValidationOptions } from 'class-validator';

/**
 * A calendar date or date-time (2026-11-27, 2026-11-27T10:00:00Z) that JavaScript and Postgres
 * both read the same way. ISO 8601 also allows week dates (2026-W48-5) and ordinal dates
 * (2026-331), which Date.parse cannot read, and six-digit years, which Postgres cannot.
 */
const CALENDAR_DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$/;

export function isCalendarDateTime(value: unknown): value is string {
  return typeof value === 'string' && CALENDAR_DATE_TIME.test(value) && isISO8601(value, { strict: true }) && Number.isFinite(Date.parse(value));
}

export function IsCalendarDateTime(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy({ name: 'isCalendarDateTime', validator: { validate: isCalendarDateTime } }, options);
}
