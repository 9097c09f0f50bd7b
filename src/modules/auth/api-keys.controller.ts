import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ErrorBodyDto } from '../../common/http/error-body.dto';
import { ApiKeysService } from './api-keys.service';
import { AuthenticatedUser } from './auth.types';
import { CurrentUser } from './decorators/current-user.decorator';
import { Roles } from './decorators/roles.decorator';
import { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto } from './dto/api-key.dto';
import { UserRole } from './entities/user.entity';
import { JwtAuthGuard } from './guards/jwt-auth.guard';
import { RolesGuard } from './guards/roles.guard';

@ApiTags('api-keys')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorBodyDto, description: 'Missing, expired or invalid credentials (UNAUTHORIZED, API_KEY_INVALID, API_KEY_EXPIRED, API_KEY_REVOKED)' })
@ApiForbiddenResponse({ type: ErrorBodyDto, description: 'Not an admin (FORBIDDEN)' })
@UseGuards(JwtAuthGuard, RolesGuard)
@Roles(UserRole.Admin)
@Controller('api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @ApiOperation({ summary: 'Create an API key for a machine', description: 'The key is in this answer only; it works as X-API-Key or Authorization: Bearer.' })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'VALIDATION_FAILED: name, role or expiresAt missing or wrong (expiresAt must be in the future)' })
  async create(@Body() dto: CreateApiKeyDto, @CurrentUser() user: AuthenticatedUser): Promise<CreatedApiKeyDto> {
    const created = await this.apiKeys.create({ name: dto.name.trim(), role: dto.role, expiresAt: dto.expiresAt ? new Date(dto.expiresAt) : undefined }, user.id);
    return { ...ApiKeyDto.from(created.apiKey), apiKey: created.key };
  }

  @Get()
  @ApiOperation({ summary: 'List API keys (never the keys themselves)', description: 'Newest first, revoked and expired ones included.' })
  @ApiOkResponse({ type: ApiKeyDto, isArray: true })
  async list(): Promise<ApiKeyDto[]> {
    return (await this.apiKeys.list()).map(ApiKeyDto.from);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Revoke an API key', description: 'At once in the process that answers, within 5 seconds in the others.' })
  @ApiOkResponse({ type: ApiKeyDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'API_KEY_NOT_FOUND' })
  async revoke(@Param('id') id: string): Promise<ApiKeyDto> {
    return ApiKeyDto.from(await this.apiKeys.revoke(id));
  }
}
