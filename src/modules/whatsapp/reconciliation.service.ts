import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { OutboxWriter } from '../../database/outbox/outbox.writer';
import { sendMessageJob } from '../queue/queue.types';
import { RetryClass, TWILIO_ERROR_CODES } from '../twilio/twilio-error-codes';
import { RetryService } from './retry.service';
import { AppConfig } from '../../config/configuration';
import { DomainEvents } from '../../common/events/domain-events';
import { TwilioProvider } from '../twilio/twilio.provider';
import { WhatsAppMessage } from './entities/whatsapp-message.entity';
import { EventSource, MessageLifecycleService } from './lifecycle/message-lifecycle.service';
import { STATUS_TABLE } from './lifecycle/status-transitions';
import { MessageDispatchService, UndecidableLookupError } from './message-dispatch.service';
import { MessageStatus } from './message-status';

/** A lost automatic retry is looked for this long after it was due, and for this far back. */
const MISSED_RETRY_GRACE_MS = 60_000;
const MISSED_RETRY_HORIZON_MS = 7 * 24 * 60 * 60 * 1000;

/** Per run, so one pass stays short and Twilio's API is not flooded. */
const BATCH = 100;
const UNSETTLED: MessageStatus[] = [MessageStatus.Queued, MessageStatus.Accepted, MessageStatus.Scheduled, MessageStatus.Sending, MessageStatus.Sent];

export interface ReconcileReport {
  fetched: number;
  changed: number;
  recovered: number;
  /** Sent again: stalled, or not found at Twilio after an unanswered attempt, or a lost later retry. */
  requeued: number;
  /** Left queued: several look-alike unanswered messages, an operator must check Twilio's log. */
  undecided: number;
  failedUnknown: number;
  earlyEventsApplied: number;
  errors: number;
}

/**
 * Catches what callbacks missed: messages stuck short of a final status are fetched from Twilio
 * and corrected through the same lifecycle rules; sends whose outcome was never heard are
 * looked up; callbacks that arrived before their SID are applied.
 */
@Injectable()
export class ReconciliationService {
  private readonly logger = new Logger(ReconciliationService.name);

  constructor(
    @InjectRepository(WhatsAppMessage) private readonly messages: Repository<WhatsAppMessage>,
    private readonly twilio: TwilioProvider,
    private readonly lifecycle: MessageLifecycleService,
    private readonly dispatcher: MessageDispatchService,
    private readonly config: ConfigService<AppConfig, true>,
    private readonly events: DomainEvents,
    private readonly outbox: OutboxWriter,
    private readonly retries: RetryService,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  async reconcileOnce(olderThanMs = this.config.get('whatsapp', { infer: true }).reconcileAfterMs): Promise<ReconcileReport> {
    const report: ReconcileReport = { fetched: 0, changed: 0, recovered: 0, requeued: 0, undecided: 0, failedUnknown: 0, earlyEventsApplied: 0, errors: 0 };
    const cutoff = new Date(Date.now() - olderThanMs);
    await this.refreshStuck(cutoff, report);
    await this.resolveUnanswered(cutoff, report);
    await this.requeueStalled(cutoff, report);
    await this.retryLaterMissed(report);
    await this.applyEarlyEvents(report);
    if (report.changed + report.recovered + report.requeued + report.failedUnknown + report.earlyEventsApplied > 0) {
      this.logger.log(`Reconciliation: ${JSON.stringify(report)}`);
    }
    return report;
  }

  /** Messages Twilio has, whose status has not moved for a while: ask Twilio where they are. */
  private async refreshStuck(cutoff: Date, report: ReconcileReport): Promise<void> {
    const stuck = await this.messages
      .createQueryBuilder('m')
      .where(`m.direction = 'outbound' AND m.status IN (:...statuses) AND m."messageSid" IS NOT NULL AND m."updatedAt" < :cutoff`, { statuses: UNSETTLED, cutoff })
      .orderBy('m.updatedAt', 'ASC')
      .limit(BATCH)
      .getMany();
    for (const message of stuck) {
      try {
        const snapshot = await this.twilio.fetchMessage(message.messageSid!);
        report.fetched++;
        const before = message.status;
        // Twilio's date_sent says when it was sent even if that callback was lost.
        if (snapshot.dateSent && STATUS_TABLE[snapshot.status as MessageStatus]?.rank >= STATUS_TABLE[MessageStatus.Sent].rank) {
          await this.lifecycle.applyStatusEvent({ messageSid: snapshot.sid, status: MessageStatus.Sent, source: EventSource.Reconcile, at: snapshot.dateSent, raw: { fetched: true } });
        }
        const result = await this.lifecycle.applyStatusEvent({
          messageSid: snapshot.sid,
          status: snapshot.status,
          errorCode: snapshot.errorCode,
          errorMessage: snapshot.errorMessage,
          source: EventSource.Reconcile,
          at: snapshot.dateUpdated ?? new Date(),
          raw: { fetched: true, status: snapshot.status, errorCode: snapshot.errorCode },
        });
        if ((result.message?.status ?? before) !== before) report.changed++;
        // Nothing new at Twilio either: touch it so the next run looks at others first.
        else await this.messages.update({ id: message.id }, { updatedAt: new Date() });
      } catch (err) {
        report.errors++;
        this.logger.warn(`Could not reconcile ${message.messageSid}: ${(err as Error).message}`);
      }
    }
  }

  /**
   * Sends whose answer never came (timeouts after the request left) and whose retries are over:
   * found at Twilio -> the SID is attached; not found -> the message failed, with its last error.
   */
  private async resolveUnanswered(cutoff: Date, report: ReconcileReport): Promise<void> {
    const unanswered = await this.messages
      .createQueryBuilder('m')
      .where(`m.status = :queued AND m."messageSid" IS NULL AND m."ambiguousAttemptAt" IS NOT NULL AND m."lastAttemptAt" < :cutoff`, { queued: MessageStatus.Queued, cutoff })
      .andWhere(`(m."sendingUntil" IS NULL OR m."sendingUntil" <= now())`)
      .orderBy('m.lastAttemptAt', 'ASC')
      .limit(BATCH)
      .getMany();
    for (const message of unanswered) {
      try {
        const earlier = await this.dispatcher.findEarlierSend(message);
        if (earlier) {
          await this.lifecycle.attachSid(message.id, earlier);
          await this.messages.update({ id: message.id }, { ambiguousAttemptAt: null });
          report.recovered++;
          continue;
        }
        // Twilio does not have it, so sending it is safe: queue it again, while the attempts stay
        // within twice the budget (beyond that the cause is not passing: fail it).
        if (message.attempts < 2 * this.config.get('whatsapp', { infer: true }).maxAttempts) {
          if (await this.requeue(message, cutoff, { clearUnanswered: true })) report.requeued++;
          continue;
        }
        // Only if no worker attempted it since: the condition guards against a racing send.
        const failedAt = new Date();
        const result = await this.messages
          .createQueryBuilder()
          .update(WhatsAppMessage)
          .set({ status: MessageStatus.Failed, failedAt, ambiguousAttemptAt: null, errorMessage: `${message.errorMessage ?? 'No answer from Twilio'} (not found at Twilio afterwards)` })
          .where(`id = :id AND status = :queued AND "messageSid" IS NULL AND attempts = :attempts AND ("sendingUntil" IS NULL OR "sendingUntil" <= now())`, {
            id: message.id,
            queued: MessageStatus.Queued,
            attempts: message.attempts,
          })
          .execute();
        if (result.affected) {
          report.failedUnknown++;
          this.events.publish(MessageLifecycleService.appliedEvent({ ...message, status: MessageStatus.Failed, failedAt } as WhatsAppMessage, message.status, true));
        }
      } catch (err) {
        if (err instanceof UndecidableLookupError) {
          report.undecided++;
          continue;
        }
        // One bad row must not stop the rest of the pass.
        report.errors++;
        this.logger.warn(`Could not look up unanswered message ${message.id}: ${(err as Error).message}`);
      }
    }
  }

  /**
   * Messages accepted but no longer on their way: never attempted, or last attempted long ago
   * with no job left (a job that ran out of attempts on a database outage, a Redis that lost its
   * data). They get a new job; the dispatcher's claim keeps a surviving old job from sending too.
   */
  private async requeueStalled(cutoff: Date, report: ReconcileReport): Promise<void> {
    const stalled = await this.messages
      .createQueryBuilder('m')
      .where(`m.direction = 'outbound' AND m.status = :queued AND m."messageSid" IS NULL AND m."ambiguousAttemptAt" IS NULL`, { queued: MessageStatus.Queued })
      .andWhere(`COALESCE(m."lastAttemptAt", m."createdAt") < :cutoff`, { cutoff })
      .andWhere(`NOT EXISTS (SELECT 1 FROM outbox o WHERE o.payload->>'messageId' = m.id::text)`)
      .orderBy('m.createdAt', 'ASC')
      .limit(BATCH)
      .getMany();
    for (const message of stalled) if (await this.requeue(message, cutoff, { clearUnanswered: false })) report.requeued++;
  }

  /** A new send job for a queued message, unless a worker touched it since `cutoff`. */
  private async requeue(message: WhatsAppMessage, cutoff: Date, opts: { clearUnanswered: boolean }): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      const touched = await manager
        .createQueryBuilder()
        .update(WhatsAppMessage)
        .set(opts.clearUnanswered ? { ambiguousAttemptAt: null } : { updatedAt: () => 'now()' })
        .where(`id = :id AND status = :queued AND "messageSid" IS NULL AND attempts = :attempts AND COALESCE("lastAttemptAt", "createdAt") < :cutoff AND ("sendingUntil" IS NULL OR "sendingUntil" <= now())`, {
          id: message.id,
          queued: MessageStatus.Queued,
          attempts: message.attempts,
          cutoff,
        })
        .execute();
      if (!touched.affected) return false;
      await this.outbox.add(manager, [sendMessageJob(message.id, { attemptSuffix: message.attempts })]);
      this.logger.warn(`Message ${message.id} was stuck in queued (attempts: ${message.attempts}); queued again`);
      return true;
    });
  }

  /**
   * The one automatic later retry of "retry once later" failures (30003) is created when the
   * failure arrives; this catches one that a crash at that moment lost.
   */
  private async retryLaterMissed(report: ReconcileReport): Promise<void> {
    const { retryLaterMs } = this.config.get('whatsapp', { infer: true });
    const codes = Object.values(TWILIO_ERROR_CODES)
      .filter((info) => info.retryClass === RetryClass.RetryOnceLater)
      .map((info) => info.code);
    const missed = await this.messages
      .createQueryBuilder('m')
      .where(`m.direction = 'outbound' AND m.status IN (:...statuses) AND m."errorCode" IN (:...codes) AND m."retryOf" IS NULL`, {
        statuses: [MessageStatus.Failed, MessageStatus.Undelivered],
        codes,
      })
      .andWhere(`m."failedAt" < :before`, { before: new Date(Date.now() - retryLaterMs - MISSED_RETRY_GRACE_MS) })
      .andWhere(`m."failedAt" > :since`, { since: new Date(Date.now() - MISSED_RETRY_HORIZON_MS) })
      .andWhere(`NOT EXISTS (SELECT 1 FROM "WhatsAppMessage" r WHERE r."retryOf" = m.id)`)
      .limit(BATCH)
      .getMany();
    if (missed.length > 0) report.requeued += (await this.retries.createRetries(missed, 0)).length;
  }

  private async applyEarlyEvents(report: ReconcileReport): Promise<void> {
    const rows: { id: string }[] = await this.messages.query(
      `SELECT DISTINCT m.id FROM message_events e JOIN "WhatsAppMessage" m ON m."messageSid" = e."messageSid"
        WHERE e."messageId" IS NULL LIMIT $1`,
      [BATCH],
    );
    for (const { id } of rows) report.earlyEventsApplied += await this.lifecycle.applyPendingEvents(id);
  }
}
