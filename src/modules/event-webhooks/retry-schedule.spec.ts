import { DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS } from '../../config/configuration';
import { nextRetryDelayMs, scheduleSpanMs } from './retry-schedule';

describe('webhook retry schedule', () => {
  it('waits each step of the schedule in turn, then gives up', () => {
    const schedule = [0, 5, 50];
    expect(nextRetryDelayMs(schedule, 0)).toBe(0);
    expect(nextRetryDelayMs(schedule, 1)).toBe(5);
    expect(nextRetryDelayMs(schedule, 2)).toBe(50);
    expect(nextRetryDelayMs(schedule, 3)).toBeNull();
    expect(nextRetryDelayMs(schedule, 10)).toBeNull();
    expect(() => nextRetryDelayMs(schedule, -1)).toThrow(RangeError);
  });

  it('defaults to the Standard Webhooks schedule: eight attempts over about a day, each wait at least as long as the one before', () => {
    expect(DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS).toHaveLength(8);
    expect(DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS[0]).toBe(0);
    DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS.slice(1).forEach((ms, i) => expect(ms).toBeGreaterThanOrEqual(DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS[i]));
    const hours = scheduleSpanMs(DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS) / 3_600_000;
    expect(hours).toBeGreaterThan(24);
    expect(hours).toBeLessThan(30);
  });
});
