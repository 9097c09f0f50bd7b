import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Webhook } from 'standardwebhooks';
import { AppConfig } from '../../config/configuration';
import { DeliveryStatus } from './entities/webhook-delivery.entity';
import { nextRetryDelayMs } from './retry-schedule';
import { WebhookDeliveryRepository } from './webhook-delivery.repository';
import { WebhookHttpSender } from './webhook-http-sender';
import { WebhookSubscriptionCache } from './webhook-subscription-cache';

/** An attempt's lease outlasts its timeout by this much, so a slow commit does not let a second attempt in. */
const LEASE_MARGIN_MS = 30_000;

export enum AttemptOutcome {
  Succeeded = 'succeeded',
  /** Failed; retried later, or given up (see the delivery's status). */
  Failed = 'failed',
  /** Nothing to do now: not due, settled, waiting behind an earlier event, or its subscription is disabled. */
  Skipped = 'skipped',
}

/**
 * Attempts deliveries: signed per Standard Webhooks, retried on the configured schedule, one at a
 * time per message and subscription, and a subscription disabled after a run of failures.
 */
@Injectable()
export class WebhookDeliveryService {
  private readonly logger = new Logger(WebhookDeliveryService.name);

  constructor(
    private readonly deliveries: WebhookDeliveryRepository,
    private readonly sender: WebhookHttpSender,
    private readonly cache: WebhookSubscriptionCache,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  async attempt(deliveryId: string): Promise<AttemptOutcome> {
    const settings = this.config.get('outboundWebhooks', { infer: true });
    const claimed = await this.deliveries.claim(deliveryId, settings.timeoutMs + LEASE_MARGIN_MS);
    if (!claimed) {
      // Another attempt holds it (or held it and crashed): look again once its lease ends.
      const heldUntil = await this.deliveries.heldUntil(deliveryId);
      if (heldUntil) await this.deliveries.scheduleAttempt(undefined, deliveryId, new Date(heldUntil.getTime() + 1000));
      return AttemptOutcome.Skipped;
    }

    const startedAt = new Date();
    const headers = signedHeaders(claimed.secrets, claimed.eventId, startedAt, claimed.body);
    const sent = await this.sender.post(claimed.url, headers, claimed.body, {
      timeoutMs: settings.timeoutMs,
      policy: { allowPrivate: settings.allowPrivateUrls, requireHttps: settings.requireHttps },
    });
    const retryInMs = sent.ok ? null : nextRetryDelayMs(settings.retryScheduleMs, claimed.attempts + 1);
    const disabledReason = await this.deliveries.transaction(async (tx) => {
      const { status } = await this.deliveries.recordAttempt(tx, claimed, { startedAt, ...sent, retryInMs });
      const attempts = claimed.attempts + 1;
      return this.deliveries.countOutcome(tx, claimed.subscriptionId, sent.ok, {
        now: status === DeliveryStatus.Failed,
        afterFailures: settings.disableAfterFailures,
        reasons: {
          exhausted: `Delivery ${claimed.id} (event ${claimed.eventId}) failed all ${attempts} attempts of the retry schedule; last: ${sent.error}`,
          run: `${settings.disableAfterFailures} consecutive failed attempts; last: ${sent.error}`,
        },
      });
    });
    if (disabledReason) {
      this.logger.warn(`Webhook subscription ${claimed.subscriptionId} disabled: ${disabledReason}`);
      await this.cache.reload();
    }
    return sent.ok ? AttemptOutcome.Succeeded : AttemptOutcome.Failed;
  }
}

/**
 * The Standard Webhooks headers of one attempt: webhook-signature is v1,<base64 HMAC-SHA256 of
 * "id.timestamp.body">, once per secret, space-separated (after a rotation a receiver still holding
 * the old secret verifies too).
 */
export function signedHeaders(secrets: readonly string[], eventId: string, at: Date, body: string): Record<string, string> {
  return {
    'webhook-id': eventId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': secrets.map((secret) => new Webhook(secret).sign(eventId, at, body)).join(' '),
  };
}
