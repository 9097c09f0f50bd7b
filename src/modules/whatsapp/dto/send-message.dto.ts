import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsBoolean,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  MaxLength,
  ValidateIf,
} from 'class-validator';

/** Twilio's limit for a WhatsApp body; longer bodies fail with 21617. */
export const MAX_BODY_LENGTH = 1600;
/** Twilio accepts at most 10 MediaUrl parameters per message. */
export const MAX_MEDIA_URLS = 10;

export class SendMessageDto {
  @ApiProperty({ description: 'Recipient in E.164, with or without the whatsapp: prefix', example: '+14155550123' })
  @IsString({ message: 'to must be a string' })
  @IsNotEmpty({ message: 'to is required' })
  @MaxLength(64)
  to: string;

  @ApiPropertyOptional({ description: `Message text (up to ${MAX_BODY_LENGTH} characters). Required unless contentSid or mediaUrl is given.`, example: 'Your order has shipped' })
  @ValidateIf((o: SendMessageDto) => o.message !== undefined || (!o.contentSid && !o.mediaUrl))
  @IsString({ message: 'message must be a string' })
  @IsNotEmpty({ message: 'message is required (or contentSid for a template, or mediaUrl)' })
  @MaxLength(MAX_BODY_LENGTH, { message: `message must be at most ${MAX_BODY_LENGTH} characters` })
  message?: string;

  @ApiPropertyOptional({
    description: `Public https URL of an image, document, audio or video; or a list of up to ${MAX_MEDIA_URLS}`,
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    example: 'https://example.com/receipt.pdf',
  })
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' ? [value] : value))
  @ArrayMaxSize(MAX_MEDIA_URLS, { message: `mediaUrl accepts at most ${MAX_MEDIA_URLS} URLs` })
  @IsUrl({ protocols: ['https', 'http'], require_protocol: true, require_tld: false }, { each: true, message: 'mediaUrl must be http(s) URLs' })
  mediaUrl?: string[];

  @ApiPropertyOptional({ description: 'Approved template (Twilio Content SID) to send instead of message', example: 'HXb5b62575e6e4ff6129ad7c8efe1f983e' })
  @IsOptional()
  @Matches(/^HX[0-9a-fA-F]{32}$/, { message: 'contentSid must be a Content SID: HX followed by 32 hex characters' })
  contentSid?: string;

  @ApiPropertyOptional({ description: 'Template variables, e.g. {"1": "Ada", "2": "12 Dec"}', example: { '1': 'Ada' } })
  @IsOptional()
  @IsObject({ message: 'contentVariables must be an object of strings' })
  contentVariables?: Record<string, string>;

  @ApiPropertyOptional({ description: 'Sender (whatsapp:+E164); must be one of the configured senders. Defaults to the first.', example: 'whatsapp:+14155238886' })
  @IsOptional()
  @IsString({ message: 'from must be a string' })
  from?: string;

  @ApiPropertyOptional({ description: 'Send before answering (201 with the Twilio SID) instead of queueing (202)', default: false })
  @IsOptional()
  @IsBoolean({ message: 'immediate must be true or false' })
  immediate?: boolean;
}

/** What the service's send takes, from a request body and the user sending it. */
export function toSendInput(dto: Omit<SendMessageDto, 'immediate'> & { immediate?: boolean }, userId: string) {
  return {
    to: dto.to,
    body: dto.message,
    mediaUrls: dto.mediaUrl,
    contentSid: dto.contentSid,
    contentVariables: dto.contentVariables,
    from: dto.from,
    immediate: dto.immediate,
    userId,
  };
}
