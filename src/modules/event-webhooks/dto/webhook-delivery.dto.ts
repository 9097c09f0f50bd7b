import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEnum, IsOptional } from 'class-validator';
import { PageQueryDto } from '../../../common/http/page-query.dto';
import { DeliveryStatus, WebhookDelivery } from '../entities/webhook-delivery.entity';
import { WebhookDeliveryAttempt } from '../entities/webhook-delivery-attempt.entity';
import { WebhookEventType } from '../webhook-event-type';

const iso = (d: Date | string | null): string | null => (d ? new Date(d).toISOString() : null);

export class ListDeliveriesQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: DeliveryStatus })
  @IsOptional()
  @IsEnum(DeliveryStatus, { message: `status must be one of ${Object.values(DeliveryStatus).join(', ')}` })
  status?: DeliveryStatus;
}

export class DeliveryAttemptDto {
  @ApiProperty({ description: 'The webhook-id header sent (the same on every attempt of the event)' })
  eventId: string;

  @ApiProperty()
  startedAt: string;

  @ApiProperty({ nullable: true, type: Number, description: 'The receiver\'s HTTP status; null when none came (timeout, connection error, forbidden address)' })
  statusCode: number | null;

  @ApiProperty()
  durationMs: number;

  @ApiProperty({ nullable: true, type: String })
  error: string | null;

  @ApiProperty({ nullable: true, type: String, description: 'When the next attempt was scheduled after this one failed' })
  nextRetryAt: string | null;

  static from(a: WebhookDeliveryAttempt, eventId: string): DeliveryAttemptDto {
    return { eventId, startedAt: iso(a.startedAt)!, statusCode: a.statusCode, durationMs: a.durationMs, error: a.error, nextRetryAt: iso(a.nextRetryAt) };
  }
}

export class WebhookDeliveryDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ description: 'The webhook-id header: receivers de-duplicate on it' })
  eventId: string;

  @ApiProperty({ enum: WebhookEventType })
  eventType: string;

  @ApiProperty({ nullable: true, type: String, format: 'uuid' })
  messageId: string | null;

  @ApiProperty({ enum: DeliveryStatus })
  status: DeliveryStatus;

  @ApiProperty({ description: 'Attempts since the delivery was created or last replayed' })
  attemptCount: number;

  @ApiProperty({ nullable: true, type: String, description: 'When the next attempt is due (pending only)' })
  nextAttemptAt: string | null;

  @ApiProperty({ nullable: true, type: Number })
  lastStatusCode: number | null;

  @ApiProperty({ nullable: true, type: String })
  lastError: string | null;

  @ApiProperty({ description: 'The event body as sent (JSON)' })
  payload: Record<string, unknown>;

  @ApiProperty()
  createdAt: string;

  @ApiProperty()
  updatedAt: string;

  @ApiProperty({ type: DeliveryAttemptDto, isArray: true, description: 'Every attempt, oldest first' })
  attempts: DeliveryAttemptDto[];

  static from(d: WebhookDelivery, attempts: WebhookDeliveryAttempt[]): WebhookDeliveryDto {
    return {
      id: d.id,
      eventId: d.eventId,
      eventType: d.eventType,
      messageId: d.messageId,
      status: d.status,
      attemptCount: d.attempts,
      nextAttemptAt: d.status === DeliveryStatus.Pending ? iso(d.nextAttemptAt) : null,
      lastStatusCode: d.lastStatusCode,
      lastError: d.lastError,
      payload: JSON.parse(d.body) as Record<string, unknown>,
      createdAt: iso(d.createdAt)!,
      updatedAt: iso(d.updatedAt)!,
      attempts: attempts.map((a) => DeliveryAttemptDto.from(a, d.eventId)),
    };
  }
}

export class WebhookDeliveryPageDto {
  @ApiProperty({ type: WebhookDeliveryDto, isArray: true })
  items: WebhookDeliveryDto[];

  @ApiProperty({ nullable: true, type: String, description: 'Pass as cursor for the next (older) page; null on the last page' })
  nextCursor: string | null;
}
