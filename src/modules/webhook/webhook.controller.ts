import { Controller, Get, Header, HttpCode, HttpStatus, Post, Req, UseGuards } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiForbiddenResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { ErrorBodyDto } from '../../common/http/error-body.dto';
import { InboundMessageService } from '../whatsapp/inbound-message.service';
import { TwilioSignatureGuard, TwilioWebhook, VerifiedRequest, WebhookKind } from './guards/twilio-signature.guard';
import { StatusCallbackService } from './status-callback.service';

/** Empty TwiML: tells Twilio not to reply to the user on our behalf. */
export const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

function paramsOf(req: VerifiedRequest): Record<string, string> {
  const source = req.method === 'GET' ? req.query : req.body;
  return source && typeof source === 'object' ? (source as Record<string, string>) : {};
}

@ApiTags('twilio webhooks')
@ApiHeader({ name: 'X-Twilio-Signature', required: true, description: "Twilio's HMAC signature of the URL and parameters" })
@ApiForbiddenResponse({ type: ErrorBodyDto, description: 'Missing or invalid signature (INVALID_TWILIO_SIGNATURE); nothing is stored' })
@SkipThrottle()
@UseGuards(TwilioSignatureGuard)
@Controller('whatsapp')
export class WebhookController {
  constructor(
    private readonly statusCallbacks: StatusCallbackService,
    private readonly inbound: InboundMessageService,
  ) {}

  @Post('status')
  @HttpCode(HttpStatus.OK)
  @TwilioWebhook(WebhookKind.Status)
  @ApiOperation({ summary: 'Twilio status callback (StatusCallback URL)', description: 'Form-encoded as Twilio sends it. Duplicates and unknown SIDs answer 200.' })
  @ApiOkResponse({ description: 'Stored (or a duplicate)' })
  async status(@Req() req: VerifiedRequest): Promise<{ received: true; outcome: string }> {
    const result = await this.statusCallbacks.handle(paramsOf(req), req.twilioTokenIndex ?? null);
    return { received: true, outcome: result.outcome };
  }

  @Post('webhook')
  @HttpCode(HttpStatus.OK)
  @Header('Content-Type', 'text/xml')
  @TwilioWebhook(WebhookKind.Inbound)
  @ApiOperation({ summary: 'Twilio incoming message webhook', description: 'Stores the message and answers empty TwiML.' })
  @ApiOkResponse({ description: 'Empty TwiML <Response/>' })
  async incoming(@Req() req: VerifiedRequest): Promise<string> {
    await this.inbound.receive(paramsOf(req));
    return EMPTY_TWIML;
  }

  /**
   * A GET on the webhook URLs (a browser, a load balancer, the monitor) answers 200 when signed
   * and 403 when not, never 404: reachability checks can tell "up" apart from "missing".
   */
  @Get('status')
  @Header('Content-Type', 'text/xml')
  @TwilioWebhook(WebhookKind.Status)
  @ApiExcludeEndpoint()
  probeStatus(): string {
    return EMPTY_TWIML;
  }

  @Get('webhook')
  @Header('Content-Type', 'text/xml')
  @TwilioWebhook(WebhookKind.Inbound)
  @ApiExcludeEndpoint()
  probeInbound(): string {
    return EMPTY_TWIML;
  }
}
