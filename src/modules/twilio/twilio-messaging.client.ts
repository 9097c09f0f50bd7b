import { Inject, Injectable } from '@nestjs/common';
import type { Twilio } from 'twilio';
import type { MessageInstance } from 'twilio/lib/rest/api/v2010/account/message';
import { DomainEvents, DomainEventType, TwilioCallCompletedEvent } from '../../common/events/domain-events';
import { withTimeout } from '../../common/with-timeout';
import { TWILIO_CLIENT, TWILIO_ENDPOINT } from './twilio.constants';
import { SenderRateLimiter } from './sender-rate-limiter';
import { TwilioErrorCode } from './twilio-error-codes';
import { classifyFailure } from './twilio-error-codes';
import { OutboundMessageRequest, TwilioEndpoint, TwilioMessageSnapshot, TwilioProbeResult, TwilioRequestError } from './twilio.types';

/** A look-up pages through this many messages at a time (Twilio's maximum page size is 1000)... */
export const LOOKUP_PAGE_SIZE = 1000;
/** ...and through at most this many pages before it says it could not see them all. */
export const LOOKUP_MAX_PAGES = 10;

export interface MessageLookup {
  /** Newest first. */
  messages: TwilioMessageSnapshot[];
  /** Everything created since the time asked about was seen. */
  complete: boolean;
}

type MessageListPage = Awaited<ReturnType<Twilio['messages']['page']>>;

function snapshot(m: MessageInstance): TwilioMessageSnapshot {
  return {
    sid: m.sid,
    status: m.status,
    errorCode: m.errorCode ?? null,
    errorMessage: m.errorMessage ?? null,
    to: m.to,
    from: m.from,
    body: m.body ?? null,
    dateCreated: m.dateCreated ?? null,
    dateSent: m.dateSent ?? null,
    dateUpdated: m.dateUpdated ?? null,
  };
}

type Operation = TwilioCallCompletedEvent['operation'];

/** Twilio refused the request for the rate of the sender or the account, not for anything about the message. */
export function isRateLimited(e: TwilioRequestError): boolean {
  return e.httpStatus === 429 || e.twilioCode === TwilioErrorCode.TooManyRequests || e.twilioCode === TwilioErrorCode.ChannelRateLimitExceeded;
}

function senderOf(req: Pick<OutboundMessageRequest, 'from' | 'messagingServiceSid'>): string {
  return req.from ?? req.messagingServiceSid ?? 'default';
}

/**
 * The only place that talks to Twilio: the official client's Messages API, timed, rate-limited
 * per sender, and with every failure turned into a TwilioRequestError classified for retry.
 */
@Injectable()
export class TwilioMessagingClient {
  constructor(
    @Inject(TWILIO_CLIENT) private readonly client: Twilio,
    private readonly events: DomainEvents,
    private readonly rateLimiter: SenderRateLimiter,
    @Inject(TWILIO_ENDPOINT) private readonly endpoint: TwilioEndpoint,
  ) {}

  /** Times one call and turns its failure into a classified TwilioRequestError. */
  private async call<T>(operation: Operation, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await fn();
      this.published(operation, started, null);
      return result;
    } catch (err) {
      const error = TwilioMessagingClient.toRequestError(err);
      this.published(operation, started, error);
      throw error;
    }
  }

  private published(operation: Operation, started: number, error: TwilioRequestError | null): void {
    this.events.publish({
      type: DomainEventType.TwilioCallCompleted,
      operation,
      durationMs: performance.now() - started,
      ok: !error,
      twilioCode: error?.twilioCode ?? null,
      httpStatus: error?.httpStatus ?? null,
      networkCode: error?.networkCode ?? null,
    });
  }

  /**
   * Sends one message; call takeSlot first. When Twilio refuses it for the sender's rate, the
   * sender is paused (see SenderRateLimiter.penalize) and the error says when to try again.
   */
  async createMessage(req: OutboundMessageRequest): Promise<TwilioMessageSnapshot> {
    const sender = senderOf(req);
    try {
      const snapshot = await this.create(req);
      await this.rateLimiter.succeeded(sender);
      return snapshot;
    } catch (err) {
      const e = err as TwilioRequestError;
      if (isRateLimited(e)) e.senderRetryAt = (await this.rateLimiter.penalize(sender, e.retryAfterMs)).retryAt;
      throw err;
    }
  }

  /**
   * Takes the sender's next slot (its TWILIO_MPS) if it comes within `maxWaitMs`, and waits for
   * it; false when it is further away, and nothing was taken.
   */
  async takeSlot(req: Pick<OutboundMessageRequest, 'from' | 'messagingServiceSid'>, maxWaitMs: number): Promise<boolean> {
    const slot = await this.rateLimiter.takeSlot(senderOf(req), maxWaitMs);
    if (slot.taken && slot.waitMs > 0) await new Promise((resolve) => setTimeout(resolve, slot.waitMs));
    return slot.taken;
  }

  /** When a message that could not have a slot now gets its turn: after everything already scheduled for its sender. */
  async nextTurn(req: Pick<OutboundMessageRequest, 'from' | 'messagingServiceSid'>): Promise<Date> {
    const [delayMs] = await this.rateLimiter.takeTurns(senderOf(req), 1);
    return new Date(Date.now() + delayMs);
  }

  private create(req: OutboundMessageRequest): Promise<TwilioMessageSnapshot> {
    return this.call('create', async () => {
      const message = await this.client.messages.create({
        to: req.to,
        ...(req.from ? { from: req.from } : {}),
        ...(req.messagingServiceSid ? { messagingServiceSid: req.messagingServiceSid } : {}),
        ...(req.body !== undefined && req.body !== null ? { body: req.body } : {}),
        ...(req.mediaUrls && req.mediaUrls.length > 0 ? { mediaUrl: req.mediaUrls } : {}),
        ...(req.contentSid ? { contentSid: req.contentSid } : {}),
        ...(req.contentVariables ? { contentVariables: JSON.stringify(req.contentVariables) } : {}),
        ...(req.statusCallback ? { statusCallback: req.statusCallback } : {}),
      });
      return snapshot(message);
    });
  }

  async fetchMessage(sid: string): Promise<TwilioMessageSnapshot> {
    return this.call('fetch', async () => snapshot(await this.client.messages(sid).fetch()));
  }

  /**
   * Every message to `to` (from `from`, when given) that Twilio created since `since`, newest
   * first, paging through Twilio's list until a page ends before `since` or the list ends. Used
   * to find a send whose answer was lost, so it must not stop at the newest page: a busy number
   * gets many messages after the one looked for. Not filtered on DateSent: a message still queued
   * at Twilio (its sender's throughput, a Messaging Service) has no date_sent yet, and Twilio's
   * filter leaves it out. At most `maxPages` pages; `complete` is false when that bound cut the
   * look-up short of `since`, and then the caller cannot tell what it did not see.
   */
  async listMessagesSince(to: string, from: string | undefined, since: Date, opts: { pageSize?: number; maxPages?: number } = {}): Promise<MessageLookup> {
    const pageSize = opts.pageSize ?? LOOKUP_PAGE_SIZE;
    const maxPages = opts.maxPages ?? LOOKUP_MAX_PAGES;
    const messages: TwilioMessageSnapshot[] = [];
    let page: MessageListPage = await this.call('list', () => this.client.messages.page({ to, ...(from ? { from } : {}), pageSize }));
    for (let pages = 1; ; pages++) {
      const found = page.instances.map(snapshot);
      messages.push(...found);
      const oldest = found[found.length - 1];
      // Twilio lists newest first; a page ending before the attempt started holds all that is left to see.
      if (!oldest || !page.nextPageUrl || (oldest.dateCreated !== null && oldest.dateCreated < since)) return { messages, complete: true };
      if (pages >= maxPages) return { messages, complete: false };
      const current = page;
      // nextPage() is undefined only without a next page URL, checked above.
      page = await this.call('list', async () => (await current.nextPage()) as MessageListPage);
    }
  }

  /**
   * One cheap authenticated request (a page of at most one message), for readiness: does Twilio
   * answer, and does it accept the credentials? Outside the senders' rate limit and the call
   * metrics, which count sends. Never rejects.
   */
  async probe(timeoutMs: number): Promise<TwilioProbeResult> {
    const started = performance.now();
    const result = (ok: boolean, httpStatus: number | null, twilioCode: number | null, message: string | null): TwilioProbeResult => ({
      endpoint: this.endpoint,
      ok,
      httpStatus,
      twilioCode,
      message,
      responseTimeMs: Math.round(performance.now() - started),
    });
    try {
      // The client builds a page only from a 200; any other answer is thrown as a RestException.
      await withTimeout(this.client.messages.page({ pageSize: 1 }), timeoutMs, 'Twilio probe');
      return result(true, 200, null, null);
    } catch (err) {
      const e = TwilioMessagingClient.toRequestError(err);
      if (e.httpStatus === null) return result(false, null, null, `Twilio API unreachable: ${e.message}`);
      const answer = `HTTP ${e.httpStatus}${e.twilioCode !== null ? `, Twilio ${e.twilioCode}` : ''}: ${e.message}`;
      // Rate limited or failing at Twilio's end: the same for every instance and no fault of this
      // one's, so it stays ready and its sends retry with back-off. Any other refusal (401 bad
      // credentials, 404 wrong account or base URL) means no send can succeed.
      const twilioTrouble = e.httpStatus === 429 || e.httpStatus >= 500;
      return result(twilioTrouble, e.httpStatus, e.twilioCode, twilioTrouble ? answer : `Twilio refused the probe: ${answer}`);
    }
  }

  static toRequestError(err: unknown): TwilioRequestError {
    const e = err as { code?: unknown; status?: unknown; message?: string; moreInfo?: string; retryAfterMs?: unknown };
    // RestException: Twilio answered with an error document (numeric code + HTTP status).
    const twilioCode = typeof e?.code === 'number' ? e.code : null;
    const httpStatus = typeof e?.status === 'number' ? e.status : null;
    // Axios/network failure: string code such as ECONNRESET or ECONNABORTED (timeout).
    const networkCode = typeof e?.code === 'string' ? e.code : null;
    const timedOut = networkCode === 'ECONNABORTED' || networkCode === 'ETIMEDOUT' || /timeout/i.test(e?.message ?? '');
    const classification = classifyFailure({ twilioCode, httpStatus, networkCode, timedOut });
    const message = e?.message ?? String(err);
    const retryAfterMs = typeof e?.retryAfterMs === 'number' ? e.retryAfterMs : null;
    return new TwilioRequestError(message, twilioCode, httpStatus, networkCode, classification, retryAfterMs);
  }
}
