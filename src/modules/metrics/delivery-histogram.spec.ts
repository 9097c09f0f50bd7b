import { ROLLUP_DELIVERY_BOUNDS_MS, ROLLUP_STATUSES } from '../../../migrations/1764380000000-DeliveryRollups';
import { DELIVERY_BUCKET_COLUMNS, DELIVERY_TIME_BOUNDS_MS, histogramPercentile } from './delivery-histogram';
import { ROLLUP_STATUSES as REPOSITORY_STATUSES } from './delivery-metrics.repository';

/** Counts per bucket for a list of delivery times, as the rollup trigger files them: (previous bound, bound]. */
function bucketsOf(times: number[]): number[] {
  const counts = DELIVERY_BUCKET_COLUMNS.map(() => 0);
  for (const ms of times) {
    const i = DELIVERY_TIME_BOUNDS_MS.findIndex((bound) => ms <= bound);
    counts[i === -1 ? counts.length - 1 : i]++;
  }
  return counts;
}

describe('delivery-time histogram', () => {
  it('has the bounds and statuses the migration froze into the rollup tables', () => {
    expect(DELIVERY_TIME_BOUNDS_MS).toEqual(ROLLUP_DELIVERY_BOUNDS_MS);
    expect([...REPOSITORY_STATUSES]).toEqual(ROLLUP_STATUSES);
    expect(DELIVERY_BUCKET_COLUMNS).toHaveLength(DELIVERY_TIME_BOUNDS_MS.length + 1);
    expect(DELIVERY_BUCKET_COLUMNS.at(-1)).toBe('le_inf');
  });

  it('has increasing bounds, at most 100 ms apart below 1 s and 25 % apart up to 90 s', () => {
    for (let i = 1; i < DELIVERY_TIME_BOUNDS_MS.length; i++) {
      const [prev, bound] = [DELIVERY_TIME_BOUNDS_MS[i - 1], DELIVERY_TIME_BOUNDS_MS[i]];
      expect(bound).toBeGreaterThan(prev);
      if (bound <= 1000) expect(bound - prev).toBeLessThanOrEqual(100);
      else if (bound <= 90_000) expect((bound - prev) / bound).toBeLessThanOrEqual(0.25);
    }
  });

  it('answers the exact value when every sample sits on a bucket bound (nearest rank)', () => {
    const times = [100, 200, 300, 500, 1000, 1000, 1000, 2000, 5000, 10000];
    expect(histogramPercentile(bucketsOf(times), 50)).toBe(1000); // rank 5
    expect(histogramPercentile(bucketsOf(times), 95)).toBe(10000); // rank 10
    expect(histogramPercentile(bucketsOf(times), 10)).toBe(100); // rank 1
    expect(histogramPercentile(bucketsOf([700]), 50)).toBe(700);
  });

  it('otherwise answers the upper bound of the bucket holding the value: never below it', () => {
    for (const ms of [1, 99, 101, 1001, 1249, 12_345, 89_999]) {
      const reported = histogramPercentile(bucketsOf([ms]), 50)!;
      expect(reported).toBeGreaterThanOrEqual(ms);
      const previous = DELIVERY_TIME_BOUNDS_MS[DELIVERY_TIME_BOUNDS_MS.indexOf(reported) - 1] ?? 0;
      expect(ms).toBeGreaterThan(previous);
    }
  });

  it('reports the last bound for the overflow bucket and null without samples', () => {
    expect(histogramPercentile(bucketsOf([90_000_000]), 95)).toBe(86_400_000);
    expect(histogramPercentile(bucketsOf([]), 50)).toBeNull();
  });
});
