import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, In, Repository } from 'typeorm';
import { DomainEvents, DomainEventType, MessageStatusAppliedEvent } from '../../common/events/domain-events';
import { AppConfig } from '../../config/configuration';
import { OutboxWriter } from '../../database/outbox/outbox.writer';
import { sendMessageJob } from '../queue/queue.types';
import { describeTwilioError, operatorHint, RetryClass } from '../twilio/twilio-error-codes';
import { WhatsAppMessage } from './entities/whatsapp-message.entity';
import { RETRY_DEFAULT_LIMIT, RetryRequestDto, RetryResponseDto, RetrySkipDto, RetrySkipReason } from './dto/retry.dto';
import { MessageDirection, MessageStatus } from './message-status';
import { phoneOf } from './phone-number';
import { ContactPolicyService } from './contact-policy.service';

const RETRYABLE_STATUSES = [MessageStatus.Failed, MessageStatus.Undelivered];
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
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRepository(WhatsAppMessage) private readonly messages: Repository<WhatsAppMessage>,
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
    if (!event.statusChanged || !RETRYABLE_STATUSES.includes(event.status as MessageStatus)) return;
    if (describeTwilioError(event.errorCode)?.retryClass !== RetryClass.RetryOnceLater) return;
    const original = await this.messages.findOne({ where: { id: event.messageId } });
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
      candidates = await this.messages.find({ where: { id: In(ids) } });
      const found = new Set(candidates.map((m) => m.id));
      for (const id of ids) if (!found.has(id)) skipped.push({ id, reason: RetrySkipReason.NotFound });
    } else {
      const since = request.since ? new Date(request.since) : new Date(Date.now() - DEFAULT_WINDOW_MS);
      const qb = this.messages
        .createQueryBuilder('m')
        .where(`m.direction = 'outbound' AND m.status IN (:...statuses) AND m."createdAt" >= :since`, { statuses: RETRYABLE_STATUSES, since })
        .andWhere(`NOT EXISTS (SELECT 1 FROM "WhatsAppMessage" r WHERE r."retryOf" = m.id)`)
        .orderBy('m.createdAt', 'ASC')
        .limit(limit);
      if (request.errorCodes?.length) qb.andWhere(`m."errorCode" IN (:...codes)`, { codes: request.errorCodes });
      candidates = await qb.getMany();
    }

    const alreadyRetried = new Set(
      candidates.length === 0
        ? []
        : (await this.messages.find({ where: { retryOf: In(candidates.map((m) => m.id)) }, select: { retryOf: true } })).map((r) => r.retryOf!),
    );
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
    return this.dataSource.transaction(async (manager) => {
      const inserted = await manager
        .createQueryBuilder()
        .insert()
        .into(WhatsAppMessage)
        .values(
          originals.map((o) => ({
            direction: MessageDirection.Outbound,
            from: o.from,
            to: o.to,
            body: o.body,
            mediaUrls: o.mediaUrls,
            contentSid: o.contentSid,
            contentVariables: o.contentVariables ?? undefined,
            status: MessageStatus.Queued,
            queuedAt: now,
            createdBy: o.createdBy,
            retryOf: o.id,
          })),
        )
        .orIgnore() // a concurrent request already retried it
        .returning(['id', 'retryOf'])
        .execute();
      const rows = inserted.raw as { id: string; retryOf: string }[];
      await this.outbox.add(
        manager,
        rows.map((r) => sendMessageJob(r.id, delayMs > 0 ? { availableAt: new Date(now.getTime() + delayMs) } : {})),
      );
      return rows.map((r) => ({ id: r.retryOf, retryId: r.id }));
    });
  }
}
