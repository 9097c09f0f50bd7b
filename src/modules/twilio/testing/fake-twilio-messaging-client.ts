import { randomBytes } from 'node:crypto';
import { TwilioErrorCode } from '../twilio-error-codes';
import { isRateLimited, LOOKUP_MAX_PAGES, LOOKUP_PAGE_SIZE, MessageLookup, TwilioMessagingClient } from '../twilio-messaging.client';
import { OutboundMessageRequest, TwilioMessageSnapshot, TwilioRequestError } from '../twilio.types';

export type TwilioMessagingClientApi = Pick<TwilioMessagingClient, 'createMessage' | 'takeSlot' | 'nextTurn' | 'fetchMessage' | 'listMessagesSince'>;

/** One call the service made to Twilio, in order. */
export type TwilioCall =
  | { operation: 'wait'; sender: string; maxWaitMs: number }
  | { operation: 'turn'; sender: string }
  | { operation: 'create'; request: OutboundMessageRequest }
  | { operation: 'list'; to: string; from: string | undefined }
  | { operation: 'fetch'; sid: string };

/** Errors as TwilioMessagingClient.toRequestError builds them from what the Twilio client throws. */
export const twilioErrors = {
  /** Twilio answered with an error document. */
  answered: (code: number, httpStatus: number, message: string): TwilioRequestError => TwilioMessagingClient.toRequestError({ code, status: httpStatus, message }),
  /** An HTTP error without a Twilio code (an edge proxy's 502, say). */
  http: (httpStatus: number, message: string): TwilioRequestError => TwilioMessagingClient.toRequestError({ status: httpStatus, message }),
  /** No answer within TWILIO_TIMEOUT_MS: the request may have reached Twilio. */
  timeout: (): TwilioRequestError => TwilioMessagingClient.toRequestError({ code: 'ECONNABORTED', message: 'timeout of 15000ms exceeded' }),
  notFound: (sid: string): TwilioRequestError => TwilioMessagingClient.toRequestError({ code: TwilioErrorCode.NotFound, status: 404, message: `The requested resource /Messages/${sid}.json was not found` }),
};

/** What Twilio does with one create request. */
type CreateBehaviour =
  /** Refuses it with an answer: nothing is created. */
  | { kind: 'refuse'; error: TwilioRequestError }
  /** Creates the message, but the answer is lost (timeout, reset). */
  | { kind: 'lose-answer'; error: TwilioRequestError }
  /** The request never reaches Twilio. */
  | { kind: 'not-reached'; error: TwilioRequestError };

/** The sender Twilio picks when a Messaging Service sends. */
export const MESSAGING_SERVICE_PICKED_SENDER = 'whatsapp:+14155238899';

/**
 * Twilio's Messages API as the service sees it through TwilioMessagingClient: a message log that
 * creates add to and lists and fetches read, every call recorded, and scripted failures.
 */
export class FakeTwilioMessagingClient implements TwilioMessagingClientApi {
  readonly calls: TwilioCall[] = [];
  /** Twilio's message log, oldest first. */
  readonly log: TwilioMessageSnapshot[] = [];
  /** Runs while takeSlot waits (what other workers do during a rate-limit wait). */
  duringWaitForSlot?: () => Promise<void>;
  /** How far away the sender's next slot is: takeSlot refuses when it is further than allowed. */
  nextSlotInMs = 0;
  /** How far away a new turn of the sender is (nextTurn, and after a refusal for the rate). */
  nextTurnInMs = 0;
  /** Runs when a create request arrives, before Twilio answers. */
  onCreate?: (request: OutboundMessageRequest) => Promise<void>;
  /** Runs while a list request is in flight (what other workers do meanwhile). */
  duringList?: () => Promise<void>;
  /** Pages one look-up reads at most, if not the client's bound. */
  lookupMaxPages?: number;

  private readonly createBehaviours: CreateBehaviour[] = [];
  private readonly listFailures: TwilioRequestError[] = [];
  private readonly listFailuresTo = new Map<string, TwilioRequestError>();
  private readonly fetchFailures = new Map<string, TwilioRequestError>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  // --- Scripting ------------------------------------------------------------------------------

  refuseNextCreate(error: TwilioRequestError): void {
    this.createBehaviours.push({ kind: 'refuse', error });
  }

  /** The next create reaches Twilio (the message exists there) but its answer never arrives. */
  loseNextCreateAnswer(error: TwilioRequestError = twilioErrors.timeout()): void {
    this.createBehaviours.push({ kind: 'lose-answer', error });
  }

  /** The next create times out without reaching Twilio. */
  dropNextCreate(error: TwilioRequestError = twilioErrors.timeout()): void {
    this.createBehaviours.push({ kind: 'not-reached', error });
  }

  failNextList(error: TwilioRequestError): void {
    this.listFailures.push(error);
  }

  /** Every look-up of the messages to `to` fails, however often it is tried. */
  failListsTo(to: string, error: TwilioRequestError): void {
    this.listFailuresTo.set(to, error);
  }

  failFetch(sid: string, error: TwilioRequestError): void {
    this.fetchFailures.set(sid, error);
  }

  /** Twilio moves a message on (a later status, its sent time...). */
  update(sid: string, changes: Partial<Omit<TwilioMessageSnapshot, 'sid'>>): void {
    const message = this.log.find((m) => m.sid === sid);
    if (!message) throw new Error(`Twilio has no message ${sid}`);
    Object.assign(message, changes);
  }

  /** A message created at Twilio by someone else (another system on the account, the console). */
  addToLog(message: Partial<TwilioMessageSnapshot> & Pick<TwilioMessageSnapshot, 'to' | 'from'>): TwilioMessageSnapshot {
    const created = this.snapshot({ status: 'queued', body: null, ...message });
    this.log.push(created);
    return created;
  }

  creates(): OutboundMessageRequest[] {
    return this.calls.flatMap((c) => (c.operation === 'create' ? [c.request] : []));
  }

  operations(): TwilioCall['operation'][] {
    return this.calls.map((c) => c.operation);
  }

  // --- TwilioMessagingClient -------------------------------------------------------------------------

  async takeSlot(req: Pick<OutboundMessageRequest, 'from' | 'messagingServiceSid'>, maxWaitMs: number): Promise<boolean> {
    this.calls.push({ operation: 'wait', sender: senderOf(req), maxWaitMs });
    if (this.nextSlotInMs > maxWaitMs) return false;
    await this.duringWaitForSlot?.();
    return true;
  }

  async nextTurn(req: Pick<OutboundMessageRequest, 'from' | 'messagingServiceSid'>): Promise<Date> {
    this.calls.push({ operation: 'turn', sender: senderOf(req) });
    return new Date(this.now().getTime() + this.nextTurnInMs);
  }

  async createMessage(req: OutboundMessageRequest): Promise<TwilioMessageSnapshot> {
    this.calls.push({ operation: 'create', request: copyRequest(req) });
    await this.onCreate?.(req);
    const behaviour = this.createBehaviours.shift();
    if (behaviour?.kind === 'refuse' || behaviour?.kind === 'not-reached') {
      // As TwilioMessagingClient does: a refusal for the rate says when the message's turn comes.
      if (isRateLimited(behaviour.error)) behaviour.error.senderRetryAt = new Date(this.now().getTime() + this.nextTurnInMs);
      throw behaviour.error;
    }
    const created = this.snapshot({
      to: req.to,
      from: req.from ?? MESSAGING_SERVICE_PICKED_SENDER,
      // Twilio shows a template's rendered text, so it cannot be compared with ours.
      body: req.contentSid ? `Rendered ${req.contentSid}` : (req.body ?? ''),
      status: req.messagingServiceSid ? 'accepted' : 'queued',
    });
    this.log.push(created);
    if (behaviour?.kind === 'lose-answer') throw behaviour.error;
    return { ...created };
  }

  /** Like Twilio's paged list: complete unless more than `maxPages` pages are newer than `since`. */
  async listMessagesSince(to: string, from: string | undefined, since: Date, opts: { pageSize?: number; maxPages?: number } = {}): Promise<MessageLookup> {
    this.calls.push({ operation: 'list', to, from });
    const failure = this.listFailures.shift() ?? this.listFailuresTo.get(to);
    await this.duringList?.();
    if (failure) throw failure;
    const all = this.log.filter((m) => m.to === to && (!from || m.from === from)).reverse();
    const seen = (opts.pageSize ?? LOOKUP_PAGE_SIZE) * (this.lookupMaxPages ?? opts.maxPages ?? LOOKUP_MAX_PAGES);
    const newer = all.filter((m) => (m.dateCreated?.getTime() ?? 0) >= since.getTime()).length;
    return { messages: all.slice(0, seen).map((m) => ({ ...m })), complete: newer < seen || all.length <= seen };
  }

  async fetchMessage(sid: string): Promise<TwilioMessageSnapshot> {
    this.calls.push({ operation: 'fetch', sid });
    const failure = this.fetchFailures.get(sid);
    if (failure) throw failure;
    const message = this.log.find((m) => m.sid === sid);
    if (!message) throw twilioErrors.notFound(sid);
    return { ...message };
  }

  private snapshot(fields: Partial<TwilioMessageSnapshot> & Pick<TwilioMessageSnapshot, 'to' | 'from' | 'status' | 'body'>): TwilioMessageSnapshot {
    // Twilio's dateCreated has whole seconds.
    const created = new Date(Math.floor(this.now().getTime() / 1000) * 1000);
    return {
      sid: `SM${randomBytes(16).toString('hex')}`,
      errorCode: null,
      errorMessage: null,
      dateCreated: created,
      dateSent: null,
      dateUpdated: created,
      ...fields,
    };
  }
}

function senderOf(req: Pick<OutboundMessageRequest, 'from' | 'messagingServiceSid'>): string {
  return req.from ?? req.messagingServiceSid ?? 'default';
}

function copyRequest(req: OutboundMessageRequest): OutboundMessageRequest {
  return { ...req, ...(req.mediaUrls ? { mediaUrls: [...req.mediaUrls] } : {}), ...(req.contentVariables ? { contentVariables: { ...req.contentVariables } } : {}) };
}
