import { applyDecorators, Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ErrorBodyDto } from '../../common/http/error-body.dto';
import { AuthenticatedUser } from '../auth/auth.types';
import { CurrentUser } from '../auth/decorators/current-user.decorator';
import { JwtAuthGuard } from '../auth/guards/jwt-auth.guard';
import { RolesGuard } from '../auth/guards/roles.guard';
import { DeliveryStatusDto, MessageEventDto } from './dto/delivery-status.dto';
import { SendMessageDto, toSendInput } from './dto/send-message.dto';
import { SendMessageResponseDto } from './dto/send-message-response.dto';
import { MessageSendService } from './message-send.service';
import { ContactPolicyService } from './contact-policy.service';
import { ContactDto } from './dto/contact.dto';
import { ListMessagesQueryDto, MessagePageDto } from './dto/list-messages.dto';
import { MessageQueryService } from './message-query.service';
import { MessageCancelService } from './message-cancel.service';
import { parseWhatsAppAddress } from './phone-number';
import { BulkSendService } from './bulk-send.service';
import { BulkSendDto, MAX_BULK_MESSAGES } from './dto/bulk-send.dto';
import { BulkSendResponseDto } from './dto/bulk-send-response.dto';
import { Idempotent } from './idempotency/idempotent.decorator';
import { IdempotentRoute } from './idempotency/idempotency.interceptor';
import { CurrentIdempotencyClaim, IdempotencyClaim } from './idempotency/idempotency-claim';

/** The answers of both cancel routes (DELETE, and POST .../cancel for clients without DELETE). */
function CancelAnswers(): MethodDecorator {
  return applyDecorators(
    HttpCode(HttpStatus.OK),
    ApiOkResponse({ type: DeliveryStatusDto, description: 'Canceled (status canceled, canceledAt set), or canceled already' }),
    ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such message, or not one of yours (MESSAGE_NOT_FOUND)' }),
    ApiConflictResponse({ type: ErrorBodyDto, description: 'At Twilio already, or being sent right now (MESSAGE_NOT_CANCELABLE; details.status is its current status)' }),
  );
}

@ApiTags('whatsapp')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorBodyDto, description: 'Missing, expired or invalid bearer token' })
@UseGuards(JwtAuthGuard, RolesGuard)
@Controller('whatsapp')
export class WhatsAppController {
  constructor(
    private readonly sends: MessageSendService,
    private readonly messageQuery: MessageQueryService,
    private readonly contacts: ContactPolicyService,
    private readonly bulkSend: BulkSendService,
    private readonly cancels: MessageCancelService,
  ) {}

  @Post('send')
  @ApiOperation({ summary: 'Send a WhatsApp message', description: 'Stored before the answer; queued (202) by default, or sent inline with immediate: true (201).' })
  @ApiAcceptedResponse({ type: SendMessageResponseDto, description: 'Stored and queued (a worker sends it), or scheduled (sendAt: sent at that time)' })
  @ApiCreatedResponse({ type: SendMessageResponseDto, description: 'Sent inline (immediate: true); messageSid is set' })
  @ApiBadRequestResponse({
    type: ErrorBodyDto,
    description: 'Invalid input: VALIDATION_FAILED (also sendAt unreadable or without offset, or with immediate), SEND_AT_OUT_OF_RANGE, MISSING_COUNTRY_CODE, INVALID_PHONE_NUMBER, UNKNOWN_SENDER',
  })
  @ApiUnprocessableEntityResponse({
    type: ErrorBodyDto,
    description:
      "contentVariables miss a variable the template requires or name one it does not have (TEMPLATE_VARIABLES_INVALID, details: contentSid, missing, unknown); contentSid is not a template of the account (TEMPLATE_NOT_FOUND); the recipient opted out or is outside the 24-hour window; Twilio rejected an immediate send (TWILIO_REJECTED, with twilioCode and hint); or the Idempotency-Key was used with another body (IDEMPOTENCY_KEY_REUSED)",
  })
  @Idempotent(IdempotentRoute.Send)
  async send(
    @Body() dto: SendMessageDto,
    @CurrentUser() user: AuthenticatedUser,
    @CurrentIdempotencyClaim() claim: IdempotencyClaim | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SendMessageResponseDto> {
    const { httpStatus, ...result } = await this.sends.send(toSendInput(dto, user.id), claim);
    reply.status(httpStatus);
    return result;
  }

  @Post('send/bulk')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: `Send up to ${MAX_BULK_MESSAGES} WhatsApp messages`,
    description: 'Each message is checked like POST /whatsapp/send (without immediate). Valid ones are stored and queued; invalid ones are reported in results with their index, and nothing is stored for them.',
  })
  @ApiAcceptedResponse({ type: BulkSendResponseDto, description: 'Checked; valid messages stored and queued (results in request order)' })
  @ApiBadRequestResponse({
    type: ErrorBodyDto,
    description: `Not { messages: [...] } with 1 to ${MAX_BULK_MESSAGES} messages (VALIDATION_FAILED), or the batch's sendAt is unreadable (VALIDATION_FAILED) or out of range (SEND_AT_OUT_OF_RANGE)`,
  })
  @ApiUnprocessableEntityResponse({ type: ErrorBodyDto, description: 'The Idempotency-Key was used with another body (IDEMPOTENCY_KEY_REUSED)' })
  @Idempotent(IdempotentRoute.BulkSend)
  sendBulk(@Body() dto: BulkSendDto, @CurrentUser() user: AuthenticatedUser, @CurrentIdempotencyClaim() claim: IdempotencyClaim | undefined): Promise<BulkSendResponseDto> {
    return this.bulkSend.send(dto.messages, user.id, claim, dto.sendAt);
  }

  @Get('delivery-status/:id')
  @ApiOperation({ summary: 'Where a message is: status, error, timestamps, delivery time', description: 'Accepts the message id or the Twilio SID.' })
  @ApiOkResponse({ type: DeliveryStatusDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such message (MESSAGE_NOT_FOUND)' })
  deliveryStatus(@Param('id') id: string, @CurrentUser() user: AuthenticatedUser): Promise<DeliveryStatusDto> {
    return this.messageQuery.getDeliveryStatus(id, user);
  }

  @Get('messages/:id/events')
  @ApiOperation({ summary: "A message's status history, as Twilio reported it" })
  @ApiOkResponse({ type: MessageEventDto, isArray: true })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  events(@Param('id') id: string, @CurrentUser() user: AuthenticatedUser): Promise<MessageEventDto[]> {
    return this.messageQuery.listEvents(id, user);
  }

  @Delete('messages/:id')
  @ApiOperation({
    summary: 'Cancel a message that has not reached Twilio',
    description:
      'A scheduled message before its time, or a queued one no worker has taken yet, becomes canceled and is never sent. Canceling a canceled message answers it again. Same as POST /whatsapp/messages/:id/cancel.',
  })
  @CancelAnswers()
  cancel(@Param('id') id: string, @CurrentUser() user: AuthenticatedUser): Promise<DeliveryStatusDto> {
    return this.cancels.cancel(id, user);
  }

  @Post('messages/:id/cancel')
  @ApiOperation({ summary: 'Cancel a message that has not reached Twilio', description: 'Same as DELETE /whatsapp/messages/:id, for clients that cannot send DELETE.' })
  @CancelAnswers()
  cancelByPost(@Param('id') id: string, @CurrentUser() user: AuthenticatedUser): Promise<DeliveryStatusDto> {
    return this.cancels.cancel(id, user);
  }

  @Get('messages')
  @ApiOperation({ summary: 'List messages, newest first', description: 'Admins see every message (inbound too); senders see the ones they sent. Cursor pagination.' })
  @ApiOkResponse({ type: MessagePageDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto })
  list(@Query() query: ListMessagesQueryDto, @CurrentUser() user: AuthenticatedUser): Promise<MessagePageDto> {
    return this.messageQuery.list(query, user);
  }

  @Get('contacts/:phone')
  @ApiOperation({ summary: "A WhatsApp user's 24-hour window and opt-out state" })
  @ApiOkResponse({ type: ContactDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'Not an E.164 number' })
  contact(@Param('phone') phone: string): Promise<ContactDto> {
    return this.contacts.describe(parseWhatsAppAddress(phone, 'phone').e164);
  }
}
