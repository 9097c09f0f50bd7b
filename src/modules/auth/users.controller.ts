import { Body, Controller, Get, Param, Patch, Post, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';
import { ErrorBodyDto } from '../../common/http/error-body.dto';
import { Roles } from './decorators/roles.decorator';
import { CreateUserDto, UpdateUserDto, UserDto, UserWithPasswordDto } from './dto/user.dto';
import { UserRole } from './entities/user.entity';
import { JwtAuthGuard } from './guards/jwt-auth.guard';
import { RolesGuard } from './guards/roles.guard';
import { CreatedUser, UserAlreadyExistsError, UsersService } from './users.service';

function withPassword({ user, generatedPassword }: CreatedUser): UserWithPasswordDto {
  return { ...UserDto.from(user), ...(generatedPassword && { generatedPassword }) };
}

@ApiTags('users')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorBodyDto, description: 'Missing, expired or invalid credentials (UNAUTHORIZED, API_KEY_INVALID, API_KEY_EXPIRED, API_KEY_REVOKED)' })
@ApiForbiddenResponse({ type: ErrorBodyDto, description: 'Not an admin (FORBIDDEN)' })
@UseGuards(JwtAuthGuard, RolesGuard)
@Roles(UserRole.Admin)
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @ApiOperation({ summary: 'Create a user', description: 'Without a password one is generated and answered once.' })
  @ApiCreatedResponse({ type: UserWithPasswordDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'VALIDATION_FAILED: email, role or password (at least 12 characters, not a common password)' })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'USER_ALREADY_EXISTS: the email is taken' })
  async create(@Body() dto: CreateUserDto): Promise<UserWithPasswordDto> {
    try {
      return withPassword(await this.users.create(dto.email, dto.role, dto.password));
    } catch (err) {
      if (err instanceof UserAlreadyExistsError) throw new DomainException(ErrorCode.UserAlreadyExists, err.message);
      throw err;
    }
  }

  @Get()
  @ApiOperation({ summary: 'List users', description: 'Oldest first, deactivated users included.' })
  @ApiOkResponse({ type: UserDto, isArray: true })
  async list(): Promise<UserDto[]> {
    return (await this.users.list()).map(UserDto.from);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One user' })
  @ApiOkResponse({ type: UserDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'USER_NOT_FOUND' })
  async get(@Param('id') id: string): Promise<UserDto> {
    return UserDto.from(await this.users.findOrFail(id));
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Change a user: role, deactivate/reactivate, set or reset the password',
    description: 'A deactivation or role change applies at once on this process and within 5 seconds on the others. The last active admin cannot be deactivated or demoted.',
  })
  @ApiOkResponse({ type: UserWithPasswordDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'VALIDATION_FAILED: a field is wrong, nothing to change, or both password and resetPassword' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'USER_NOT_FOUND' })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'LAST_ACTIVE_ADMIN: the change would leave no active admin' })
  async update(@Param('id') id: string, @Body() dto: UpdateUserDto): Promise<UserWithPasswordDto> {
    return withPassword(await this.users.update(id, dto));
  }
}
