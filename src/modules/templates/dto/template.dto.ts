import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';

export class ListTemplatesQueryDto {
  @ApiPropertyOptional({ description: 'Only templates in this language (exact, e.g. en or pt_BR)', example: 'en' })
  @IsOptional()
  @IsString()
  @IsNotEmpty({ message: 'language must not be empty' })
  @MaxLength(20, { message: 'language must be at most 20 characters' })
  language?: string;

  @ApiPropertyOptional({ description: 'Only templates whose name or SID contains this (case-insensitive)', example: 'order' })
  @IsOptional()
  @IsString()
  @IsNotEmpty({ message: 'q must not be empty' })
  @MaxLength(200, { message: 'q must be at most 200 characters' })
  q?: string;

  @ApiPropertyOptional({ description: 'List the Content API now instead of answering from the cache (admin only)', default: false })
  @IsOptional()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'refresh must be true or false' })
  refresh?: boolean;
}

export class TemplateVariableDto {
  @ApiProperty({ description: 'The placeholder: {{1}} is "1", {{first_name}} is "first_name"', example: '1' })
  name: string;

  @ApiProperty({ description: 'True when the template has no default for it: a send must give it in contentVariables' })
  required: boolean;

  @ApiPropertyOptional({ description: "The template's default, which Twilio uses when a send leaves the variable out", example: 'there' })
  default?: string;
}

export class TemplateDto {
  @ApiProperty({ description: 'Content SID, for contentSid in a send', example: 'HX0000000000000000000000000000a002' })
  sid: string;

  @ApiProperty({ example: 'order_update' })
  friendlyName: string;

  @ApiProperty({ example: 'en' })
  language: string;

  @ApiProperty({ description: 'Its content types', type: [String], example: ['twilio/text'] })
  types: string[];

  @ApiProperty({ type: [TemplateVariableDto], description: 'Every placeholder of every content type, and every variable the template has a default for; numbered first' })
  variables: TemplateVariableDto[];

  @ApiProperty({ description: 'WhatsApp approval as Twilio reports it (approved, pending, rejected, unsubmitted, ...); null when Twilio gives none', nullable: true, type: String, example: 'approved' })
  approvalStatus: string | null;

  @ApiProperty({ nullable: true, type: String, format: 'date-time' })
  dateUpdated: string | null;
}

export class TemplateListDto {
  @ApiProperty({ type: [TemplateDto] })
  templates: TemplateDto[];

  @ApiProperty({ format: 'date-time', description: 'When the Content API was listed (the cache lives CONTENT_TEMPLATES_TTL_MS)' })
  syncedAt: string;
}
