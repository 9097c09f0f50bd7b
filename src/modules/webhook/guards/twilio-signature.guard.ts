import { CanActivate, ExecutionContext, Injectable, Logger, SetMetadata } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { DomainException } from '../../../common/errors/domain.exception';
import { ErrorCode } from '../../../common/errors/error-code';
import { AppConfig } from '../../../config/configuration';
import { publicWebhookUrl, SignatureCheck, SignedRequest, verifyTwilioSignature } from '../twilio-signature.verifier';
import { DomainEvents, DomainEventType } from '../../../common/events/domain-events';
import { LogSampler, truncateForLog } from '../../../common/logging/log-sampler';
import { checkWebhookParams, WebhookExpectations } from '../webhook-params';

export enum WebhookKind {
  Status = 'status',
  Inbound = 'inbound',
}
export const WEBHOOK_KIND = 'twilio-webhook-kind';
export const TwilioWebhook = (kind: WebhookKind) => SetMetadata(WEBHOOK_KIND, kind);

export type VerifiedRequest = FastifyRequest & { twilioTokenIndex?: number | null; rawBody?: Buffer };

/** `#...` of a URL, or ''. */
function fragmentOf(url: string): string {
  const i = url.indexOf('#');
  return i >= 0 ? url.slice(i) : '';
}

/**
 * Twilio adds nothing to the query string but bodySHA256 (64 hex characters) to the URL configured
 * at Twilio; a longer query is not Twilio's, and is refused before it is hashed or logged.
 */
export const MAX_WEBHOOK_QUERY_LENGTH = 2048;
/** Refused webhooks are logged at most this often per process: webhooks have no rate limit. */
const REFUSAL_LOG_LINES = 20;
const REFUSAL_LOG_WINDOW_MS = 60_000;

@Injectable()
export class TwilioSignatureGuard implements CanActivate {
  private readonly logger = new Logger('TwilioSignature');
  private readonly refusalLog = new LogSampler(REFUSAL_LOG_LINES, REFUSAL_LOG_WINDOW_MS);
  private readonly expectations: WebhookExpectations;
  /** Per webhook, which form of its URL (0: with the connection overrides' fragment, 1: without) the last good signature was for. */
  private readonly lastMatchedForm = new Map<WebhookKind, number>();

  constructor(
    private readonly reflector: Reflector,
    private readonly config: ConfigService<AppConfig, true>,
    private readonly events: DomainEvents,
  ) {
    const twilio = this.config.get('twilio', { infer: true });
    this.expectations = {
      accountSid: twilio.credentials?.accountSid ?? twilio.sandbox.accountSid,
      // A Messaging Service sends from numbers of its own pool, which the service is not told.
      senders: twilio.messagingServiceSid ? [] : twilio.whatsappFrom,
    };
  }

  canActivate(context: ExecutionContext): boolean {
    const kind = this.reflector.getAllAndOverride<WebhookKind>(WEBHOOK_KIND, [context.getHandler(), context.getClass()]);
    const req = context.switchToHttp().getRequest<VerifiedRequest>();
    const twilio = this.config.get('twilio', { infer: true });
    const configured = kind === WebhookKind.Status ? twilio.statusCallbackUrl : twilio.webhookUrl;
    const query = req.url.indexOf('?');
    if (query >= 0 && req.url.length - query - 1 > MAX_WEBHOOK_QUERY_LENGTH) {
      this.logRefusal(`Refused ${kind} webhook from ${req.ip}: query string of ${req.url.length - query - 1} characters`);
      throw new DomainException(ErrorCode.WebhookUrlTooLong, `The webhook URL's query string is longer than ${MAX_WEBHOOK_QUERY_LENGTH} characters`);
    }
    const url = publicWebhookUrl(configured, req.url);
    // Twilio signs the URL it was given, connection overrides (#fragment) included, though the
    // fragment never travels over HTTP; a callback URL configured at Twilio without them is
    // signed without one.
    const fragment = kind === WebhookKind.Status ? fragmentOf(twilio.statusCallbackTarget) : '';
    const header = req.headers['x-twilio-signature'];
    const signature = Array.isArray(header) ? header[0] : header;
    const isJson = (req.headers['content-type'] ?? '').includes('application/json');
    const params = !isJson && req.body && typeof req.body === 'object' ? (req.body as Record<string, string>) : {};

    const signed = { signature, params, rawJsonBody: isJson ? (req.rawBody?.toString('utf8') ?? '') : undefined };
    const check = this.verify(kind, signed, fragment ? [`${url}${fragment}`, url] : [url], twilio.webhookAuthTokens);
    if (check.valid) {
      req.twilioTokenIndex = check.tokenIndex;
      this.events.publish({ type: DomainEventType.WebhookVerified, kind, ok: true, reason: null, tokenIndex: check.tokenIndex });
      if (check.tokenIndex > 0) {
        this.logger.warn(`Webhook signed with previous auth token #${check.tokenIndex}: finish the rotation once Twilio uses the new token`);
      }
      this.assertAcceptable(kind, req);
      return true;
    }
    if (!twilio.forceVerify && !signature) {
      // Allowed outside production only (the configuration refuses FORCE_TWILIO_VERIFY=false there).
      this.events.publish({ type: DomainEventType.WebhookVerified, kind, ok: true, reason: 'unsigned_allowed', tokenIndex: null });
      this.logger.warn(`UNSIGNED ${kind} webhook accepted because FORCE_TWILIO_VERIFY=false: never run like this in production`);
      req.twilioTokenIndex = null;
      this.assertAcceptable(kind, req);
      return true;
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      // A reachability probe (npm run monitor, a load balancer): it carries nothing to store, so
      // it is refused without counting as a signature failure or raising the "in a row" alert.
      this.logger.debug(`Unsigned ${req.method} on the ${kind} webhook from ${req.ip}: answered 403`);
    } else {
      this.events.publish({ type: DomainEventType.WebhookVerified, kind, ok: false, reason: check.reason, tokenIndex: null });
      // At error level so it reaches error.log: a wrong token or URL loses Twilio's callbacks.
      this.logRefusal(`Rejected ${kind} webhook from ${req.ip}: signature ${check.reason} (url checked: ${truncateForLog(url)})`, 'error');
    }
    throw new DomainException(ErrorCode.InvalidSignature, 'Invalid or missing X-Twilio-Signature', { reason: check.reason });
  }

  /**
   * Checks the signature against each form of the URL Twilio may have signed (`urls`, always in
   * the same order), the form that matched last time first: a deployment's callbacks are all signed one way, and a URL that does not match costs
   * the twilio package up to six HMACs (it tries the URL with and without the port, as received
   * and normalized) before the next one is tried.
   */
  private verify(kind: WebhookKind, signed: Omit<SignedRequest, 'url'>, urls: readonly string[], tokens: readonly string[]): SignatureCheck {
    const last = this.lastMatchedForm.get(kind) ?? 0;
    const order = last > 0 && last < urls.length ? [last, ...urls.keys()].filter((i, n) => n === 0 || i !== last) : [...urls.keys()];
    const results: SignatureCheck[] = [];
    for (const form of order) {
      const result = verifyTwilioSignature({ ...signed, url: urls[form] }, tokens);
      if (result.valid) {
        this.lastMatchedForm.set(kind, form);
        return result;
      }
      results[form] = result;
    }
    // Refused: the reason is the plain URL's (the last form given).
    return results[urls.length - 1];
  }

  /** A signed webhook still has to be well formed and ours (see checkWebhookParams); GET probes carry no message. */
  private assertAcceptable(kind: WebhookKind, req: VerifiedRequest): void {
    if (req.method !== 'POST') return;
    const params = req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {};
    const refusal = checkWebhookParams(kind, params, this.expectations);
    if (!refusal) return;
    this.events.publish({ type: DomainEventType.WebhookRefused, kind, reason: refusal.reason });
    this.logRefusal(`Refused signed ${kind} webhook from ${req.ip}: ${refusal.reason} (${refusal.field}) [${req.id}]`);
    throw new DomainException(refusal.code, refusal.message, { field: refusal.field, reason: refusal.reason });
  }

  private logRefusal(line: string, level: 'warn' | 'error' = 'warn'): void {
    this.refusalLog.log((l) => this.logger[level](l), line);
  }
}
