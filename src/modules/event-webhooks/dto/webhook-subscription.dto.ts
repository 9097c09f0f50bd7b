import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsBoolean, IsOptional, IsString, MaxLength } from 'class-validator';
import { WebhookSubscription } from '../entities/webhook-subscription.entity';
import { MAX_URL_LENGTH } from '../url-policy';
import { WebhookEventType } from '../webhook-event-type';

export const MAX_DESCRIPTION_LENGTH = 256;

export class CreateWebhookDto {
  @ApiProperty({ example: 'https://crm.example.com/hooks/whatsapp', description: 'Absolute http(s) URL; https and a public address in production' })
  @IsString({ message: 'url must be a string' })
  @MaxLength(MAX_URL_LENGTH, { message: `url must be at most ${MAX_URL_LENGTH} characters` })
  url: string;

  @ApiProperty({ enum: WebhookEventType, isArray: true, example: [WebhookEventType.MessageStatus, WebhookEventType.MessageInbound] })
  @IsArray({ message: 'events must be an array of event types' })
  @ArrayNotEmpty({ message: 'events must name at least one event type' })
  @ArrayMaxSize(10, { message: 'events must have at most 10 entries' })
  @IsString({ each: true, message: 'events must be strings' })
  events: string[];

  @ApiPropertyOptional({ maxLength: MAX_DESCRIPTION_LENGTH, example: 'CRM status sync' })
  @IsOptional()
  @IsString({ message: 'description must be a string' })
  @MaxLength(MAX_DESCRIPTION_LENGTH, { message: `description must be at most ${MAX_DESCRIPTION_LENGTH} characters` })
  description?: string;
}

export class UpdateWebhookDto {
  @ApiPropertyOptional({ example: 'https://crm.example.com/hooks/whatsapp-v2' })
  @IsOptional()
  @IsString({ message: 'url must be a string' })
  @MaxLength(MAX_URL_LENGTH, { message: `url must be at most ${MAX_URL_LENGTH} characters` })
  url?: string;

  @ApiPropertyOptional({ enum: WebhookEventType, isArray: true })
  @IsOptional()
  @IsArray({ message: 'events must be an array of event types' })
  @ArrayNotEmpty({ message: 'events must name at least one event type' })
  @ArrayMaxSize(10, { message: 'events must have at most 10 entries' })
  @IsString({ each: true, message: 'events must be strings' })
  events?: string[];

  @ApiPropertyOptional({ maxLength: MAX_DESCRIPTION_LENGTH, nullable: true, type: String, description: 'null clears it' })
  @IsOptional()
  @IsString({ message: 'description must be a string' })
  @MaxLength(MAX_DESCRIPTION_LENGTH, { message: `description must be at most ${MAX_DESCRIPTION_LENGTH} characters` })
  description?: string | null;

  @ApiPropertyOptional({ description: 'false pauses deliveries (kept pending); true re-enables a disabled subscription and attempts its pending deliveries at once' })
  @IsOptional()
  @IsBoolean({ message: 'enabled must be true or false' })
  enabled?: boolean;
}

export class WebhookDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty()
  url: string;

  @ApiProperty({ enum: WebhookEventType, isArray: true })
  events: string[];

  @ApiProperty({ nullable: true, type: String })
  description: string | null;

  @ApiProperty({ description: 'false: deliveries wait (pending) until it is re-enabled' })
  enabled: boolean;

  @ApiProperty({ nullable: true, type: String, description: 'Why it was disabled (a run of failures, or an admin)' })
  disabledReason: string | null;

  @ApiProperty({ nullable: true, type: String })
  disabledAt: string | null;

  @ApiProperty({ nullable: true, type: String, description: 'After a secret rotation: until when deliveries are also signed with the previous secret' })
  previousSecretExpiresAt: string | null;

  @ApiProperty({ description: 'Failed attempts since the last successful one' })
  consecutiveFailures: number;

  @ApiProperty({ nullable: true, type: String, format: 'uuid' })
  createdBy: string | null;

  @ApiProperty()
  createdAt: string;

  @ApiProperty()
  updatedAt: string;

  static from(s: WebhookSubscription): WebhookDto {
    return {
      id: s.id,
      url: s.url,
      events: s.events,
      description: s.description,
      enabled: s.enabled,
      disabledReason: s.disabledReason,
      disabledAt: s.disabledAt ? new Date(s.disabledAt).toISOString() : null,
      previousSecretExpiresAt: s.previousSecretExpiresAt && new Date(s.previousSecretExpiresAt) > new Date() ? new Date(s.previousSecretExpiresAt).toISOString() : null,
      consecutiveFailures: s.consecutiveFailures,
      createdBy: s.createdBy,
      createdAt: new Date(s.createdAt).toISOString(),
      updatedAt: new Date(s.updatedAt).toISOString(),
    };
  }
}

export class CreatedWebhookDto extends WebhookDto {
  @ApiProperty({ example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', description: 'The signing secret: in this answer only, never again' })
  secret: string;
}
