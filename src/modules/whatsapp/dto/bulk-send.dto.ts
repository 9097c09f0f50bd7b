import { ApiProperty, OmitType } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray } from 'class-validator';
import { SendMessageDto } from './send-message.dto';

export const MAX_BULK_MESSAGES = 1000;

/** One message of a bulk send: the rules of POST /whatsapp/send, without immediate. */
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
}
