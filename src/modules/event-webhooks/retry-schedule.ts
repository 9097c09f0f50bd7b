/**
 * When a delivery's next attempt is due after `attemptsMade` attempts failed, or null when the
 * schedule is exhausted. schedule[i] is the wait before attempt i + 1 (schedule[0], usually 0,
 * is the first attempt's).
 */
export function nextRetryDelayMs(schedule: readonly number[], attemptsMade: number): number | null {
  if (attemptsMade < 0) throw new RangeError('attemptsMade must not be negative');
  return attemptsMade < schedule.length ? schedule[attemptsMade] : null;
}

/** The whole span of the schedule: how long a receiver may be down before a delivery is given up. */
export function scheduleSpanMs(schedule: readonly number[]): number {
  return schedule.reduce((sum, ms) => sum + ms, 0);
}
