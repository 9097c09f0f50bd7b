import { ApiProperty } from '@nestjs/swagger';

export class MetricsWindowDto {
  @ApiProperty({ description: 'Start of the window actually counted (inclusive), rounded down to the minute' })
  since: string;

  @ApiProperty({ description: 'End of the window actually counted (exclusive), rounded up to the minute' })
  until: string;

  @ApiProperty({ type: String, nullable: true, description: 'Sender filter, or null for every sender' })
  from: string | null;
}

export class DeliveryRatesDto {
  @ApiProperty({ type: Number, nullable: true, description: '(delivered + read + partially_delivered) / settled × 100' })
  deliveryRate: number | null;

  @ApiProperty({ type: Number, nullable: true, description: 'read / settled × 100' })
  readRate: number | null;

  @ApiProperty({ type: Number, nullable: true, description: '(failed + undelivered) / settled × 100' })
  failureRate: number | null;
}

export class DeliveryTimeDto {
  @ApiProperty({ description: 'Messages with a delivery time (delivered or read)' })
  count: number;

  @ApiProperty({ type: Number, nullable: true, description: 'Exact mean of delivered minus sent time, in ms (rounded)' })
  averageMs: number | null;

  @ApiProperty({ type: Number, nullable: true, description: 'Median: upper bound of the histogram bucket holding it (see docs/metrics.md)' })
  p50Ms: number | null;

  @ApiProperty({ type: Number, nullable: true, description: '95th percentile: upper bound of the histogram bucket holding it' })
  p95Ms: number | null;
}

export class ErrorCodeCountDto {
  @ApiProperty({ example: 63016 })
  code: number;

  @ApiProperty()
  count: number;

  @ApiProperty({ description: "What the operator should do (the runbook's Solution column)" })
  hint: string;
}

export class QueueBacklogDto {
  @ApiProperty({ type: Number, nullable: true, description: 'BullMQ jobs waiting (null when Redis is unreachable)' })
  waiting: number | null;

  @ApiProperty({ type: Number, nullable: true })
  active: number | null;

  @ApiProperty({ type: Number, nullable: true })
  delayed: number | null;

  @ApiProperty({ type: Number, nullable: true, description: 'Outbox rows not yet relayed to BullMQ (null when Postgres is unreachable)' })
  outbox: number | null;

  @ApiProperty({ description: 'Sum of the known parts' })
  total: number;
}

export class DeliveryMetricsReportDto {
  @ApiProperty({ type: MetricsWindowDto })
  window: MetricsWindowDto;

  @ApiProperty({ description: 'Outbound messages created in the window' })
  totalMessages: number;

  @ApiProperty({ description: 'Current status of those messages', example: { queued: 0, sent: 2, delivered: 10, read: 30, failed: 3, undelivered: 1 } })
  statusCounts: Record<string, number>;

  @ApiProperty({ description: 'Messages in a delivered or failed state: delivered, read, partially_delivered, failed, undelivered' })
  settled: number;

  @ApiProperty({ description: 'Messages not yet settled: queued, accepted, scheduled, sending, sent' })
  inFlight: number;

  @ApiProperty({ type: DeliveryRatesDto, description: 'Percentages of settled messages, 2 decimals; null when none settled' })
  rates: DeliveryRatesDto;

  @ApiProperty({ type: DeliveryTimeDto })
  deliveryTime: DeliveryTimeDto;

  @ApiProperty({ type: ErrorCodeCountDto, isArray: true, description: 'Most frequent error codes of failed and undelivered messages (top 10)' })
  topErrorCodes: ErrorCodeCountDto[];

  @ApiProperty({ type: QueueBacklogDto, description: 'Now, not for the window' })
  queueBacklog: QueueBacklogDto;
}
