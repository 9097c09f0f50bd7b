import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEnum, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { IsCalendarDateTime } from '../../../common/http/calendar-date-time.validator';
import { ApiKey } from '../entities/api-key.entity';
import { UserRole } from '../entities/user.entity';

export class CreateApiKeyDto {
  @ApiProperty({ example: 'crm-prod', description: 'What the key is for; 1 to 100 characters' })
  @IsString({ message: 'name must be a string' })
  @MinLength(1, { message: 'name must not be empty' })
  @MaxLength(100, { message: 'name must be at most 100 characters' })
  @Matches(/\S/, { message: 'name must not be blank' })
  name: string;

  @ApiProperty({ enum: UserRole, description: 'What the key may do: the same routes as a user of this role' })
  @IsEnum(UserRole, { message: `role must be one of ${Object.values(UserRole).join(', ')}` })
  role: UserRole;

  @ApiPropertyOptional({ example: '2027-06-30T00:00:00Z', description: 'When the key stops working (ISO 8601, in the future); unset: until revoked' })
  @IsOptional()
  @IsCalendarDateTime({ message: 'expiresAt must be an ISO 8601 date-time' })
  expiresAt?: string;
}

export class ApiKeyDto {
  @ApiProperty({ format: 'uuid', description: 'The key\'s id; messages sent with the key record it as their creator' })
  id: string;

  @ApiProperty()
  name: string;

  @ApiProperty({ enum: UserRole })
  role: UserRole;

  @ApiProperty({ example: 'wsk_Ab3dE9', description: 'The key\'s first characters, to recognise it' })
  prefix: string;

  @ApiProperty({ example: 'x9Qz', description: 'The key\'s last four characters' })
  lastFour: string;

  @ApiProperty({ format: 'uuid', description: 'Who created it: an admin user, or an admin API key' })
  createdBy: string;

  @ApiProperty()
  createdAt: string;

  @ApiProperty({ nullable: true, type: String })
  expiresAt: string | null;

  @ApiProperty({ nullable: true, type: String, description: 'Last request with the key, to the minute' })
  lastUsedAt: string | null;

  @ApiProperty({ nullable: true, type: String })
  revokedAt: string | null;

  static from(k: ApiKey): ApiKeyDto {
    return {
      id: k.id,
      name: k.name,
      role: k.role,
      prefix: k.prefix,
      lastFour: k.lastFour,
      createdBy: k.createdBy,
      createdAt: k.createdAt.toISOString(),
      expiresAt: k.expiresAt?.toISOString() ?? null,
      lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
      revokedAt: k.revokedAt?.toISOString() ?? null,
    };
  }
}

export class CreatedApiKeyDto extends ApiKeyDto {
  @ApiProperty({ example: 'wsk_Ab3dE9...', description: 'The key. Shown only in this answer: store it now; only its hash is kept' })
  apiKey: string;
}
