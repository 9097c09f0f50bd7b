import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsEmail, IsEnum, IsOptional, IsString, MaxLength, ValidateBy, ValidationOptions } from 'class-validator';
import { isWeakPassword, MIN_ADMIN_PASSWORD_LENGTH } from '../../../config/production-secrets';
import { User, UserRole } from '../entities/user.entity';

const PASSWORD_RULE = `at least ${MIN_ADMIN_PASSWORD_LENGTH} characters and not a common password`;

/** The rule ADMIN_PASSWORD must meet in production, for every password set over the API. */
function IsStrongPassword(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy({ name: 'isStrongPassword', validator: { validate: (v: unknown) => typeof v === 'string' && !isWeakPassword(v) } }, options);
}

export class CreateUserDto {
  @ApiProperty({ example: 'ops@example.com' })
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(320)
  email: string;

  @ApiProperty({ enum: UserRole })
  @IsEnum(UserRole, { message: `role must be one of ${Object.values(UserRole).join(', ')}` })
  role: UserRole;

  @ApiPropertyOptional({ description: `${PASSWORD_RULE}; unset: one is generated and answered once` })
  @IsOptional()
  @IsString({ message: 'password must be a string' })
  @MaxLength(1024)
  @IsStrongPassword({ message: `password must be ${PASSWORD_RULE}` })
  password?: string;
}

export class UpdateUserDto {
  @ApiPropertyOptional({ enum: UserRole, description: 'A new role; takes effect within 5 seconds on every process' })
  @IsOptional()
  @IsEnum(UserRole, { message: `role must be one of ${Object.values(UserRole).join(', ')}` })
  role?: UserRole;

  @ApiPropertyOptional({ description: 'false deactivates: the user cannot log in and their tokens stop working (at once here, within 5 seconds elsewhere)' })
  @IsOptional()
  @IsBoolean({ message: 'active must be true or false' })
  active?: boolean;

  @ApiPropertyOptional({ description: `A new password: ${PASSWORD_RULE}` })
  @IsOptional()
  @IsString({ message: 'password must be a string' })
  @MaxLength(1024)
  @IsStrongPassword({ message: `password must be ${PASSWORD_RULE}` })
  password?: string;

  @ApiPropertyOptional({ description: 'true: a new password is generated and answered once (instead of password)' })
  @IsOptional()
  @IsBoolean({ message: 'resetPassword must be true or false' })
  resetPassword?: boolean;
}

export class UserDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty()
  email: string;

  @ApiProperty({ enum: UserRole })
  role: UserRole;

  @ApiProperty()
  active: boolean;

  @ApiProperty()
  createdAt: string;

  @ApiProperty()
  updatedAt: string;

  static from(u: User): UserDto {
    return { id: u.id, email: u.email, role: u.role, active: u.active, createdAt: u.createdAt.toISOString(), updatedAt: u.updatedAt.toISOString() };
  }
}

export class UserWithPasswordDto extends UserDto {
  @ApiPropertyOptional({ description: 'Only when the service generated the password: shown in this answer only' })
  generatedPassword?: string;
}
