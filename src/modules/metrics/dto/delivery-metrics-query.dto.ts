import { IsCalendarDateTime } from '../../../common/http/calendar-date-time.validator';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, Matches } from 'class-validator';

/** A date, or a date-time with Z or an offset: a time without a zone would depend on the server's. */
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;
const WHATSAPP_SENDER = /^whatsapp:\+[1-9]\d{6,14}$/;

/** An unencoded "+" in a query string arrives as a space: `from=whatsapp:+1415...` means the plus. */
const senderPlus = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.trim().replace(/^whatsapp: (?=\d)/, 'whatsapp:+') : value;

export class DeliveryMetricsQueryDto {
  @ApiPropertyOptional({ description: 'Window start, ISO 8601 (default: until minus 24 h); rounded down to the minute', example: '2026-11-27T00:00:00Z' })
  @IsOptional()
  @IsCalendarDateTime({ message: 'since must be an ISO 8601 date or date-time, e.g. 2026-11-27T00:00:00Z' })
  @Matches(ISO_WITH_ZONE, { message: 'since must be a date or a date-time with Z or an offset, e.g. 2026-11-27T00:00:00Z' })
  since?: string;

  @ApiPropertyOptional({ description: 'Window end, ISO 8601 (default: now); rounded up to the minute', example: '2026-11-28T00:00:00Z' })
  @IsOptional()
  @IsCalendarDateTime({ message: 'until must be an ISO 8601 date or date-time, e.g. 2026-11-28T00:00:00Z' })
  @Matches(ISO_WITH_ZONE, { message: 'until must be a date or a date-time with Z or an offset, e.g. 2026-11-28T00:00:00Z' })
  until?: string;

  @ApiPropertyOptional({ description: 'Only messages from this sender', example: 'whatsapp:+14155238886' })
  @IsOptional()
  @Transform(senderPlus)
  @Matches(WHATSAPP_SENDER, { message: 'from must be a WhatsApp sender, whatsapp:+E164 (e.g. whatsapp:+14155238886)' })
  from?: string;
}
