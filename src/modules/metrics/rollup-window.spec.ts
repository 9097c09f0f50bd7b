import { ceilToMinute, floorToMinute, planRollupWindow } from './rollup-window';

const at = (iso: string) => new Date(iso);
const plan = (since: string, until: string) => {
  const p = planRollupWindow(at(since), at(until));
  const iso = (r: { from: Date; to: Date }) => [r.from.toISOString(), r.to.toISOString()];
  return { hours: p.hours ? iso(p.hours) : null, minutes: p.minutes.map(iso) };
};

describe('planRollupWindow', () => {
  it('reads whole hours from the hour table and the ragged ends from the minute table', () => {
    expect(plan('2025-06-02T10:30:00Z', '2025-06-02T13:05:00Z')).toEqual({
      hours: ['2025-06-02T11:00:00.000Z', '2025-06-02T13:00:00.000Z'],
      minutes: [
        ['2025-06-02T10:30:00.000Z', '2025-06-02T11:00:00.000Z'],
        ['2025-06-02T13:00:00.000Z', '2025-06-02T13:05:00.000Z'],
      ],
    });
  });

  it('needs no minutes for a window on hour boundaries', () => {
    expect(plan('2025-06-01T00:00:00Z', '2025-06-02T00:00:00Z')).toEqual({ hours: ['2025-06-01T00:00:00.000Z', '2025-06-02T00:00:00.000Z'], minutes: [] });
  });

  it('reads minutes only when no whole hour fits', () => {
    expect(plan('2025-06-02T10:30:00Z', '2025-06-02T10:31:00Z')).toEqual({ hours: null, minutes: [['2025-06-02T10:30:00.000Z', '2025-06-02T10:31:00.000Z']] });
    expect(plan('2025-06-02T10:30:00Z', '2025-06-02T11:59:00Z')).toEqual({ hours: null, minutes: [['2025-06-02T10:30:00.000Z', '2025-06-02T11:59:00.000Z']] });
    expect(plan('2025-06-02T10:00:00Z', '2025-06-02T10:00:00Z')).toEqual({ hours: null, minutes: [] });
  });

  it('bounds the minute rows at 118 for any window', () => {
    const p = planRollupWindow(at('2025-03-03T00:01:00Z'), at('2025-06-01T23:59:00Z'));
    const minutes = p.minutes.reduce((n, r) => n + (r.to.getTime() - r.from.getTime()) / 60_000, 0);
    expect(minutes).toBe(118);
  });

  it('refuses windows that are not minute-aligned', () => {
    expect(() => planRollupWindow(at('2025-06-02T10:30:01Z'), at('2025-06-02T11:00:00Z'))).toThrow('minute-aligned');
  });

  it('rounds down and up to the minute', () => {
    expect(floorToMinute(at('2025-06-02T10:30:59.999Z')).toISOString()).toBe('2025-06-02T10:30:00.000Z');
    expect(ceilToMinute(at('2025-06-02T10:30:00.001Z')).toISOString()).toBe('2025-06-02T10:31:00.000Z');
    expect(ceilToMinute(at('2025-06-02T10:30:00.000Z')).toISOString()).toBe('2025-06-02T10:30:00.000Z');
  });
});
