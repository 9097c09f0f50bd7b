import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import {
  ApiAcceptedResponse,
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
import { ErrorBodyDto } from '../../common/http/error-body.dto';
import { AuthenticatedUser } from '../auth/auth.types';
import { CurrentUser } from '../auth/decorators/current-user.decorator';
import { Roles } from '../auth/decorators/roles.decorator';
import { UserRole } from '../auth/entities/user.entity';
import { JwtAuthGuard } from '../auth/guards/jwt-auth.guard';
import { RolesGuard } from '../auth/guards/roles.guard';
import { ListDeliveriesQueryDto, WebhookDeliveryDto, WebhookDeliveryPageDto } from './dto/webhook-delivery.dto';
import { CreatedWebhookDto, CreateWebhookDto, UpdateWebhookDto, WebhookDto } from './dto/webhook-subscription.dto';
import { EventWebhooksService, MAX_SUBSCRIPTIONS } from './event-webhooks.service';

@ApiTags('webhooks')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorBodyDto, description: 'Missing, expired or invalid credentials (UNAUTHORIZED, API_KEY_INVALID, API_KEY_EXPIRED, API_KEY_REVOKED)' })
@ApiForbiddenResponse({ type: ErrorBodyDto, description: 'Not an admin (FORBIDDEN)' })
@UseGuards(JwtAuthGuard, RolesGuard)
@Roles(UserRole.Admin)
@Controller('webhooks')
export class EventWebhooksController {
  constructor(private readonly webhooks: EventWebhooksService) {}

  @Post()
  @ApiOperation({
    summary: 'Subscribe a URL to message events',
    description: 'Events are signed per Standard Webhooks with the secret, which is in this answer only.',
  })
  @ApiCreatedResponse({ type: CreatedWebhookDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'VALIDATION_FAILED (url, events with unknown names listed, description); WEBHOOK_URL_FORBIDDEN (private, loopback or link-local receiver, or http, in production)' })
  @ApiConflictResponse({ type: ErrorBodyDto, description: `WEBHOOK_LIMIT_REACHED: at most ${MAX_SUBSCRIPTIONS} subscriptions` })
  async create(@Body() dto: CreateWebhookDto, @CurrentUser() user: AuthenticatedUser): Promise<CreatedWebhookDto> {
    const created = await this.webhooks.create(dto, user.id);
    return { ...WebhookDto.from(created), secret: created.secret };
  }

  @Get()
  @ApiOperation({ summary: 'List webhook subscriptions (never their secrets)', description: 'Newest first.' })
  @ApiOkResponse({ type: WebhookDto, isArray: true })
  async list(): Promise<WebhookDto[]> {
    return (await this.webhooks.list()).map(WebhookDto.from);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One webhook subscription, with why it was disabled if it was' })
  @ApiOkResponse({ type: WebhookDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'WEBHOOK_NOT_FOUND' })
  async get(@Param('id') id: string): Promise<WebhookDto> {
    return WebhookDto.from(await this.webhooks.get(id));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change a subscription: url, events, description, enabled', description: 'enabled: true re-enables a disabled subscription and sends its pending deliveries at once.' })
  @ApiOkResponse({ type: WebhookDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'VALIDATION_FAILED; WEBHOOK_URL_FORBIDDEN' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'WEBHOOK_NOT_FOUND' })
  async update(@Param('id') id: string, @Body() dto: UpdateWebhookDto): Promise<WebhookDto> {
    return WebhookDto.from(await this.webhooks.update(id, dto));
  }

  @Delete(':id')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Delete a subscription with its deliveries', description: 'Pending deliveries are dropped.' })
  @ApiOkResponse({ type: WebhookDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'WEBHOOK_NOT_FOUND' })
  async remove(@Param('id') id: string): Promise<WebhookDto> {
    return WebhookDto.from(await this.webhooks.remove(id));
  }

  @Post(':id/rotate-secret')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Replace the signing secret',
    description: 'The new secret is in this answer only; for 24 hours deliveries carry a signature with the old secret too, so receivers can switch without a gap.',
  })
  @ApiOkResponse({ type: CreatedWebhookDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'WEBHOOK_NOT_FOUND' })
  async rotateSecret(@Param('id') id: string): Promise<CreatedWebhookDto> {
    const rotated = await this.webhooks.rotateSecret(id);
    return { ...WebhookDto.from(rotated), secret: rotated.secret };
  }

  @Get(':id/deliveries')
  @ApiOperation({ summary: 'A subscription\'s deliveries, newest first, each with its attempts', description: 'Paged with nextCursor; filter by status.' })
  @ApiOkResponse({ type: WebhookDeliveryPageDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'VALIDATION_FAILED: status, limit or cursor' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'WEBHOOK_NOT_FOUND' })
  async deliveries(@Param('id') id: string, @Query() query: ListDeliveriesQueryDto): Promise<WebhookDeliveryPageDto> {
    return this.webhooks.listDeliveries(id, query);
  }

  @Post(':id/deliveries/:deliveryId/replay')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Send a delivery again now', description: 'Also one that succeeded; it is retried on the schedule if the new attempt fails.' })
  @ApiAcceptedResponse({ type: WebhookDeliveryDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'WEBHOOK_NOT_FOUND, WEBHOOK_DELIVERY_NOT_FOUND' })
  async replay(@Param('id') id: string, @Param('deliveryId') deliveryId: string): Promise<WebhookDeliveryDto> {
    return this.webhooks.replay(id, deliveryId);
  }
}
