import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { OutboxWriter } from '../../database/outbox/outbox.writer';
import { PendingSendJobs } from './jobs/pending-send-jobs';
import { sendMessageJob } from './jobs/whatsapp-jobs';
import { RetryClass, TWILIO_ERROR_CODES } from '../twilio/twilio-error-codes';
import { RetryService } from './retry.service';
import { AppConfig } from '../../config/configuration';
import { MessageChangeHooks } from '../../common/events/message-change-hooks';
import { DomainEvents } from '../../common/events/domain-events';
import { TwilioMessagingClient } from '../twilio/twilio-messaging.client';
import { WhatsAppMessage } from './entities/whatsapp-message.entity';
import { EventSource, MessageLifecycleService } from './lifecycle/message-lifecycle.service';
import { STATUS_TABLE } from './lifecycle/status-transitions';
import { MessageDispatchService, UndecidableLookupError } from './message-dispatch.service';
import { MessageStatus } from './message-status';
import { WhatsAppMessageRepository } from './messages/whatsapp-message.repository';

/** A lost automatic retry is looked for this long after it was due, and for this far back. */
const MISSED_RETRY_GRACE_MS = 60_000;
const MISSED_RETRY_HORIZON_MS = 7 * 24 * 60 * 60 * 1000;

/** Per run, so one pass stays short and Twilio's API is not flooded. */
const BATCH = 100;

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
    private readonly messages: WhatsAppMessageRepository,
    private readonly twilio: TwilioMessagingClient,
    private readonly lifecycle: MessageLifecycleService,
    private readonly dispatcher: MessageDispatchService,
    private readonly config: ConfigService<AppConfig, true>,
    private readonly events: DomainEvents,
    private readonly outbox: OutboxWriter,
    private readonly retries: RetryService,
    private readonly pendingJobs: PendingSendJobs,
    private readonly hooks: MessageChangeHooks,
  ) {}

  async reconcileOnce(olderThanMs = this.config.get('whatsapp', { infer: true }).reconcileAfterMs): Promise<ReconcileReport> {
    const report: ReconcileReport = { fetched: 0, changed: 0, recovered: 0, requeued: 0, undecided: 0, failedUnknown: 0, earlyEventsApplied: 0, errors: 0 };
    const cutoff = new Date(Date.now() - olderThanMs);
    await this.refreshStuck(cutoff, report);
    await this.refreshUnread(cutoff, report);
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
    await this.refresh(await this.messages.findStuckAtTwilio(cutoff, BATCH), report);
  }

  /**
   * Recent delivered messages that never reported `read`: WhatsApp reports reads, so one whose
   * read callback was lost would stay delivered for good. A separate batch, so they never crowd
   * out messages stuck earlier on their way.
   */
  private async refreshUnread(cutoff: Date, report: ReconcileReport): Promise<void> {
    const windowMs = this.config.get('whatsapp', { infer: true }).reconcileReadWindowMs;
    if (windowMs === 0) return;
    await this.refresh(await this.messages.findDeliveredUnread(windowMs, cutoff, BATCH), report);
  }

  /** Fetches each message from Twilio and applies what Twilio says through the lifecycle rules. */
  private async refresh(messages: WhatsAppMessage[], report: ReconcileReport): Promise<void> {
    for (const message of messages) {
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
        else await this.messages.touch(message.id);
      } catch (err) {
        report.errors++;
        this.logger.warn(`Could not reconcile ${message.messageSid}: ${(err as Error).message}`);
      }
    }
  }

  /**
   * Sends whose answer never came (timeouts after the request left) and whose retries are over:
   * found at Twilio -> the SID is attached; not found -> the message failed, with its last error.
   * One that cannot be settled now (look-alikes, a failing look-up) goes to the back of the
   * order (markUndecided or touch), so the next pass reaches the others.
   */
  private async resolveUnanswered(cutoff: Date, report: ReconcileReport): Promise<void> {
    const unanswered = await this.messages.findUnanswered(cutoff, BATCH);
    for (const message of unanswered) {
      try {
        const earlier = await this.dispatcher.findEarlierSend(message);
        if (earlier) {
          await this.lifecycle.attachSid(message, earlier);
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
        const errorMessage = `${message.errorMessage ?? 'No answer from Twilio'} (not found at Twilio afterwards)`;
        const applied = MessageLifecycleService.appliedEvent({ ...message, status: MessageStatus.Failed, failedAt, errorMessage } as WhatsAppMessage, message.status, true);
        const failed = await this.messages.transaction(async (tx) => {
          const updated = await this.messages.failUnanswered(message.id, message.attempts, errorMessage, failedAt, tx);
          if (updated) await this.hooks.statusesApplied(tx, [applied]);
          return updated;
        });
        if (failed) {
          report.failedUnknown++;
          this.events.publish(applied);
        }
      } catch (err) {
        if (err instanceof UndecidableLookupError) {
          report.undecided++;
          // The note an attempt would have left: an operator must check Twilio's message log.
          await this.messages
            .markUndecided(message.id, message.attempts, err.message)
            .catch((e: Error) => this.logger.warn(`Could not note undecided message ${message.id}: ${e.message}`));
          continue;
        }
        // One bad row must not stop the rest of the pass.
        report.errors++;
        this.logger.warn(`Could not look up unanswered message ${message.id}: ${(err as Error).message}`);
        await this.messages.touch(message.id).catch((e: Error) => this.logger.warn(`Could not touch unanswered message ${message.id}: ${e.message}`));
      }
    }
  }

  /**
   * Messages accepted but no longer on their way: never attempted, or last attempted long ago
   * with no job left (a job that ran out of attempts on a database outage, a Redis that lost its
   * data). They get a new job; the dispatcher's claim keeps a surviving old job from sending too.
   */
  private async requeueStalled(cutoff: Date, report: ReconcileReport): Promise<void> {
    const stalled = await this.messages.findStalled(cutoff, BATCH);
    for (const message of stalled) {
      try {
        // Still waiting for its turn (a sender's backlog takes its time): not stalled.
        if (await this.pendingJobs.waiting(message)) continue;
        if (await this.requeue(message, cutoff, { clearUnanswered: false })) report.requeued++;
      } catch (err) {
        // One bad row must not stop the rest of the pass.
        report.errors++;
        this.logger.warn(`Could not queue stalled message ${message.id} again: ${(err as Error).message}`);
      }
    }
  }

  /** A new send job for a queued message, unless a worker touched it since `cutoff`. */
  private async requeue(message: WhatsAppMessage, cutoff: Date, opts: { clearUnanswered: boolean }): Promise<boolean> {
    return this.messages.transaction(async (tx) => {
      if (!(await this.messages.takeForRequeue(tx, message.id, message.attempts, cutoff, opts.clearUnanswered))) return false;
      await this.outbox.add(tx, [sendMessageJob(message, { attemptSuffix: message.attempts })]);
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
    const now = Date.now();
    const missed = await this.messages.findUnretriedFailures(codes, new Date(now - MISSED_RETRY_HORIZON_MS), new Date(now - retryLaterMs - MISSED_RETRY_GRACE_MS), BATCH);
    if (missed.length > 0) report.requeued += (await this.retries.createRetries(missed, 0)).length;
  }

  private async applyEarlyEvents(report: ReconcileReport): Promise<void> {
    for (const id of await this.messages.idsWithEarlyEvents(BATCH)) {
      try {
        report.earlyEventsApplied += await this.lifecycle.applyPendingEvents(id);
      } catch (err) {
        report.errors++;
        this.logger.warn(`Could not apply early callbacks to message ${id}: ${(err as Error).message}`);
      }
    }
  }
}
