import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { MessageMetadata } from '../entities/whatsapp-message.entity';
import { MessageStatus } from '../message-status';
import { ApiMetadataProperty } from './send-message.dto';

export class StatusTimestampsDto {
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) queued: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) sent: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) delivered: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) read: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'failed or undelivered' }) failed: string | null;
}

export class DeliveryMetricsDto {
  @ApiProperty({ type: Number, nullable: true, description: 'Delivered time minus sent time (queued time when sent is missing)' })
  deliveryTimeMs: number | null;
}

export class DeliveryStatusDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ type: String, nullable: true }) messageSid: string | null;
  @ApiProperty({ enum: MessageStatus }) status: MessageStatus;
  @ApiProperty({ type: Number, nullable: true, description: 'Twilio error code when failed' }) errorCode: number | null;
  @ApiProperty({ type: String, nullable: true }) errorMessage: string | null;
  @ApiPropertyOptional({ type: String, nullable: true, description: 'What to do about the error' }) errorHint: string | null;
  @ApiProperty() attempts: number;
  @ApiProperty({ type: String, nullable: true, description: 'The clientReference given when it was sent' }) clientReference: string | null;
  @ApiMetadataProperty('The metadata given when it was sent (inbound: further fields Twilio posted)', { inAnswer: true })
  metadata: MessageMetadata | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'A scheduled send: when it is (or was) due' }) scheduledAt: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When it was canceled (status canceled)' }) canceledAt: string | null;
  @ApiProperty({ type: StatusTimestampsDto }) timestamps: StatusTimestampsDto;
  @ApiProperty({ type: DeliveryMetricsDto }) metrics: DeliveryMetricsDto;
}

export class MessageEventDto {
  @ApiProperty() id: string;
  @ApiProperty({ type: String, nullable: true, description: 'null for an event of ours before Twilio had the message (canceled)' }) messageSid: string | null;
  @ApiProperty() status: string;
  @ApiProperty({ type: Number, nullable: true }) errorCode: number | null;
  @ApiProperty({ type: String, nullable: true }) errorMessage: string | null;
  @ApiProperty({ description: 'callback, api (send answer, or a cancel) or reconcile (fetched from Twilio)' }) source: string;
  @ApiProperty({ description: 'Whether the event changed the message (false: duplicate-free but stale or out of order)' }) applied: boolean;
  @ApiProperty({ type: String, format: 'date-time' }) receivedAt: string;
  @ApiProperty({ type: Object, description: 'Parameters as Twilio posted them' }) raw: Record<string, unknown>;
}
