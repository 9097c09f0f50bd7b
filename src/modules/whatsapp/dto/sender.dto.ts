import { ApiProperty } from '@nestjs/swagger';

export class SenderDto {
  @ApiProperty({ example: 'whatsapp:+14155238886' }) sender: string;
  @ApiProperty({ description: 'Whether it is the default sender (first of TWILIO_WHATSAPP_FROM)' }) default: boolean;
  @ApiProperty({ description: 'Messages per second this sender is held to (TWILIO_MPS_BY_SENDER, else TWILIO_MPS)' }) mps: number;
  @ApiProperty({ description: 'Messages accepted for this sender and not yet handed to Twilio' }) backlog: number;
  @ApiProperty({ description: 'Seconds the backlog needs at this rate' }) backlogSeconds: number;
  @ApiProperty({ description: 'Milliseconds until a message queued now would get its turn (0: at once)' }) nextSlotInMs: number;
}
