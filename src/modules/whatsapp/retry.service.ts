import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DomainEvents, DomainEventType, MessageStatusAppliedEvent } from '../../common/events/domain-events';
import { AppConfig } from '../../config/configuration';
import { OutboxWriter } from '../../database/outbox/outbox.writer';
import { describeTwilioError, operatorHint, RetryClass } from '../twilio/twilio-error-codes';
import { WhatsAppMessage } from './entities/whatsapp-message.entity';
import { RETRY_DEFAULT_LIMIT, RetryRequestDto, RetryResponseDto, RetrySkipDto, RetrySkipReason } from './dto/retry.dto';
import { sendMessageJob } from './jobs/whatsapp-jobs';
import { MessageDirection, MessageStatus } from './message-status';
import { RETRYABLE_STATUSES, WhatsAppMessageRepository } from './messages/whatsapp-message.repository';
import { phoneOf } from './phone-number';
import { ContactPolicyService } from './contact-policy.service';

const DEFAULT_WINDOW_MS = 24 * 60 * 60 * 1000;

/** A failure a new attempt can help with: not one Twilio's error table calls permanent. */
export function isRetryableFailure(errorCode: number | null): boolean {
  // No code: the service gave up (network, timeouts) before Twilio said anything final.
  if (errorCode === null) return true;
  const info = describeTwilioError(errorCode);
  return !!info && info.retryClass !== RetryClass.Permanent;
}

/**
 * New send attempts for failed messages. A retry is a new message linked to the original by
 * retryOf, so the original keeps its own history, status and error.
 */
@Injectable()
export class RetryService implements OnModuleInit {
  private readonly logger = new Logger(RetryService.name);

  constructor(
    private readonly messages: WhatsAppMessageRepository,
    private readonly outbox: OutboxWriter,
    private readonly events: DomainEvents,
    private readonly config: ConfigService<AppConfig, true>,
    private readonly contactPolicy: ContactPolicyService,
  ) {}

  onModuleInit(): void {
    this.events.on(DomainEventType.MessageStatusApplied, (event) => {
      void this.retryLaterIfWorthIt(event).catch((err: Error) => this.logger.error(`Automatic retry of ${event.messageId} failed: ${err.message}`));
    });
  }

  /**
   * "Retry once later" failures (30003: the handset was unreachable) get exactly one automatic
   * new attempt after WHATSAPP_RETRY_LATER_MS; the retry itself is never retried automatically.
   */
  private async retryLaterIfWorthIt(event: MessageStatusAppliedEvent): Promise<void> {
    if (!event.statusChanged || !(RETRYABLE_STATUSES as readonly string[]).includes(event.status)) return;
    if (describeTwilioError(event.errorCode)?.retryClass !== RetryClass.RetryOnceLater) return;
    const original = await this.messages.findById(event.messageId);
    if (!original || original.retryOf || original.direction !== MessageDirection.Outbound) return;
    const delayMs = this.config.get('whatsapp', { infer: true }).retryLaterMs;
    const created = await this.createRetries([original], delayMs);
    if (created.length > 0) this.logger.log(`Message ${original.id} failed with ${event.errorCode}: retrying once in ${delayMs} ms as ${created[0].retryId}`);
  }

  async retryFailed(request: RetryRequestDto): Promise<RetryResponseDto> {
    const limit = request.limit ?? RETRY_DEFAULT_LIMIT;
    const skipped: RetrySkipDto[] = [];
    let candidates: WhatsAppMessage[];
    if (request.ids?.length) {
      const ids = [...new Set(request.ids)].slice(0, limit);
      candidates = await this.messages.findByIds(ids);
      const found = new Set(candidates.map((m) => m.id));
      for (const id of ids) if (!found.has(id)) skipped.push({ id, reason: RetrySkipReason.NotFound });
    } else {
      const since = request.since ? new Date(request.since) : new Date(Date.now() - DEFAULT_WINDOW_MS);
      candidates = await this.messages.findRetryableFailures({ since, errorCodes: request.errorCodes, limit });
    }

    const alreadyRetried = await this.messages.retriedAmong(candidates.map((m) => m.id));
    const optedOut = await this.contactPolicy.optedOutAmong([...new Set(candidates.map((m) => phoneOf(m.to)))]);

    const toRetry: WhatsAppMessage[] = [];
    for (const m of candidates) {
      const reason =
        m.direction !== MessageDirection.Outbound
          ? RetrySkipReason.Inbound
          : !RETRYABLE_STATUSES.includes(m.status)
            ? RetrySkipReason.NotFailed
            : !isRetryableFailure(m.errorCode)
              ? RetrySkipReason.PermanentFailure
              : alreadyRetried.has(m.id)
                ? RetrySkipReason.AlreadyRetried
                : optedOut.has(phoneOf(m.to))
                  ? RetrySkipReason.RecipientOptedOut
                  : null;
      if (reason) skipped.push({ id: m.id, reason, errorCode: m.errorCode, ...(operatorHint(m.errorCode) ? { hint: operatorHint(m.errorCode) } : {}) });
      else toRetry.push(m);
    }
    const retries = await this.createRetries(toRetry, 0);
    return { success: true, retried: retries.length, retries, skipped };
  }

  /** One new queued message (and its outbox job) per original, in one transaction. */
  async createRetries(originals: WhatsAppMessage[], delayMs: number): Promise<{ id: string; retryId: string }[]> {
    if (originals.length === 0) return [];
    const now = new Date();
    const senderOf = new Map(originals.map((o) => [o.id, o.from]));
    return this.messages.transaction(async (tx) => {
      const rows = await this.messages.insert(
        tx,
        // A concurrent request that already retried an original wins: its row is skipped here.
        originals.map((o) => ({
          direction: MessageDirection.Outbound,
          from: o.from,
          to: o.to,
          body: o.body,
          mediaUrls: o.mediaUrls,
          contentSid: o.contentSid,
          contentVariables: o.contentVariables,
          // The retry answers to the same reference, so the client finds it where it looks.
          clientReference: o.clientReference,
          metadata: o.metadata,
          status: MessageStatus.Queued,
          queuedAt: now,
          createdBy: o.createdBy,
          retryOf: o.id,
        })),
      );
      await this.outbox.add(
        tx,
        rows.map((r) => sendMessageJob({ id: r.id, from: senderOf.get(r.retryOf!)! }, delayMs > 0 ? { availableAt: new Date(now.getTime() + delayMs) } : {})),
      );
      return rows.map((r) => ({ id: r.retryOf!, retryId: r.id }));
    });
  }
}
