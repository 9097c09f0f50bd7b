import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { MessageStatus } from '../message-status';

export class BulkItemErrorDto {
  @ApiProperty({ example: 'MISSING_COUNTRY_CODE', description: 'The code POST /whatsapp/send would answer for this message' })
  code: string;

  @ApiProperty({ example: 'to must include the country code in E.164 format, e.g. +<country code>4155550123' })
  message: string;

  @ApiPropertyOptional({ example: 'to', description: 'The (first) field at fault' })
  field?: string;

  @ApiPropertyOptional({
    description: 'For TEMPLATE_VARIABLES_INVALID and TEMPLATE_NOT_FOUND: { contentSid, missing, unknown } as POST /whatsapp/send answers them',
    type: 'object',
    additionalProperties: true,
    example: { contentSid: 'HX0000000000000000000000000000a002', missing: ['3'], unknown: ['x'] },
  })
  details?: Record<string, unknown>;
}

export class BulkSendResultDto {
  @ApiProperty({ description: 'Position of the message in the request', example: 0 })
  index: number;

  @ApiPropertyOptional({ description: 'Message id, when accepted', format: 'uuid' })
  id?: string;

  @ApiPropertyOptional({ enum: [MessageStatus.Queued, MessageStatus.Scheduled], description: 'When accepted: queued, or scheduled (with sendAt)' })
  status?: MessageStatus.Queued | MessageStatus.Scheduled;

  @ApiPropertyOptional({ type: String, format: 'date-time', description: 'A scheduled message: when it will be sent' })
  scheduledAt?: string;

  @ApiPropertyOptional({ type: BulkItemErrorDto, description: 'Why the message was refused (nothing stored for it)' })
  error?: BulkItemErrorDto;
}

export class BulkSendResponseDto {
  @ApiProperty({ example: true })
  success: true;

  @ApiProperty({ description: 'Messages stored (queued or scheduled)', example: 998 })
  accepted: number;

  @ApiProperty({ description: 'Messages refused', example: 2 })
  rejected: number;

  @ApiProperty({ type: [BulkSendResultDto], description: 'One per message, in request order' })
  results: BulkSendResultDto[];
}
