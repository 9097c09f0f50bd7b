import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { AppConfig } from '../../config/configuration';
import { DomainEvents } from '../../common/events/domain-events';
import { RetryClass } from '../twilio/twilio-error-codes';
import { TwilioProvider } from '../twilio/twilio.provider';
import { TwilioMessageSnapshot, TwilioRequestError } from '../twilio/twilio.types';
import { WhatsAppMessage } from './entities/whatsapp-message.entity';
import { MessageLifecycleService } from './lifecycle/message-lifecycle.service';
import { MessageStatus } from './message-status';
import { ContactPolicyService } from './contact-policy.service';
import { WHATSAPP_PREFIX } from './phone-number';
import { TwilioErrorCode } from '../twilio/twilio-error-codes';

export interface DispatchAttempt {
  /** 1-based number of this attempt. */
  attempt: number;
  maxAttempts: number;
}

export enum DispatchOutcome {
  Sent = 'sent',
  /** Too early to look up an unanswered attempt: try again at `retryAt` (not an attempt). */
  Deferred = 'deferred',
  /** An earlier, unanswered attempt had reached Twilio: its SID was found and attached. */
  Recovered = 'recovered',
  /** Nothing to do: already has a SID or is no longer waiting to be sent. */
  Skipped = 'skipped',
}

export interface DispatchResult {
  outcome: DispatchOutcome;
  message: WhatsAppMessage;
  snapshot?: TwilioMessageSnapshot;
  retryAt?: Date;
}

/** The row's `from` holds the Messaging Service SID when the service, not a number, sends. */
export function isMessagingServiceSid(from: string): boolean {
  return /^MG[0-9a-fA-F]{32}$/.test(from);
}

/** Floor of the wait before looking up an unanswered attempt. */
const MIN_LOOK_UP_DELAY_MS = 2_000;

/** Twilio's dateCreated is second-precision and its clock is not ours. */
const CLOCK_SKEW_MS = 60_000;

/** A send attempt that failed; `final` says whether the message is now failed for good. */
export class DispatchError extends Error {
  constructor(
    override readonly cause: TwilioRequestError,
    readonly final: boolean,
    message: string,
    /** The request may have reached Twilio: the message stays queued until someone finds out. */
    readonly ambiguous = false,
  ) {
    super(message);
    this.name = 'DispatchError';
  }
}

/** Sends one stored message to Twilio: the body of both queued and immediate sends. */
@Injectable()
export class MessageDispatchService {
  private readonly logger = new Logger(MessageDispatchService.name);

  constructor(
    @InjectRepository(WhatsAppMessage) private readonly messages: Repository<WhatsAppMessage>,
    private readonly twilio: TwilioProvider,
    private readonly lifecycle: MessageLifecycleService,
    private readonly config: ConfigService<AppConfig, true>,
    private readonly events: DomainEvents,
    private readonly contactPolicy: ContactPolicyService,
  ) {}

  async dispatch(messageId: string, attempt: DispatchAttempt): Promise<DispatchResult> {
    const current = await this.messages.findOne({ where: { id: messageId } });
    if (!current) throw new Error(`Message ${messageId} does not exist`);
    // Only a message still waiting for its first successful create is sent. A job relayed twice,
    // or a safety-net job after an immediate send, finds the SID and stops here.
    if (current.messageSid || current.status !== MessageStatus.Queued) return { outcome: DispatchOutcome.Skipped, message: current };

    // After an attempt that got no answer at all (timeout, reset, crash), Twilio may still be
    // working on that request: look it up only once that request must be over, or the look-up
    // misses it and we send twice. An answered failure (a 500 with its code) is over already.
    const hadUnansweredAttempt = !!current.ambiguousAttemptAt;
    if (hadUnansweredAttempt && current.lastAttemptAt && current.errorCode === null) {
      const lookUpAt = current.lastAttemptAt.getTime() + this.lookUpDelayMs();
      if (lookUpAt > Date.now()) return { outcome: DispatchOutcome.Deferred, message: current, retryAt: new Date(lookUpAt) };
    }

    // Claim, and mark the attempt as possibly reaching Twilio until proven otherwise: a crash, a
    // kill or a database error after Twilio accepted the message then makes the next attempt look
    // for it instead of sending it again. The attempt counter makes the claim exclusive: of two
    // jobs for one message (a relay twice, a reconciliation re-queue), one sends, one stops.
    const claimed = await this.messages
      .createQueryBuilder()
      .update(WhatsAppMessage)
      .set({ attempts: () => '"attempts" + 1', lastAttemptAt: () => 'now()', ambiguousAttemptAt: () => 'COALESCE("ambiguousAttemptAt", now())' })
      .where('id = :id AND "messageSid" IS NULL AND status = :queued AND attempts = :seen', { id: messageId, queued: MessageStatus.Queued, seen: current.attempts })
      .returning('*')
      .execute();
    const row = (claimed.raw as WhatsAppMessage[])[0];
    if (!row) return { outcome: DispatchOutcome.Skipped, message: (await this.messages.findOne({ where: { id: messageId } }))! };
    const message = this.messages.create(row);

    try {
      if (hadUnansweredAttempt) {
        const earlier = await this.findEarlierSend(message);
        if (earlier) {
          this.logger.log(`Message ${message.id} had reached Twilio as ${earlier.sid} on an earlier attempt; not sending it again`);
          const updated = await this.lifecycle.attachSid(message.id, earlier);
          await this.clearUnanswered(message.id);
          return { outcome: DispatchOutcome.Recovered, message: updated, snapshot: earlier };
        }
      } else if (await this.contactPolicy.isOptedOut(message.to.slice(WHATSAPP_PREFIX.length))) {
        // The user replied STOP after the message was accepted: do not pay for a send Twilio
        // would refuse (21610) or, worse, deliver against the user's wish.
        const optedOut = TwilioProvider.toRequestError({ code: TwilioErrorCode.UnsubscribedRecipient, status: 400, message: 'The recipient opted out (STOP) after the message was accepted' });
        await this.recordFailure(message, optedOut, true, null);
        throw new DispatchError(optedOut, true, `${TwilioErrorCode.UnsubscribedRecipient}: ${optedOut.message}`);
      }
      const viaMessagingService = isMessagingServiceSid(message.from);
      const snapshot = await this.twilio.createMessage({
        to: message.to,
        ...(viaMessagingService ? { messagingServiceSid: message.from } : { from: message.from }),
        body: message.body ?? undefined,
        mediaUrls: message.mediaUrls,
        contentSid: message.contentSid ?? undefined,
        contentVariables: message.contentVariables ?? undefined,
        statusCallback: this.config.get('twilio', { infer: true }).statusCallbackUrl,
      });
      const updated = await this.lifecycle.attachSid(message.id, snapshot);
      await this.clearUnanswered(message.id);
      return { outcome: DispatchOutcome.Sent, message: updated, snapshot };
    } catch (err) {
      if (!(err instanceof TwilioRequestError)) throw err; // the mark stays: the next attempt looks first
      const lastAttempt = attempt.attempt >= attempt.maxAttempts;
      // Still unknown after a failed look-up, or this attempt's request may have been processed.
      const ambiguous = err.classification.mayHaveReachedTwilio || hadUnansweredAttempt;
      const final = err.classification.retryClass === RetryClass.Permanent || lastAttempt;
      // A message that may be at Twilio is never declared failed on a guess: reconciliation
      // looks it up later and either finds it or settles it then.
      await this.recordFailure(message, err, final && !ambiguous, ambiguous ? message.ambiguousAttemptAt : null);
      const reason = `${err.twilioCode ?? err.httpStatus ?? err.networkCode ?? 'error'}: ${err.message}`;
      this.logger.warn(
        `Send of message ${message.id} failed (attempt ${attempt.attempt}/${attempt.maxAttempts}, ${err.classification.retryClass}${ambiguous ? ', may have reached Twilio' : ''}${final ? ', final' : ''}): ${reason}`,
      );
      throw new DispatchError(err, final, reason, ambiguous);
    }
  }

  /** How long after an unanswered attempt started its request is certainly over at Twilio. */
  lookUpDelayMs(): number {
    return Math.max(2 * this.config.get('twilio', { infer: true }).timeoutMs, MIN_LOOK_UP_DELAY_MS);
  }

  private async clearUnanswered(messageId: string): Promise<void> {
    await this.messages.update({ id: messageId }, { ambiguousAttemptAt: null });
  }

  /**
   * The message at Twilio that an unanswered attempt created, if any: same recipient, sender and
   * body, created after that attempt started, and not already some other message's SID.
   */
  async findEarlierSend(message: WhatsAppMessage): Promise<TwilioMessageSnapshot | null> {
    const since = (message.ambiguousAttemptAt?.getTime() ?? 0) - CLOCK_SKEW_MS;
    const direct = !isMessagingServiceSid(message.from);
    const candidates = (await this.twilio.listMessagesTo(message.to, direct ? message.from : undefined))
      // A Messaging Service picks the sender itself, so only a direct sender can be compared.
      .filter((m) => !direct || m.from === message.from)
      // Twilio shows a template's rendered text, so only free-form bodies can be compared.
      .filter((m) => (message.contentSid ? true : (m.body ?? '') === (message.body ?? '')))
      .filter((m) => (m.dateCreated?.getTime() ?? 0) >= since)
      .reverse(); // oldest first
    if (candidates.length === 0) return null;
    const taken = new Set(
      (await this.messages.find({ where: { messageSid: In(candidates.map((c) => c.sid)) }, select: { messageSid: true } })).map((m) => m.messageSid),
    );
    const free = candidates.filter((c) => !taken.has(c.sid));
    // Several of our messages may look alike at Twilio (same recipient, sender and template or
    // text, all unanswered). Pair them in order: the k-th oldest of ours gets the k-th oldest at
    // Twilio, so none takes another's SID.
    const alike = await this.messages
      .createQueryBuilder('m')
      .select(['m.id'])
      .where(`m.to = :to AND m.from = :from AND m."messageSid" IS NULL AND m.status = :queued AND m."ambiguousAttemptAt" IS NOT NULL`, {
        to: message.to,
        from: message.from,
        queued: MessageStatus.Queued,
      })
      .andWhere(message.contentSid ? `m."contentSid" = :contentSid` : `m.body IS NOT DISTINCT FROM :body AND m."contentSid" IS NULL`, {
        contentSid: message.contentSid,
        body: message.body,
      })
      .andWhere(`m."ambiguousAttemptAt" >= :since`, { since: new Date(since) })
      .orderBy('m.ambiguousAttemptAt', 'ASC')
      .addOrderBy('m.createdAt', 'ASC')
      .getMany();
    const rank = Math.max(0, alike.findIndex((m) => m.id === message.id));
    return free[rank] ?? null;
  }


  /** Records the error; `ambiguousSince` keeps (or, when null, clears) the may-be-at-Twilio mark. */
  private async recordFailure(message: WhatsAppMessage, err: TwilioRequestError, final: boolean, ambiguousSince: Date | null): Promise<void> {
    const patch: Partial<WhatsAppMessage> = {
      errorCode: err.twilioCode ?? null,
      errorMessage: err.message,
      ambiguousAttemptAt: ambiguousSince,
    };
    if (final) {
      patch.status = MessageStatus.Failed;
      patch.failedAt = new Date();
    }
    // Only while still unsent: a concurrent success must never be overwritten by this failure.
    const result = await this.messages
      .createQueryBuilder()
      .update(WhatsAppMessage)
      .set(patch)
      .where('id = :id AND "messageSid" IS NULL AND status = :queued', { id: message.id, queued: MessageStatus.Queued })
      .execute();
    if (final && result.affected) {
      this.events.publish(MessageLifecycleService.appliedEvent({ ...message, ...patch } as WhatsAppMessage, message.status, true));
    }
  }
}
