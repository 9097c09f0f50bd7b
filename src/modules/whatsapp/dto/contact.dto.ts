import { ApiProperty } from '@nestjs/swagger';

export class ContactDto {
  @ApiProperty({ example: '+14155550123' }) phone: string;
  @ApiProperty({ description: 'Whether the number ever wrote to us or opted out' }) known: boolean;
  @ApiProperty({ type: String, nullable: true }) profileName: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'Last message the user sent us' }) lastInboundAt: string | null;
  @ApiProperty({ description: "Inside WhatsApp's 24-hour customer-service window: free-form messages allowed" }) sessionWindowOpen: boolean;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When the open window closes' }) sessionWindowExpiresAt: string | null;
  @ApiProperty({ description: 'Replied STOP (and not START since): sends are refused' }) optedOut: boolean;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) optedOutAt: string | null;
}
