import { ApiProperty } from '@nestjs/swagger';
import { MessageStatus } from '../message-status';

export class SendMessageResponseDto {
  @ApiProperty({ example: true })
  success: boolean;

  @ApiProperty({ description: 'Message id (uuid) for delivery-status lookups', format: 'uuid' })
  id: string;

  @ApiProperty({ description: 'Twilio message SID; null until a worker has sent it', nullable: true, type: String, example: null })
  messageSid: string | null;

  @ApiProperty({ enum: MessageStatus, example: MessageStatus.Queued })
  status: MessageStatus;
}
