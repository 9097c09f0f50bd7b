import { Controller, Get, HttpCode, HttpStatus, Post, Query, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ErrorBodyDto } from '../../common/http/error-body.dto';
import { AuthenticatedUser } from '../auth/auth.types';
import { CurrentUser } from '../auth/decorators/current-user.decorator';
import { Roles } from '../auth/decorators/roles.decorator';
import { UserRole } from '../auth/entities/user.entity';
import { JwtAuthGuard } from '../auth/guards/jwt-auth.guard';
import { RolesGuard } from '../auth/guards/roles.guard';
import { ListTemplatesQueryDto, TemplateListDto } from './dto/template.dto';
import { TemplatesService } from './templates.service';

@ApiTags('whatsapp')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorBodyDto, description: 'Missing, expired or invalid bearer token' })
@UseGuards(JwtAuthGuard, RolesGuard)
@Controller('whatsapp/templates')
export class TemplatesController {
  constructor(private readonly templates: TemplatesService) {}

  @Get()
  @ApiOperation({
    summary: "The Twilio account's message templates (Content API) with their variables",
    description: 'From a cache renewed every CONTENT_TEMPLATES_TTL_MS; refresh=true (admin) lists the Content API now.',
  })
  @ApiOkResponse({ type: TemplateListDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'Invalid filter (VALIDATION_FAILED)' })
  @ApiForbiddenResponse({ type: ErrorBodyDto, description: 'refresh=true without the admin role (FORBIDDEN)' })
  @ApiServiceUnavailableResponse({ type: ErrorBodyDto, description: 'The Content API could not be listed and nothing is cached, or a refresh failed (TWILIO_UNAVAILABLE)' })
  list(@Query() query: ListTemplatesQueryDto, @CurrentUser() user: AuthenticatedUser): Promise<TemplateListDto> {
    return this.templates.list(query, user);
  }

  @Post('refresh')
  @HttpCode(HttpStatus.OK)
  @Roles(UserRole.Admin)
  @ApiOperation({ summary: 'List the Content API now and renew the template cache (admin)' })
  @ApiOkResponse({ type: TemplateListDto })
  @ApiForbiddenResponse({ type: ErrorBodyDto, description: 'Not an admin' })
  @ApiServiceUnavailableResponse({ type: ErrorBodyDto, description: 'The Content API could not be listed (TWILIO_UNAVAILABLE)' })
  refresh(): Promise<TemplateListDto> {
    return this.templates.refresh();
  }
}
