import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { MessageStatus } from '../message-status';

export class SendMessageResponseDto {
  @ApiProperty({ example: true })
  success: boolean;

  @ApiProperty({ description: 'Message id (uuid) for delivery-status lookups', format: 'uuid' })
  id: string;

  @ApiProperty({ description: 'Twilio message SID; null until a worker has sent it', nullable: true, type: String, example: null })
  messageSid: string | null;

  @ApiProperty({ enum: MessageStatus, example: MessageStatus.Queued, description: 'queued (202), scheduled (202, with sendAt), or as Twilio answered an immediate send (201)' })
  status: MessageStatus;

  @ApiPropertyOptional({ type: String, format: 'date-time', description: 'A scheduled send: when it will be sent (sendAt, normalized to UTC)' })
  scheduledAt?: string;
}
