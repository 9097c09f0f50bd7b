import { InjectQueue } from '@nestjs/bullmq';
import { BadRequestException, Injectable } from '@nestjs/common';
import { Queue } from 'bullmq';
import { ErrorCode } from '../../common/errors/error-code';
import { withTimeout } from '../../common/with-timeout';
import { OutboxBacklog } from '../../database/outbox/outbox-backlog';
import { QueueName } from '../queue/queue.types';
import { operatorHint } from '../twilio/twilio-error-codes';
import { histogramPercentile } from './delivery-histogram';
import { DeliveryRollupAggregator } from './delivery-rollup-aggregator';
import { DeliveryMetricsRepository, RollupTotals } from './delivery-metrics.repository';
import { DeliveryMetricsReportDto, QueueBacklogDto } from './dto/delivery-metrics.dto';
import { DeliveryMetricsQueryDto } from './dto/delivery-metrics-query.dto';
import { ceilToMinute, floorToMinute, planRollupWindow } from './rollup-window';

export const DEFAULT_WINDOW_MS = 24 * 3600_000;
export const MAX_WINDOW_DAYS = 90;
const MAX_WINDOW_MS = MAX_WINDOW_DAYS * 24 * 3600_000;
const TOP_ERROR_CODES = 10;
const BACKLOG_TIMEOUT_MS = 1000;

export interface ResolvedWindow {
  since: Date;
  until: Date;
}

function invalid(field: string, message: string): BadRequestException {
  return new BadRequestException({ message, code: ErrorCode.ValidationFailed, details: [{ field, errors: [message] }] });
}

/**
 * The window a query asks for, widened to whole minutes (the rollups' finest grain): `since`
 * rounded down, `until` rounded up. Defaults: until = now, since = until - 24 h.
 */
export function resolveWindow(query: Pick<DeliveryMetricsQueryDto, 'since' | 'until'>, now = new Date()): ResolvedWindow {
  const until = query.until ? new Date(query.until) : now;
  const since = query.since ? new Date(query.since) : new Date(until.getTime() - DEFAULT_WINDOW_MS);
  if (until.getTime() <= since.getTime()) throw invalid('until', 'until must be later than since');
  if (until.getTime() - since.getTime() > MAX_WINDOW_MS) {
    throw invalid('since', `the window from since to until must not exceed ${MAX_WINDOW_DAYS} days`);
  }
  return { since: floorToMinute(since), until: ceilToMinute(until) };
}

/** Percent with 2 decimals; null when there is nothing to divide by. */
function percent(part: number, whole: number): number | null {
  return whole > 0 ? Math.round((part * 10_000) / whole) / 100 : null;
}

/**
 * Delivery metrics of outbound messages created in a window (see docs/metrics.md for every
 * definition). Rates are percentages of *settled* messages, those that reached a delivered or a
 * failed state: delivered, read and partially_delivered count as delivered; failed and
 * undelivered as failed. Messages still in flight (queued, accepted, scheduled, sending, sent)
 * and canceled ones are left out, so deliveryRate + failureRate = 100 and readRate <= deliveryRate.
 */
@Injectable()
export class DeliveryMetricsService {
  constructor(
    private readonly rollups: DeliveryMetricsRepository,
    private readonly aggregator: DeliveryRollupAggregator,
    private readonly outbox: OutboxBacklog,
    @InjectQueue(QueueName.WhatsApp) private readonly queue: Queue,
  ) {}

  async metrics(query: DeliveryMetricsQueryDto, now = new Date()): Promise<DeliveryMetricsReportDto> {
    const window = resolveWindow(query, now);
    const from = query.from ?? null;
    const plan = planRollupWindow(window.since, window.until);
    // Writes reach the rollups through a journal folded every second; fold what is pending now.
    await this.aggregator.foldForRead();
    const [totals, errors, backlog] = await Promise.all([
      this.rollups.totals(plan, from),
      this.rollups.topErrorCodes(plan, from, TOP_ERROR_CODES),
      this.backlog(),
    ]);
    return {
      window: { since: window.since.toISOString(), until: window.until.toISOString(), from },
      totalMessages: totals.total,
      statusCounts: totals.statusCounts,
      ...DeliveryMetricsService.outcomes(totals),
      topErrorCodes: errors.map((e) => ({ ...e, hint: operatorHint(e.code) ?? `Not in the runbook: see https://www.twilio.com/docs/api/errors/${e.code}` })),
      queueBacklog: backlog,
    };
  }

  static outcomes(totals: RollupTotals): Pick<DeliveryMetricsReportDto, 'settled' | 'inFlight' | 'rates' | 'deliveryTime'> {
    const c = totals.statusCounts;
    const delivered = c.delivered + c.read + c.partially_delivered;
    const failed = c.failed + c.undelivered;
    const settled = delivered + failed;
    return {
      settled,
      inFlight: c.queued + c.accepted + c.scheduled + c.sending + c.sent,
      rates: { deliveryRate: percent(delivered, settled), readRate: percent(c.read, settled), failureRate: percent(failed, settled) },
      deliveryTime: {
        count: totals.deliveryCount,
        averageMs: totals.deliveryCount > 0 ? Math.round(totals.deliverySumMs / totals.deliveryCount) : null,
        p50Ms: histogramPercentile(totals.buckets, 50),
        p95Ms: histogramPercentile(totals.buckets, 95),
      },
    };
  }

  /** Jobs not yet done right now; a part that cannot be read (Redis or Postgres down) is null. */
  async backlog(): Promise<QueueBacklogDto> {
    const [counts, outbox] = await Promise.all([
      withTimeout(this.queue.getJobCounts('waiting', 'active', 'delayed'), BACKLOG_TIMEOUT_MS, 'queue counts').catch(() => null),
      withTimeout(this.outbox.count(), BACKLOG_TIMEOUT_MS, 'outbox backlog').catch(() => null),
    ]);
    const waiting = counts?.waiting ?? null;
    const active = counts?.active ?? null;
    const delayed = counts?.delayed ?? null;
    return { waiting, active, delayed, outbox, total: (waiting ?? 0) + (active ?? 0) + (delayed ?? 0) + (outbox ?? 0) };
  }
}
