import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AppConfig } from '../../config/configuration';
import { DomainEvents } from '../../common/events/domain-events';
import { TwilioProvider } from '../twilio/twilio.provider';
import { TwilioRequestError } from '../twilio/twilio.types';
import { WhatsAppMessage } from './entities/whatsapp-message.entity';
import { EventSource, MessageLifecycleService } from './lifecycle/message-lifecycle.service';
import { STATUS_TABLE } from './lifecycle/status-transitions';
import { MessageDispatchService } from './message-dispatch.service';
import { MessageStatus } from './message-status';

/** Per run, so one pass stays short and Twilio's API is not flooded. */
const BATCH = 100;
const UNSETTLED: MessageStatus[] = [MessageStatus.Queued, MessageStatus.Accepted, MessageStatus.Scheduled, MessageStatus.Sending, MessageStatus.Sent];

export interface ReconcileReport {
  fetched: number;
  changed: number;
  recovered: number;
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
  ) {}

  async reconcileOnce(olderThanMs = this.config.get('whatsapp', { infer: true }).reconcileAfterMs): Promise<ReconcileReport> {
    const report: ReconcileReport = { fetched: 0, changed: 0, recovered: 0, failedUnknown: 0, earlyEventsApplied: 0, errors: 0 };
    const cutoff = new Date(Date.now() - olderThanMs);
    await this.refreshStuck(cutoff, report);
    await this.resolveUnanswered(cutoff, report);
    await this.applyEarlyEvents(report);
    if (report.changed + report.recovered + report.failedUnknown + report.earlyEventsApplied > 0) {
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
        // Only if no worker attempted it since: the claim condition guards against a racing send.
        const failedAt = new Date();
        const result = await this.messages
          .createQueryBuilder()
          .update(WhatsAppMessage)
          .set({ status: MessageStatus.Failed, failedAt, ambiguousAttemptAt: null, errorMessage: `${message.errorMessage ?? 'No answer from Twilio'} (not found at Twilio afterwards)` })
          .where(`id = :id AND status = :queued AND "messageSid" IS NULL AND "lastAttemptAt" < :cutoff`, { id: message.id, queued: MessageStatus.Queued, cutoff })
          .execute();
        if (result.affected) {
          report.failedUnknown++;
          this.events.publish(MessageLifecycleService.appliedEvent({ ...message, status: MessageStatus.Failed, failedAt } as WhatsAppMessage, message.status, true));
        }
      } catch (err) {
        report.errors++;
        if (!(err instanceof TwilioRequestError)) throw err;
        this.logger.warn(`Could not look up unanswered message ${message.id}: ${err.message}`);
      }
    }
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
