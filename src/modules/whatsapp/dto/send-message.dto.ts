import { ApiProperty, ApiPropertyOptional, ApiPropertyOptions } from '@nestjs/swagger';
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
  registerDecorator,
  ValidateIf,
} from 'class-validator';
import type { MessageMetadata } from '../entities/whatsapp-message.entity';
import { IsInstantWithOffset } from '../send-schedule';

/** Twilio's limit for a WhatsApp body; longer bodies fail with 21617. */
export const MAX_BODY_LENGTH = 1600;
/** Twilio accepts at most 10 MediaUrl parameters per message. */
export const MAX_MEDIA_URLS = 10;

/** Bounds of the client's own data on a message (the clientReference column is varchar(128)). */
export const MAX_CLIENT_REFERENCE_LENGTH = 128;
export const MAX_METADATA_BYTES = 4096;
const MAX_METADATA_KEY_LENGTH = 64;

/** Why `value` is not flat metadata of at most MAX_METADATA_BYTES, or null when it is. */
export function metadataProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'metadata must be a JSON object';
  for (const [key, v] of Object.entries(value)) {
    if (key.length === 0 || key.length > MAX_METADATA_KEY_LENGTH) return `metadata keys must be 1 to ${MAX_METADATA_KEY_LENGTH} characters`;
    const flat = v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
    if (!flat) return `metadata must be flat: the value of "${key}" must be a string, number, boolean or null`;
  }
  const bytes = Buffer.byteLength(JSON.stringify(value));
  return bytes > MAX_METADATA_BYTES ? `metadata must be at most ${MAX_METADATA_BYTES} bytes as JSON (got ${bytes})` : null;
}

export const SEND_AT_DESCRIPTION =
  'Send at this time instead of now: ISO 8601 date-time with an offset or Z, from 60 seconds (59 s on arrival accepted, for transfer and clock skew) to 35 days ahead, measured when the request is accepted. ' +
  'Stored as `scheduled` and sent at that time (within about a second, then in its sender\'s turn); cancelable until then. Outside that range: 400 SEND_AT_OUT_OF_RANGE.';
export const SEND_AT_MESSAGE = 'sendAt must be an ISO 8601 date-time with an offset or Z, e.g. 2026-12-01T09:30:00Z or 2026-12-01T10:30:00+01:00';

/** OpenAPI shape of a message's metadata: a flat object (in answers, null when there is none). */
export function ApiMetadataProperty(description: string, options: { inAnswer: boolean }): PropertyDecorator {
  const schema = {
    type: 'object',
    additionalProperties: { oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }], nullable: true },
    description,
    example: { orderId: 'A-1001', attempt: 1 },
  } as ApiPropertyOptions;
  return options.inAnswer ? ApiProperty({ ...schema, nullable: true } as ApiPropertyOptions) : ApiPropertyOptional(schema);
}

function IsFlatMetadata(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isFlatMetadata',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) => metadataProblem(value) === null,
        defaultMessage: (args) => metadataProblem(args?.value) ?? 'metadata is invalid',
      },
    });
}

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

  @ApiPropertyOptional({
    description: `Your own reference for the message (an order or ticket id), up to ${MAX_CLIENT_REFERENCE_LENGTH} characters. Echoed in delivery-status and listings, and a listing filter (?clientReference=). Not unique: several messages may share one.`,
    maxLength: MAX_CLIENT_REFERENCE_LENGTH,
    example: 'order-1001',
  })
  @IsOptional()
  @IsString({ message: 'clientReference must be a string' })
  @IsNotEmpty({ message: 'clientReference must not be empty (leave it out instead)' })
  @MaxLength(MAX_CLIENT_REFERENCE_LENGTH, { message: `clientReference must be at most ${MAX_CLIENT_REFERENCE_LENGTH} characters` })
  // Control characters would make the reference unreadable in logs and listings.
  @Matches(/^[^\u0000-\u001f\u007f]*$/, { message: 'clientReference must not contain control characters' })
  clientReference?: string;

  @ApiMetadataProperty(
    `Your own flat key-value data (values: string, number, boolean or null; keys up to ${MAX_METADATA_KEY_LENGTH} characters), up to ${MAX_METADATA_BYTES} bytes as JSON. Stored with the message and echoed back; never sent to Twilio.`,
    { inAnswer: false },
  )
  @IsOptional()
  @IsFlatMetadata()
  metadata?: MessageMetadata;

  @ApiPropertyOptional({ description: SEND_AT_DESCRIPTION, type: String, format: 'date-time', example: '2026-12-01T09:30:00Z' })
  @IsOptional()
  @IsInstantWithOffset({ message: SEND_AT_MESSAGE })
  sendAt?: string;

  @ApiPropertyOptional({ description: 'Send before answering (201 with the Twilio SID) instead of queueing (202). Not with sendAt.', default: false })
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
    clientReference: dto.clientReference,
    metadata: dto.metadata,
    sendAt: dto.sendAt,
    immediate: dto.immediate,
    userId,
  };
}
