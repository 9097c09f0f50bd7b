import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';
import { isInstantWithOffset, MAX_SCHEDULE_LEAD_MS, resolveSendAt, scheduleWindow } from './send-schedule';

describe('sendAt', () => {
  const now = new Date('2026-11-29T12:00:00.000Z');
  const at = (ms: number) => new Date(now.getTime() + ms).toISOString();

  it.each([
    ['2026-12-01T09:30:00Z'],
    ['2026-12-01T09:30Z'],
    ['2026-12-01T09:30:00.123Z'],
    ['2026-12-01T10:30:00+01:00'],
    ['2026-12-01T04:30:00-0500'],
  ])('reads %s (a date-time with an offset)', (value) => {
    expect(isInstantWithOffset(value)).toBe(true);
  });

  it.each([
    ['no offset', '2026-12-01T09:30:00'],
    ['an hour-only offset', '2026-12-01T09:30:00+02'],
    ['a date alone', '2026-12-01'],
    ['an impossible date', '2026-02-30T09:30:00Z'],
    ['a week date', '2026-W48-5T09:30:00Z'],
    ['words', 'tomorrow at 9'],
    ['a number', 1796117400000],
    ['an empty string', ''],
  ])('refuses %s', (_what, value) => {
    expect(isInstantWithOffset(value)).toBe(false);
  });

  it('accepts from the minimum lead (less 1 s for transfer) to 35 days ahead, in UTC whatever the offset', () => {
    expect(resolveSendAt(at(60_000), now, 60_000)).toEqual(new Date(at(60_000)));
    expect(resolveSendAt(at(59_000), now, 60_000)).toEqual(new Date(at(59_000)));
    expect(resolveSendAt(at(MAX_SCHEDULE_LEAD_MS), now, 60_000)).toEqual(new Date(at(MAX_SCHEDULE_LEAD_MS)));
    expect(resolveSendAt('2026-11-29T14:05:00+02:00', now, 60_000).toISOString()).toBe('2026-11-29T12:05:00.000Z');
  });

  it.each([
    ['just under the tolerated lead', 58_999],
    ['now', 0],
    ['in the past', -3_600_000],
    ['a millisecond past 35 days', MAX_SCHEDULE_LEAD_MS + 1],
  ])('refuses %s with SEND_AT_OUT_OF_RANGE and the window', (_what, lead) => {
    let error: unknown;
    try {
      resolveSendAt(at(lead), now, 60_000);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DomainException);
    expect(error).toMatchObject({
      code: ErrorCode.SendAtOutOfRange,
      details: { field: 'sendAt', earliest: at(59_000), latest: at(MAX_SCHEDULE_LEAD_MS) },
    });
  });

  it('forgives at most a twelfth of a short minimum lead', () => {
    expect(scheduleWindow(now, 2_400).earliest).toEqual(new Date(at(2_200)));
    expect(scheduleWindow(now, 600_000).earliest).toEqual(new Date(at(599_000)));
  });
});
