import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppConfig } from '../../config/configuration';
import { MessageChangeHooks } from '../../common/events/message-change-hooks';
import { DomainEvents } from '../../common/events/domain-events';
import { RetryClass } from '../twilio/twilio-error-codes';
import { TwilioMessagingClient } from '../twilio/twilio-messaging.client';
import { TwilioMessageSnapshot, TwilioRequestError } from '../twilio/twilio.types';
import { WhatsAppMessage } from './entities/whatsapp-message.entity';
import { MessageLifecycleService } from './lifecycle/message-lifecycle.service';
import { MessageStatus } from './message-status';
import { WhatsAppMessageRepository } from './messages/whatsapp-message.repository';
import { TwilioErrorCode } from '../twilio/twilio-error-codes';

export interface DispatchAttempt {
  /** 1-based number of this attempt. */
  attempt: number;
  maxAttempts: number;
  /**
   * How long the caller may wait for the sender's next slot (default WORKER_SLOT_WAIT_MS). Beyond
   * it the message is not sent now: the outcome is RateLimited with the message's new turn.
   */
  maxSlotWaitMs?: number;
}

/**
 * The longest a worker waits for its sender's slot. Jobs arrive delayed to their sender's turn, so
 * the slot is normally free or a few milliseconds off; a worker never sits out a sender's backlog.
 */
export const WORKER_SLOT_WAIT_MS = 25;

export enum DispatchOutcome {
  Sent = 'sent',
  /** An earlier attempt may have reached Twilio, but which of several look-alike messages did cannot be told. */
  Undecided = 'undecided',
  /** Too early to look up an unanswered attempt: try again at `retryAt` (not an attempt). */
  Deferred = 'deferred',
  /** An earlier, unanswered attempt had reached Twilio: its SID was found and attached. */
  Recovered = 'recovered',
  /** Nothing to do: already has a SID or is no longer waiting to be sent. */
  Skipped = 'skipped',
  /**
   * Not sent now for the sender's rate (no slot soon enough, or Twilio answered 429): try again at
   * `retryAt`. Not an attempt: the claim is given back as if it had not been taken.
   */
  RateLimited = 'rate-limited',
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

/** Margin of an attempt's lease beyond its two Twilio calls. */
const LEASE_SLACK_MS = 30_000;

/** Twilio's dateCreated is second-precision and its clock is not ours. */
const CLOCK_SKEW_MS = 60_000;

/**
 * Whether an unanswered attempt reached Twilio cannot be told: several look-alike unanswered
 * messages, or more messages to the number since the attempt than a look-up pages through.
 */
export class UndecidableLookupError extends Error {
  constructor(
    readonly messageId: string,
    why: string,
  ) {
    super(`Cannot tell whether message ${messageId} reached Twilio: ${why}. Check Twilio's message log; the message stays queued and is not sent again automatically.`);
    this.name = 'UndecidableLookupError';
  }
}

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
    private readonly messages: WhatsAppMessageRepository,
    private readonly twilio: TwilioMessagingClient,
    private readonly lifecycle: MessageLifecycleService,
    private readonly config: ConfigService<AppConfig, true>,
    private readonly events: DomainEvents,
    private readonly hooks: MessageChangeHooks,
  ) {}

  async dispatch(messageId: string, attempt: DispatchAttempt): Promise<DispatchResult> {
    const leaseMs = this.leaseMs();
    const claim = await this.messages.claim(messageId, leaseMs);
    if (!claim) return this.notClaimed(messageId);
    const { message, hadUnansweredAttempt, optedOut } = claim;
    const claimedAt = Date.now();
    // Until the earlier attempt has been looked for, a Twilio error is the look-up's, not a send's.
    let lookedUp = !hadUnansweredAttempt;

    try {
      if (hadUnansweredAttempt) {
        const earlier = await this.findEarlierSend(message);
        lookedUp = true;
        if (earlier) {
          this.logger.log(`Message ${message.id} had reached Twilio as ${earlier.sid} on an earlier attempt; not sending it again`);
          const updated = await this.lifecycle.attachSid(message, earlier);
          return { outcome: DispatchOutcome.Recovered, message: updated, snapshot: earlier };
        }
      }
      // The user may have replied STOP after the message was accepted: do not pay for a send
      // Twilio would refuse (21610) or, worse, deliver against the user's wish.
      if (optedOut) {
        const optedOut = TwilioMessagingClient.toRequestError({ code: TwilioErrorCode.UnsubscribedRecipient, status: 400, message: 'The recipient opted out (STOP) after the message was accepted' });
        await this.recordFailure(message, optedOut, true, null, null);
        throw new DispatchError(optedOut, true, `${TwilioErrorCode.UnsubscribedRecipient}: ${optedOut.message}`);
      }
      const viaMessagingService = isMessagingServiceSid(message.from);
      const request = {
        to: message.to,
        ...(viaMessagingService ? { messagingServiceSid: message.from } : { from: message.from }),
        body: message.body ?? undefined,
        mediaUrls: message.mediaUrls,
        contentSid: message.contentSid ?? undefined,
        contentVariables: message.contentVariables ?? undefined,
        statusCallback: this.config.get('twilio', { infer: true }).statusCallbackTarget,
      };
      if (!(await this.twilio.takeSlot(request, attempt.maxSlotWaitMs ?? WORKER_SLOT_WAIT_MS))) {
        return await this.rateLimited(message, await this.twilio.nextTurn(request), null);
      }
      // The request leaves now: after a slow look-up or a long wait for the slot the lease runs
      // from here, unless another job took the message meanwhile (after a short one the claim's
      // lease still covers the request and nobody else can have taken it).
      if (Date.now() - claimedAt > LEASE_SLACK_MS / 2 && !(await this.messages.renewLease(message.id, message.attempts, leaseMs))) {
        return this.notClaimed(messageId);
      }

      const snapshot = await this.twilio.createMessage(request);
      const updated = await this.lifecycle.attachSid(message, snapshot);
      return { outcome: DispatchOutcome.Sent, message: updated, snapshot };
    } catch (err) {
      if (err instanceof UndecidableLookupError) {
        // Sending again could duplicate, attaching could take the wrong SID: say so and stop.
        await this.messages.markUndecided(message.id, message.attempts, err.message);
        this.logger.error(err.message);
        return { outcome: DispatchOutcome.Undecided, message: { ...message, errorMessage: err.message } as WhatsAppMessage };
      }
      // Refused for the sender's rate: nothing was created (Twilio said so), so it is no attempt.
      if (err instanceof TwilioRequestError && err.senderRetryAt && lookedUp) {
        this.logger.debug(`Twilio refused message ${message.id} for its sender's rate; its turn comes again at ${err.senderRetryAt.toISOString()}`);
        return await this.rateLimited(message, err.senderRetryAt, err);
      }
      if (!(err instanceof TwilioRequestError)) {
        // Our own failure (database, crash-like): Twilio's part, if any, is over, so free the
        // lease at once; the mark stays, and the next attempt looks for the message first.
        await this.messages.releaseLease(message.id, message.attempts).catch(() => undefined);
        throw err;
      }
      const lastAttempt = attempt.attempt >= attempt.maxAttempts;
      // Once the earlier attempt was looked for and is not at Twilio, only this request matters;
      // a failed look-up leaves the earlier attempt in doubt, so its mark stays for the next one.
      const ambiguous = !lookedUp || err.classification.mayHaveReachedTwilio;
      const final = err.classification.retryClass === RetryClass.Permanent || lastAttempt;
      // Without any answer Twilio may still be processing the request: nobody sends before it must be done.
      const busyUntil = lookedUp && ambiguous && err.httpStatus === null ? new Date(Date.now() + this.config.get('twilio', { infer: true }).timeoutMs) : null;
      // A message that may be at Twilio is never declared failed on a guess: reconciliation
      // looks it up later and either finds it or settles it then.
      await this.recordFailure(message, err, final && !ambiguous, ambiguous ? message.ambiguousAttemptAt : null, busyUntil);
      const reason = `${err.twilioCode ?? err.httpStatus ?? err.networkCode ?? 'error'}: ${err.message}`;
      this.logger.warn(
        `Send of message ${message.id} failed (attempt ${attempt.attempt}/${attempt.maxAttempts}, ${err.classification.retryClass}${ambiguous ? ', may have reached Twilio' : ''}${final ? ', final' : ''}): ${reason}`,
      );
      throw new DispatchError(err, final, reason, ambiguous);
    }
  }

  /**
   * Gives the claim back (the attempt is not counted, the lease and the may-be-at-Twilio mark are
   * cleared: the look-up, if one was needed, has been made and found nothing) and tells the caller
   * when the message's turn comes. With `refusal`, Twilio's answer is kept as the last error.
   */
  private async rateLimited(message: WhatsAppMessage, retryAt: Date, refusal: TwilioRequestError | null): Promise<DispatchResult> {
    const error = refusal ? { errorCode: refusal.twilioCode ?? null, errorMessage: refusal.message } : null;
    await this.messages.returnClaim(message.id, message.attempts, error);
    return { outcome: DispatchOutcome.RateLimited, message: { ...message, attempts: message.attempts - 1, ...(error ?? {}) } as WhatsAppMessage, retryAt };
  }

  /**
   * How long one attempt may own a message: the look-up and the create, each bounded by
   * TWILIO_TIMEOUT_MS, with slack. An attempt that dies keeps it that long, then it is free.
   */
  leaseMs(): number {
    return 2 * this.config.get('twilio', { infer: true }).timeoutMs + LEASE_SLACK_MS;
  }

  /**
   * Why a message could not be claimed: gone (an error), no longer waiting (skipped: sent,
   * failed, canceled), not due yet (scheduled: come back at its time), or held by another attempt
   * or by Twilio's unanswered request (come back when that is over: a look-up now could miss it
   * and we would send twice).
   */
  private async notClaimed(messageId: string): Promise<DispatchResult> {
    const current = await this.messages.findById(messageId);
    if (!current) throw new Error(`Message ${messageId} does not exist`);
    // A job that runs before its message's time (the claim refuses it): it comes back then.
    if (current.status === MessageStatus.Scheduled && !current.messageSid && current.scheduledAt && current.scheduledAt.getTime() > Date.now()) {
      return { outcome: DispatchOutcome.Deferred, message: current, retryAt: current.scheduledAt };
    }
    const waiting = !current.messageSid && current.status === MessageStatus.Queued;
    if (waiting && current.sendingUntil && current.sendingUntil.getTime() > Date.now()) {
      return { outcome: DispatchOutcome.Deferred, message: current, retryAt: current.sendingUntil };
    }
    return { outcome: DispatchOutcome.Skipped, message: current };
  }

  /**
   * The message at Twilio that an unanswered attempt created, if any: same recipient and sender,
   * same text, created after that attempt started, and not some other message's SID. Throws
   * UndecidableLookupError when several of our messages look alike at Twilio (templates show
   * their rendered text, media-only sends none) and the one that got through cannot be told, or
   * when the look-up was cut short of the attempt (LOOKUP_MAX_PAGES) without finding it.
   */
  async findEarlierSend(message: WhatsAppMessage): Promise<TwilioMessageSnapshot | null> {
    const since = new Date((message.ambiguousAttemptAt?.getTime() ?? 0) - CLOCK_SKEW_MS);
    const direct = !isMessagingServiceSid(message.from);
    const comparable = !message.contentSid && !!message.body;
    // A Messaging Service picks the sender itself, so only a direct sender can be compared.
    const lookup = await this.twilio.listMessagesSince(message.to, direct ? message.from : undefined, since);
    const candidates = lookup.messages
      .filter((m) => !direct || m.from === message.from)
      .filter((m) => !comparable || (m.body ?? '') === message.body)
      .filter((m) => (m.dateCreated?.getTime() ?? 0) >= since.getTime())
      .reverse(); // oldest first
    const incomplete = () => new UndecidableLookupError(message.id, `more messages to ${message.to} since the attempt than one look-up pages through`);
    // What the look-up did not see may be the message: "not found" would send it twice.
    if (candidates.length === 0) {
      if (!lookup.complete) throw incomplete();
      return null;
    }
    const taken = await this.messages.sidsTaken(candidates.map((c) => c.sid));
    const free = candidates.filter((c) => !taken.has(c.sid));
    // Our other unanswered messages that Twilio could show the same way.
    const alike = await this.messages.unansweredLookalikes({ to: message.to, from: message.from, since, body: comparable ? message.body : null });
    const rank = Math.max(0, alike.indexOf(message.id));
    // Identical texts, or as many look-alikes at Twilio as ours (each request got through): pair
    // them in order, the k-th oldest of ours with the k-th oldest at Twilio. Fewer at Twilio than
    // ours, with contents Twilio does not show: no way to tell which ones got through.
    if (!comparable && alike.length > 1 && free.length > 0 && free.length !== alike.length) {
      throw new UndecidableLookupError(message.id, `${alike.length} unanswered messages to the same number with the same template or media look alike there`);
    }
    // The oldest messages since the attempt were not seen: pairing ours by age with Twilio's
    // would be a guess, and "not found" would send it twice. A lone unanswered one found is ours.
    if (!lookup.complete && (alike.length > 1 || !free[rank])) throw incomplete();
    return free[rank] ?? null;
  }

  /**
   * Records the error; `ambiguousSince` keeps (or, when null, clears) the may-be-at-Twilio mark,
   * and `busyUntil` keeps other attempts away while Twilio may still process this one.
   */
  private async recordFailure(message: WhatsAppMessage, err: TwilioRequestError, final: boolean, ambiguousSince: Date | null, busyUntil: Date | null): Promise<void> {
    const failedAt = final ? new Date() : null;
    const patch = { errorCode: err.twilioCode ?? null, errorMessage: err.message, ambiguousSince, busyUntil, failedAt };
    if (!final) {
      await this.messages.recordFailure(message.id, patch);
      return;
    }
    const failed = { ...message, status: MessageStatus.Failed, failedAt, errorCode: err.twilioCode ?? null, errorMessage: err.message } as WhatsAppMessage;
    const applied = MessageLifecycleService.appliedEvent(failed, message.status, true);
    // The failure and what listens to it (outbound webhooks) commit together.
    const changed = await this.messages.transaction(async (tx) => {
      const updated = await this.messages.recordFailure(message.id, patch, tx);
      if (updated) await this.hooks.statusesApplied(tx, [applied]);
      return updated;
    });
    if (changed) this.events.publish(applied);
  }
}
