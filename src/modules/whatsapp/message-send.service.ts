import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';
import { DomainEvents, DomainEventType } from '../../common/events/domain-events';
import { AppConfig } from '../../config/configuration';
import { OutboxWriter } from '../../database/outbox/outbox.writer';
import { TemplateCatalog } from '../templates/template-catalog.service';
import { operatorHint } from '../twilio/twilio-error-codes';
import { sendJobId } from './jobs/whatsapp-jobs';
import { MessageAcceptor } from './message-acceptor';
import { DispatchError, DispatchOutcome, DispatchResult, MessageDispatchService } from './message-dispatch.service';
import { MessageStatus } from './message-status';
import { prepareSend, SendInput } from './send-preparation';
import { IdempotencyClaim } from './idempotency/idempotency-claim';

export interface SendOptions extends Omit<SendInput, 'to' | 'body'> {
  immediate?: boolean;
}

export interface SendResult {
  success: true;
  id: string;
  messageSid: string | null;
  status: MessageStatus;
  /** When a scheduled send is due (ISO 8601); absent for a send now. */
  scheduledAt?: string;
  /** 201 when sent inline, 202 when queued or scheduled. */
  httpStatus: 201 | 202;
}

/**
 * An immediate send also leaves a delayed outbox job behind, so that a crash in the middle of
 * the inline call still gets the message sent (the job finds the SID and stops if it was).
 */
const IMMEDIATE_SAFETY_NET_MS = 120_000;
/** How long an immediate send waits for its sender's slot before leaving the message to the workers (202). */
const IMMEDIATE_SLOT_WAIT_MS = 2_000;

/** Accepts single sends: checks them, stores them with their send job, and sends inline on request. */
@Injectable()
export class MessageSendService {
  private readonly logger = new Logger(MessageSendService.name);

  constructor(
    private readonly acceptor: MessageAcceptor,
    private readonly outbox: OutboxWriter,
    private readonly dispatcher: MessageDispatchService,
    private readonly config: ConfigService<AppConfig, true>,
    private readonly domainEvents: DomainEvents,
    private readonly templates: TemplateCatalog,
  ) {}

  /** Sends a WhatsApp message from code; same rules and result as POST /whatsapp/send. */
  sendWhatsAppMessage(to: string, body: string, options: SendOptions = {}): Promise<SendResult> {
    return this.send({ to, body, ...options });
  }

  /** With the request's Idempotency-Key claim, the key commits with the message (see MessageAcceptor). */
  async send(input: SendInput & { immediate?: boolean }, claim?: IdempotencyClaim): Promise<SendResult> {
    const immediate = input.immediate === true;
    if (immediate && input.sendAt !== undefined) {
      throw new DomainException(ErrorCode.ValidationFailed, 'immediate cannot be combined with sendAt (a scheduled send is sent at its time)', { field: 'immediate' });
    }
    const minLeadMs = this.config.get('whatsapp', { infer: true }).scheduleMinLeadMs;
    const prepared = prepareSend(input, this.config.get('twilio', { infer: true }), { now: new Date(), minLeadMs });
    // Before anything is stored: a template send Twilio would reject (or render with a raw {{2}}) is refused here.
    if (prepared.message.contentSid) await this.templates.check(prepared.message.contentSid, prepared.message.contentVariables);
    const from = prepared.message.from;
    // Opt-out and 24-hour window are checked with the sends stored alongside it.
    const id = await this.acceptor.accept({
      prepared,
      // A scheduled send's job stays in the outbox (Postgres) until its time: nothing in Redis to lose meanwhile.
      availableAt: immediate ? new Date(Date.now() + IMMEDIATE_SAFETY_NET_MS) : prepared.scheduledAt,
      idempotency: claim ? { claimId: claim.id, answerQueued: !immediate } : undefined,
    });
    if (claim && !immediate) claim.answered = true;

    this.domainEvents.publish({ type: DomainEventType.MessageAccepted, messageId: id, from, immediate });
    if (prepared.scheduledAt) {
      return { success: true, id, messageSid: null, status: MessageStatus.Scheduled, scheduledAt: prepared.scheduledAt.toISOString(), httpStatus: 202 };
    }
    if (!immediate) {
      return { success: true, id, messageSid: null, status: MessageStatus.Queued, httpStatus: 202 };
    }
    return this.sendInline(id);
  }

  /**
   * Sends a stored message before answering. Once the row is committed no error escapes except
   * Twilio's definite rejection: anything else (Twilio unavailable, an unanswered request, a
   * database error after the call) leaves the message queued for the workers, answered 202.
   */
  private async sendInline(id: string): Promise<SendResult> {
    const maxAttempts = this.config.get('whatsapp', { infer: true }).maxAttempts;
    const queued: SendResult = { success: true, id, messageSid: null, status: MessageStatus.Queued, httpStatus: 202 };
    let result: DispatchResult;
    try {
      result = await this.dispatcher.dispatch(id, { attempt: 1, maxAttempts, maxSlotWaitMs: IMMEDIATE_SLOT_WAIT_MS });
    } catch (err) {
      const rejected = err instanceof DispatchError && err.final && !err.ambiguous;
      if (!rejected) {
        this.logger.warn(`Immediate send of ${id} did not complete (${(err as Error).message}); queued for the workers`);
        // The workers take it now; should even this fail, the safety-net job runs in 2 minutes.
        await this.outbox.releaseNow(undefined, sendJobId(id)).catch(() => undefined);
        return queued;
      }
      await this.outbox.cancel(undefined, sendJobId(id)).catch(() => undefined);
      const code = err.cause.twilioCode;
      throw new DomainException(ErrorCode.TwilioRejected, `Twilio rejected the message: ${err.cause.message}`, {
        id,
        status: MessageStatus.Failed,
        twilioCode: code,
        hint: operatorHint(code) ?? err.cause.classification.hint ?? null,
      });
    }
    if (result.outcome === DispatchOutcome.RateLimited) {
      // The sender is busy (a backlog, Twilio's 429): the job takes its turn in the sender's line.
      await this.outbox.releaseNow(undefined, sendJobId(id)).catch(() => undefined);
      return queued;
    }
    // The safety-net job is no longer needed (if dropping it fails, it finds the SID and stops).
    await this.outbox.cancel(undefined, sendJobId(id)).catch(() => undefined);
    if (!result.message.messageSid) return queued;
    return {
      success: true,
      id,
      messageSid: result.message.messageSid,
      // As Twilio answered (queued, or accepted for a messaging service).
      status: (result.snapshot?.status as MessageStatus | undefined) ?? result.message.status,
      httpStatus: 201,
    };
  }
}
