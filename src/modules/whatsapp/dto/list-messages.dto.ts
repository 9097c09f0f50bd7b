import { IsCalendarDateTime } from '../../../common/http/calendar-date-time.validator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEnum, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import type { MessageMetadata } from '../entities/whatsapp-message.entity';
import { MessageDirection, MessageStatus } from '../message-status';
import { PageQueryDto } from '../../../common/http/page-query.dto';
import { ApiMetadataProperty, MAX_CLIENT_REFERENCE_LENGTH } from './send-message.dto';

export class ListMessagesQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: MessageDirection })
  @IsOptional()
  @IsEnum(MessageDirection, { message: `direction must be one of ${Object.values(MessageDirection).join(', ')}` })
  direction?: MessageDirection;

  @ApiPropertyOptional({ enum: MessageStatus })
  @IsOptional()
  @IsEnum(MessageStatus, { message: `status must be one of ${Object.values(MessageStatus).join(', ')}` })
  status?: MessageStatus;

  @ApiPropertyOptional({ description: 'Recipient, E.164 with or without whatsapp:' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  to?: string;

  @ApiPropertyOptional({ description: 'Sender, E.164 with or without whatsapp:' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  from?: string;

  @ApiPropertyOptional({ description: 'Only messages sent with this clientReference (exact match)', maxLength: MAX_CLIENT_REFERENCE_LENGTH })
  @IsOptional()
  @IsString()
  @IsNotEmpty({ message: 'clientReference must not be empty' })
  @MaxLength(MAX_CLIENT_REFERENCE_LENGTH, { message: `clientReference must be at most ${MAX_CLIENT_REFERENCE_LENGTH} characters` })
  clientReference?: string;

  @ApiPropertyOptional({ description: 'Created at or after (ISO 8601)' })
  @IsOptional()
  @IsCalendarDateTime({ message: 'since must be a calendar date or date-time, e.g. 2026-11-27T10:00:00Z' })
  since?: string;

  @ApiPropertyOptional({ description: 'Created before (ISO 8601)' })
  @IsOptional()
  @IsCalendarDateTime({ message: 'until must be a calendar date or date-time, e.g. 2026-11-28T10:00:00Z' })
  until?: string;
}

export class MessageSummaryDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ type: String, nullable: true }) messageSid: string | null;
  @ApiProperty({ enum: MessageDirection }) direction: MessageDirection;
  @ApiProperty() from: string;
  @ApiProperty() to: string;
  @ApiProperty({ type: String, nullable: true }) body: string | null;
  @ApiProperty({ type: [String] }) mediaUrls: string[];
  @ApiProperty({ type: String, nullable: true }) contentSid: string | null;
  @ApiProperty({ enum: MessageStatus }) status: MessageStatus;
  @ApiProperty({ type: Number, nullable: true }) errorCode: number | null;
  @ApiProperty({ type: String, nullable: true }) errorMessage: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'Inbound: the WhatsApp profile name' }) profileName: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'uuid', description: 'For a re-send: the message it retries' }) retryOf: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'The clientReference given when it was sent' }) clientReference: string | null;
  @ApiMetadataProperty('The metadata given when it was sent (inbound: further fields Twilio posted)', { inAnswer: true })
  metadata: MessageMetadata | null;
  @ApiProperty() attempts: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'A scheduled send: when it is (or was) due' }) scheduledAt: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When it was canceled' }) canceledAt: string | null;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt: string;
  @ApiProperty({ type: String, format: 'date-time' }) updatedAt: string;
}

export class MessagePageDto {
  @ApiProperty({ type: [MessageSummaryDto] }) data: MessageSummaryDto[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as cursor for the next page; null on the last page' }) nextCursor: string | null;
}
