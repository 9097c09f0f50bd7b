import { CanActivate, ExecutionContext, Injectable, Logger, SetMetadata } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { DomainException } from '../../../common/errors/domain.exception';
import { ErrorCode } from '../../../common/errors/error-code';
import { AppConfig } from '../../../config/configuration';
import { publicWebhookUrl, verifyTwilioSignature } from '../twilio-signature.verifier';
import { DomainEvents, DomainEventType } from '../../../common/events/domain-events';

export enum WebhookKind {
  Status = 'status',
  Inbound = 'inbound',
}
export const WEBHOOK_KIND = 'twilio-webhook-kind';
export const TwilioWebhook = (kind: WebhookKind) => SetMetadata(WEBHOOK_KIND, kind);

export type VerifiedRequest = FastifyRequest & { twilioTokenIndex?: number | null; rawBody?: Buffer };

@Injectable()
export class TwilioSignatureGuard implements CanActivate {
  private readonly logger = new Logger('TwilioSignature');

  constructor(
    private readonly reflector: Reflector,
    private readonly config: ConfigService<AppConfig, true>,
    private readonly events: DomainEvents,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const kind = this.reflector.getAllAndOverride<WebhookKind>(WEBHOOK_KIND, [context.getHandler(), context.getClass()]);
    const req = context.switchToHttp().getRequest<VerifiedRequest>();
    const twilio = this.config.get('twilio', { infer: true });
    const configured = kind === WebhookKind.Status ? twilio.statusCallbackUrl : twilio.webhookUrl;
    const url = publicWebhookUrl(configured, req.url);
    const header = req.headers['x-twilio-signature'];
    const signature = Array.isArray(header) ? header[0] : header;
    const isJson = (req.headers['content-type'] ?? '').includes('application/json');
    const params = !isJson && req.body && typeof req.body === 'object' ? (req.body as Record<string, string>) : {};

    const check = verifyTwilioSignature(
      { url, signature, params, rawJsonBody: isJson ? (req.rawBody?.toString('utf8') ?? '') : undefined },
      twilio.webhookAuthTokens,
    );
    if (check.valid) {
      req.twilioTokenIndex = check.tokenIndex;
      this.events.publish({ type: DomainEventType.WebhookVerified, kind, ok: true, reason: null, tokenIndex: check.tokenIndex });
      if (check.tokenIndex > 0) {
        this.logger.warn(`Webhook signed with previous auth token #${check.tokenIndex}: finish the rotation once Twilio uses the new token`);
      }
      return true;
    }
    if (!twilio.forceVerify && !signature) {
      // Allowed outside production only (the configuration refuses FORCE_TWILIO_VERIFY=false there).
      this.events.publish({ type: DomainEventType.WebhookVerified, kind, ok: true, reason: 'unsigned_allowed', tokenIndex: null });
      this.logger.warn(`UNSIGNED ${kind} webhook accepted because FORCE_TWILIO_VERIFY=false: never run like this in production`);
      req.twilioTokenIndex = null;
      return true;
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      // A reachability probe (npm run monitor, a load balancer): it carries nothing to store, so
      // it is refused without counting as a signature failure or raising the "in a row" alert.
      this.logger.debug(`Unsigned ${req.method} on the ${kind} webhook from ${req.ip}: answered 403`);
    } else {
      this.events.publish({ type: DomainEventType.WebhookVerified, kind, ok: false, reason: check.reason, tokenIndex: null });
      // At error level so it reaches error.log: a wrong token or URL loses Twilio's callbacks.
      this.logger.error(`Rejected ${kind} webhook from ${req.ip}: signature ${check.reason} (url checked: ${url})`);
    }
    throw new DomainException(ErrorCode.InvalidSignature, 'Invalid or missing X-Twilio-Signature', { reason: check.reason });
  }
}
