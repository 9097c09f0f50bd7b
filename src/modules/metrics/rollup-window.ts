const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/** A half-open time range [from, to). */
export interface TimeRange {
  from: Date;
  to: Date;
}

/** Which rollup rows cover a window: whole hours from the hour table, the ragged ends from the minute table. */
export interface RollupPlan {
  hours: TimeRange | null;
  minutes: TimeRange[];
}

export function floorToMinute(d: Date): Date {
  return new Date(Math.floor(d.getTime() / MINUTE_MS) * MINUTE_MS);
}

export function ceilToMinute(d: Date): Date {
  return new Date(Math.ceil(d.getTime() / MINUTE_MS) * MINUTE_MS);
}

/**
 * Splits a minute-aligned window [since, until) into whole UTC hours and at most two runs of
 * minutes, so a 90-day window reads ~2,160 hour rows and at most 118 minute rows per sender.
 */
export function planRollupWindow(since: Date, until: Date): RollupPlan {
  const s = since.getTime();
  const u = until.getTime();
  if (s % MINUTE_MS !== 0 || u % MINUTE_MS !== 0) throw new Error('rollup windows must be minute-aligned');
  if (u <= s) return { hours: null, minutes: [] };
  const firstWholeHour = Math.ceil(s / HOUR_MS) * HOUR_MS;
  const lastHourEnd = Math.floor(u / HOUR_MS) * HOUR_MS;
  if (firstWholeHour >= lastHourEnd) return { hours: null, minutes: [{ from: new Date(s), to: new Date(u) }] };
  const minutes: TimeRange[] = [];
  if (s < firstWholeHour) minutes.push({ from: new Date(s), to: new Date(firstWholeHour) });
  if (lastHourEnd < u) minutes.push({ from: new Date(lastHourEnd), to: new Date(u) });
  return { hours: { from: new Date(firstWholeHour), to: new Date(lastHourEnd) }, minutes };
}
