import { IsCalendarDateTime } from '../../../common/http/calendar-date-time.validator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';

export const RETRY_DEFAULT_LIMIT = 100;
export const RETRY_MAX_LIMIT = 1000;

export class RetryRequestDto {
  @ApiPropertyOptional({ description: 'Message ids to retry (default: every retryable failed message of the window)', type: [String] })
  @IsOptional()
  @IsArray({ message: 'ids must be an array of message ids' })
  @ArrayMaxSize(RETRY_MAX_LIMIT)
  @IsUUID('all', { each: true, message: 'ids must be message ids (uuid)' })
  ids?: string[];

  @ApiPropertyOptional({ description: 'Only messages that failed with these Twilio error codes', type: [Number], example: [30008] })
  @IsOptional()
  @IsArray({ message: 'errorCodes must be an array of integers' })
  @ArrayMaxSize(100)
  @IsInt({ each: true, message: 'errorCodes must be integers' })
  errorCodes?: number[];

  @ApiPropertyOptional({ description: 'Only messages created since (ISO 8601; default: 24 hours ago)' })
  @IsOptional()
  @IsCalendarDateTime({ message: 'since must be a calendar date or date-time, e.g. 2026-11-27T10:00:00Z' })
  since?: string;

  @ApiPropertyOptional({ default: RETRY_DEFAULT_LIMIT, maximum: RETRY_MAX_LIMIT })
  @IsOptional()
  @IsInt({ message: 'limit must be an integer' })
  @Min(1, { message: 'limit must be at least 1' })
  @Max(RETRY_MAX_LIMIT, { message: `limit must be at most ${RETRY_MAX_LIMIT}` })
  limit?: number;
}

export enum RetrySkipReason {
  NotFound = 'not_found',
  NotFailed = 'not_failed',
  Inbound = 'inbound',
  PermanentFailure = 'permanent_failure',
  RecipientOptedOut = 'recipient_opted_out',
  AlreadyRetried = 'already_retried',
}

export class RetrySkipDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: RetrySkipReason }) reason: RetrySkipReason;
  @ApiPropertyOptional({ description: 'Twilio error code of the failure, with its hint' }) errorCode?: number | null;
  @ApiPropertyOptional() hint?: string;
}

export class RetryLinkDto {
  @ApiProperty({ description: 'The failed message' }) id: string;
  @ApiProperty({ description: 'The new send attempt (its retryOf is id)' }) retryId: string;
}

export class RetryResponseDto {
  @ApiProperty() success: boolean;
  @ApiProperty({ description: 'How many messages were queued again' }) retried: number;
  @ApiProperty({ type: [RetryLinkDto] }) retries: RetryLinkDto[];
  @ApiProperty({ type: [RetrySkipDto] }) skipped: RetrySkipDto[];
}
