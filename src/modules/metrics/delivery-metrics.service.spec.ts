import { BadRequestException } from '@nestjs/common';
import { DELIVERY_BUCKET_COLUMNS } from './delivery-histogram';
import { DeliveryMetricsService, resolveWindow } from './delivery-metrics.service';
import { RollupTotals, ROLLUP_STATUSES } from './delivery-metrics.repository';

const NOW = new Date('2026-11-28T15:37:29.500Z');

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BadRequestException);
    const body = (err as BadRequestException).getResponse() as { code: string; details: { field: string }[] };
    expect(body.code).toBe('VALIDATION_FAILED');
    return body.details[0].field;
  }
  return undefined;
}

describe('resolveWindow', () => {
  it('defaults to the 24 hours up to now, widened to whole minutes', () => {
    expect(resolveWindow({}, NOW)).toEqual({ since: new Date('2026-11-27T15:37:00Z'), until: new Date('2026-11-28T15:38:00Z') });
  });

  it('takes since alone (until = now) and until alone (since = 24 h before)', () => {
    expect(resolveWindow({ since: '2026-11-28T00:00:30Z' }, NOW)).toEqual({ since: new Date('2026-11-28T00:00:00Z'), until: new Date('2026-11-28T15:38:00Z') });
    expect(resolveWindow({ until: '2026-11-20T00:00:00Z' }, NOW)).toEqual({ since: new Date('2026-11-19T00:00:00Z'), until: new Date('2026-11-20T00:00:00Z') });
  });

  it('names the field: until not after since, a window over 90 days', () => {
    expect(fieldOf(() => resolveWindow({ since: '2026-11-02T00:00:00Z', until: '2026-11-01T00:00:00Z' }, NOW))).toBe('until');
    expect(fieldOf(() => resolveWindow({ since: '2026-11-01T00:00:00Z', until: '2026-11-01T00:00:00Z' }, NOW))).toBe('until');
    expect(fieldOf(() => resolveWindow({ since: '2026-08-01T00:00:00Z', until: '2026-11-01T00:00:00Z' }, NOW))).toBe('since');
    expect(fieldOf(() => resolveWindow({ since: '2026-08-03T00:00:00Z', until: '2026-11-01T00:00:00Z' }, NOW))).toBeUndefined();
  });
});

describe('DeliveryMetricsService.outcomes', () => {
  const totals = (counts: Partial<RollupTotals['statusCounts']>, buckets: number[] = []): RollupTotals => ({
    total: Object.values(counts).reduce((a, b) => a + (b ?? 0), 0),
    statusCounts: { ...Object.fromEntries([...ROLLUP_STATUSES, 'other'].map((s) => [s, 0])), ...counts } as RollupTotals['statusCounts'],
    deliveryCount: buckets.reduce((a, b) => a + b, 0),
    deliverySumMs: 0,
    buckets: DELIVERY_BUCKET_COLUMNS.map((_, i) => buckets[i] ?? 0),
  });

  it('takes rates over settled messages only, so delivery + failure = 100 %', () => {
    const o = DeliveryMetricsService.outcomes(totals({ delivered: 5, read: 3, partially_delivered: 1, failed: 2, undelivered: 1, queued: 7, sent: 4, canceled: 9 }));
    expect(o.settled).toBe(12);
    expect(o.inFlight).toBe(11);
    expect(o.rates).toEqual({ deliveryRate: 75, readRate: 25, failureRate: 25 });
  });

  it('rounds to 2 decimals and answers null rates and times when nothing settled', () => {
    expect(DeliveryMetricsService.outcomes(totals({ delivered: 2, failed: 1 })).rates).toEqual({ deliveryRate: 66.67, readRate: 0, failureRate: 33.33 });
    expect(DeliveryMetricsService.outcomes(totals({ queued: 3 }))).toMatchObject({
      settled: 0,
      rates: { deliveryRate: null, readRate: null, failureRate: null },
      deliveryTime: { count: 0, averageMs: null, p50Ms: null, p95Ms: null },
    });
  });
});
