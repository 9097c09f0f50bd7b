/**
 * Upper bounds (inclusive, ms) of the delivery-time histogram the rollups keep, one column each
 * (`le_<bound>`, plus `le_inf`). The list is frozen by the DeliveryRollups migration; changing it
 * needs a migration that rebuilds the rollup tables.
 *
 * Reported percentiles are the upper bound of the bucket holding the nearest-rank value, so they
 * never under-state: the true value lies in (previous bound, reported]. Steps are 100 ms up to
 * 1 s and at most 25 % of the bound from 1 s to 90 s, 33-50 % above that.
 */
export const DELIVERY_TIME_BOUNDS_MS: readonly number[] = [
  100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1250, 1500, 1750, 2000, 2500, 3000, 3500, 4000, 5000, 6000, 7000,
  8000, 10000, 12500, 15000, 17500, 20000, 25000, 30000, 35000, 40000, 50000, 60000, 75000, 90000, 120000, 150000,
  180000, 240000, 300000, 450000, 600000, 900000, 1200000, 1800000, 2700000, 3600000, 7200000, 14400000, 28800000,
  86400000,
];

/** Column names of the buckets, in order; the last one is the overflow bucket. */
export const DELIVERY_BUCKET_COLUMNS: readonly string[] = [...DELIVERY_TIME_BOUNDS_MS.map((b) => `le_${b}`), 'le_inf'];

/**
 * Nearest-rank percentile (rank = ceil(p/100 * n)) over bucket counts in DELIVERY_BUCKET_COLUMNS
 * order. Answers the bucket's upper bound; a value in the overflow bucket answers the last bound
 * (the true value is larger). Null without any sample.
 */
export function histogramPercentile(counts: readonly number[], percentile: number): number | null {
  const n = counts.reduce((a, b) => a + b, 0);
  if (n <= 0) return null;
  const rank = Math.max(1, Math.ceil((percentile / 100) * n));
  let cumulative = 0;
  for (let i = 0; i < counts.length; i++) {
    cumulative += counts[i];
    if (cumulative >= rank) return DELIVERY_TIME_BOUNDS_MS[Math.min(i, DELIVERY_TIME_BOUNDS_MS.length - 1)];
  }
  return DELIVERY_TIME_BOUNDS_MS[DELIVERY_TIME_BOUNDS_MS.length - 1];
}
