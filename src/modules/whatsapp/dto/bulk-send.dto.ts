import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsOptional } from 'class-validator';
import { IsInstantWithOffset } from '../send-schedule';
import { SEND_AT_DESCRIPTION, SEND_AT_MESSAGE, SendMessageDto } from './send-message.dto';

export const MAX_BULK_MESSAGES = 1000;

/** One message of a bulk send: the rules of POST /whatsapp/send (sendAt included), without immediate. */
export class BulkMessageDto extends OmitType(SendMessageDto, ['immediate'] as const) {}

export class BulkSendDto {
  @ApiProperty({
    type: [BulkMessageDto],
    minItems: 1,
    maxItems: MAX_BULK_MESSAGES,
    description: 'Checked one by one: an invalid message is reported in results and the others are still sent',
  })
  @IsArray({ message: 'messages must be an array' })
  @ArrayMinSize(1, { message: 'messages must contain at least 1 message' })
  @ArrayMaxSize(MAX_BULK_MESSAGES, { message: `messages must contain at most ${MAX_BULK_MESSAGES} messages` })
  // Items are validated by BulkSendService, not by the global pipe, which would refuse them all for one bad item.
  messages: unknown[];

  @ApiPropertyOptional({
    description: `For every message without a sendAt of its own. ${SEND_AT_DESCRIPTION} Out of range here refuses the whole request (400); on a message, only that message.`,
    type: String,
    format: 'date-time',
    example: '2026-12-01T09:30:00Z',
  })
  @IsOptional()
  @IsInstantWithOffset({ message: SEND_AT_MESSAGE })
  sendAt?: string;
}
