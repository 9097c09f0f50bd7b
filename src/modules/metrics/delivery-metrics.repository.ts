import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DELIVERY_BUCKET_COLUMNS } from './delivery-histogram';
import { RollupPlan } from './rollup-window';

/** Outbound statuses the rollups count in a column of their own (`count_<status>`). */
export const ROLLUP_STATUSES = [
  'queued', 'accepted', 'scheduled', 'canceled', 'sending', 'sent', 'delivered', 'read', 'failed', 'undelivered', 'partially_delivered',
] as const;
export type RollupStatus = (typeof ROLLUP_STATUSES)[number];

export interface RollupTotals {
  total: number;
  statusCounts: Record<RollupStatus | 'other', number>;
  deliveryCount: number;
  deliverySumMs: number;
  /** Delivery-time bucket counts in DELIVERY_BUCKET_COLUMNS order. */
  buckets: number[];
}

export interface ErrorCodeCount {
  code: number;
  count: number;
}

const MEASURES = [
  'total',
  ...ROLLUP_STATUSES.map((s) => `count_${s}`),
  'count_other',
  'delivery_count',
  'delivery_sum_ms',
  ...DELIVERY_BUCKET_COLUMNS,
];

/**
 * Reads the rollup tables the DeliveryRollups migration's triggers keep (see docs/metrics.md):
 * whole hours from the hour table, the ragged ends of the window from the minute table.
 */
@Injectable()
export class DeliveryMetricsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async totals(plan: RollupPlan, from: string | null): Promise<RollupTotals> {
    const params: unknown[] = [];
    const union = this.rollupRows(plan, from, params, 'delivery_rollup', MEASURES.map((m) => `"${m}"`).join(', '));
    const sums = MEASURES.map((m) => `coalesce(sum("${m}"), 0)::bigint AS "${m}"`).join(', ');
    const [row] = union
      ? await this.dataSource.query<Record<string, string>[]>(`SELECT ${sums} FROM (${union}) r`, params)
      : [Object.fromEntries(MEASURES.map((m) => [m, '0']))];
    const n = (name: string) => Number(row[name]);
    const statusCounts = Object.fromEntries([...ROLLUP_STATUSES, 'other'].map((s) => [s, n(`count_${s}`)])) as RollupTotals['statusCounts'];
    return {
      total: n('total'),
      statusCounts,
      deliveryCount: n('delivery_count'),
      deliverySumMs: n('delivery_sum_ms'),
      buckets: DELIVERY_BUCKET_COLUMNS.map(n),
    };
  }

  async topErrorCodes(plan: RollupPlan, from: string | null, limit: number): Promise<ErrorCodeCount[]> {
    const params: unknown[] = [];
    const union = this.rollupRows(plan, from, params, 'delivery_error_rollup', 'error_code, "count"');
    if (!union) return [];
    params.push(limit);
    const rows = await this.dataSource.query<{ code: number; count: string }[]>(
      `SELECT error_code AS code, sum("count")::bigint AS count FROM (${union}) r
        GROUP BY error_code HAVING sum("count") > 0 ORDER BY count DESC, code ASC LIMIT $${params.length}`,
      params,
    );
    return rows.map((r) => ({ code: r.code, count: Number(r.count) }));
  }

  /** UNION ALL of the hour and minute rows covering the plan; null when it covers nothing. */
  private rollupRows(plan: RollupPlan, from: string | null, params: unknown[], table: string, columns: string): string | null {
    const p = (value: unknown) => `$${params.push(value)}`;
    const bySender = from === null ? '' : ` AND "from" = ${p(from)}`;
    const parts: string[] = [];
    if (plan.hours) {
      parts.push(`SELECT ${columns} FROM ${table}_hour WHERE bucket >= ${p(plan.hours.from)} AND bucket < ${p(plan.hours.to)}${bySender}`);
    }
    if (plan.minutes.length > 0) {
      const ranges = plan.minutes.map((r) => `(bucket >= ${p(r.from)} AND bucket < ${p(r.to)})`).join(' OR ');
      parts.push(`SELECT ${columns} FROM ${table}_minute WHERE (${ranges})${bySender}`);
    }
    return parts.length > 0 ? parts.join(' UNION ALL ') : null;
  }
}
