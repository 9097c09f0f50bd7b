import { randomBytes } from 'node:crypto';
import { CreateMessageRequest, parseCreateMessageRequest } from './create-message-request';
import { CreateFaultKind, FaultInjector } from './fault-injector';
import { buildInboundParams } from './inbound-message';
import { MagicNumberEffect, MagicNumberField, findMagicNumber } from './magic-numbers';
import { DeliverySimulation, ResolvedFate } from './delivery-simulation';
import { MessageStore } from './message-store';
import { RequestLog } from './request-log';
import { SandboxControlError } from './sandbox-control.error';
import { SandboxTimers } from './sandbox-timers';
import {
  CreateRequestOutcome,
  InboundMessageInput,
  InboundMessageResult,
  MessageChannel,
  NumberFate,
  PostedParams,
  SandboxFaults,
  SandboxLogger,
  SandboxMessage,
  SandboxRequestRecord,
  SandboxRequestStats,
  TwilioMessageDirection,
  TwilioMessageResource,
  TwilioMessageStatus,
  WebhookAttemptRecord,
  SimulatedWebhookKind,
} from './sandbox.types';
import { SenderThroughputGate } from './sender-throughput-gate';
import { StatusCallbackDispatcher } from './status-callback-dispatcher';
import { TwilioApiError, SimulatedErrorCode, describeSimulatedError } from './simulated-errors';
import {
  SidPrefix,
  TWILIO_API_VERSION,
  countSegments,
  firstValue,
  isE164,
  newSid,
  numberKey,
  parseAddress,
  toRfc2822,
  toWhatsAppAddress,
} from './twilio-format';
import { WebhookSender } from './webhook-sender';

export interface SandboxEngineOptions {
  accountSid: string;
  authToken: string;
  apiKeys: { sid: string; secret: string }[];
  statusDelayMs: number;
  inboundWebhookUrl?: string;
  logger: SandboxLogger;
}

/** What the HTTP layer answers; null means the request is never answered (an injected hang). */
export interface ApiAnswer {
  httpStatus: number;
  body: unknown;
}

export interface ForcedStatus {
  status: `${TwilioMessageStatus}`;
  errorCode?: number;
  errorMessage?: string;
}

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;
// WhatsApp's customer service window: free-form messages are allowed for 24h after the user last wrote.
const SESSION_WINDOW_MS = 24 * 60 * 60 * 1000;
const MAX_WEBHOOK_ATTEMPT_RECORDS = 10_000;
// When a failure is forced without a code, use the code Twilio gives for that outcome when it knows no better.
const DEFAULT_FAILURE_CODES: Partial<Record<TwilioMessageStatus, SimulatedErrorCode>> = {
  [TwilioMessageStatus.Failed]: SimulatedErrorCode.UnknownError,
  [TwilioMessageStatus.Undelivered]: SimulatedErrorCode.UnreachableHandset,
};
const LIST_FILTERS = ['To', 'From', 'DateSent', 'DateSent<', 'DateSent>'] as const;

function errorAnswer(error: TwilioApiError): ApiAnswer {
  return { httpStatus: error.httpStatus, body: error.toBody() };
}

function parseNonNegativeInteger(raw: string | undefined): number | undefined {
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
}

function isTwilioMessageStatus(value: unknown): value is TwilioMessageStatus {
  return typeof value === 'string' && (Object.values(TwilioMessageStatus) as string[]).includes(value);
}

/** The sandbox's state and rules, without HTTP: the routes and the public class both drive this. */
export class SandboxEngine {
  readonly timers = new SandboxTimers();
  private readonly store = new MessageStore();
  private readonly requestLog = new RequestLog();
  private readonly faults = new FaultInjector();
  private readonly fates = new Map<string, NumberFate>();
  private readonly lastInboundAtMs = new Map<string, number>();
  private webhookAttempts: WebhookAttemptRecord[] = [];
  private readonly instanceId = randomBytes(4).toString('hex');
  private readonly sender: WebhookSender;
  private readonly delivery: DeliverySimulation;

  constructor(private readonly options: SandboxEngineOptions) {
    this.sender = new WebhookSender(options.authToken, this.timers, options.logger, (record) => {
      this.webhookAttempts.push(record);
      if (this.webhookAttempts.length > MAX_WEBHOOK_ATTEMPT_RECORDS) {
        this.webhookAttempts.shift();
      }
    });
    const dispatcher = new StatusCallbackDispatcher(
      newSid(SidPrefix.ChannelInstall),
      this.sender,
      this.faults,
      this.timers,
      options.logger,
    );
    this.delivery = new DeliverySimulation({
      store: this.store,
      dispatcher,
      timers: this.timers,
      faults: this.faults,
      throughputGate: new SenderThroughputGate(),
      requestLog: this.requestLog,
      statusDelayMs: options.statusDelayMs,
    });
  }

  get accountSid(): string {
    return this.options.accountSid;
  }

  /** HTTP Basic with the account SID + auth token or an API key SID + secret; the path's account must be ours. */
  isAuthorized(authorization: string | undefined, pathAccountSid?: string): boolean {
    if (pathAccountSid !== undefined && pathAccountSid !== this.options.accountSid) {
      return false;
    }
    const credentials = basicCredentials(authorization);
    if (!credentials) {
      return false;
    }
    const { username, password } = credentials;
    if (username === this.options.accountSid && password === this.options.authToken) {
      return true;
    }
    return this.options.apiKeys.some((key) => key.sid === username && key.secret === password);
  }

  assertAuthorized(authorization: string | undefined, pathAccountSid?: string): void {
    if (!this.isAuthorized(authorization, pathAccountSid)) {
      throw TwilioApiError.unauthorized();
    }
  }

  /** Latency the faults add to every Messages API request; false when the sandbox stopped meanwhile. */
  addLatency(): Promise<boolean> {
    return this.timers.sleep(this.faults.latencyMs);
  }

  async handleCreate(pathAccountSid: string, params: PostedParams, authorization: string | undefined): Promise<ApiAnswer | null> {
    const record = this.requestLog.begin(pathAccountSid, params, basicAuthUser(authorization));
    if (!this.isAuthorized(authorization, pathAccountSid)) {
      return this.finish(record, CreateRequestOutcome.Unauthorized, errorAnswer(TwilioApiError.unauthorized()));
    }
    if (!(await this.addLatency())) {
      return null;
    }
    const fault = this.faults.pickCreateFault();
    if (fault?.kind === CreateFaultKind.Error) {
      return this.finish(record, CreateRequestOutcome.Fault, errorAnswer(fault.error));
    }

    let answer: ApiAnswer;
    let outcome: CreateRequestOutcome;
    try {
      const message = this.createMessage(parseCreateMessageRequest(params));
      record.sid = message.sid;
      answer = { httpStatus: 201, body: structuredClone(message.resource) };
      outcome = CreateRequestOutcome.Created;
    } catch (error) {
      if (!(error instanceof TwilioApiError)) {
        throw error;
      }
      answer = errorAnswer(error);
      outcome = CreateRequestOutcome.Rejected;
    }

    if (fault?.kind === CreateFaultKind.Timeout) {
      record.outcome = CreateRequestOutcome.Timeout;
      if (fault.answerAfterMs === null) {
        await this.timers.untilStopped();
        return null;
      }
      if (!(await this.timers.sleep(fault.answerAfterMs))) {
        return null;
      }
      record.httpStatus = answer.httpStatus;
      return answer;
    }
    return this.finish(record, outcome, answer);
  }

  fetchMessage(sid: string, path: string): TwilioMessageResource {
    const message = this.store.get(sid);
    if (!message) {
      throw TwilioApiError.notFound(path);
    }
    return structuredClone(message.resource);
  }

  deleteMessage(sid: string, path: string): void {
    if (!this.store.get(sid)) {
      throw TwilioApiError.notFound(path);
    }
    this.delivery.cancel(sid);
    this.store.delete(sid);
  }

  /** `ListMessageResponse` of the 2010-04-01 spec. */
  listMessages(pathAccountSid: string, query: Record<string, string | string[] | undefined>): Record<string, unknown> {
    const value = (key: string): string | undefined => {
      const raw = firstValue(query[key]);
      return raw === undefined || raw === '' ? undefined : raw;
    };
    const pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, parseNonNegativeInteger(value('PageSize')) ?? DEFAULT_PAGE_SIZE));
    const page = parseNonNegativeInteger(value('Page')) ?? 0;
    const pageToken = value('PageToken');
    const result = this.store.list({
      to: value('To'),
      from: value('From'),
      dateSent: value('DateSent'),
      dateSentBefore: value('DateSent<'),
      dateSentAfter: value('DateSent>'),
      pageSize,
      page,
      pageToken,
    });

    const filters = new URLSearchParams();
    for (const key of LIST_FILTERS) {
      const filterValue = value(key);
      if (filterValue !== undefined) {
        filters.append(key, filterValue);
      }
    }
    const uriFor = (pageIndex: number, token?: string | null): string => {
      const params = new URLSearchParams(filters);
      params.append('PageSize', String(pageSize));
      params.append('Page', String(pageIndex));
      if (token) {
        params.append('PageToken', token);
      }
      return `/2010-04-01/Accounts/${pathAccountSid}/Messages.json?${params.toString()}`;
    };
    const start = page * pageSize;
    return {
      end: result.messages.length > 0 ? start + result.messages.length - 1 : start,
      first_page_uri: uriFor(0),
      messages: result.messages.map((message) => structuredClone(message.resource)),
      next_page_uri: result.nextPageToken ? uriFor(page + 1, result.nextPageToken) : null,
      page,
      page_size: pageSize,
      previous_page_uri: result.previousPageToken ? uriFor(Math.max(0, page - 1), result.previousPageToken) : null,
      start,
      uri: uriFor(page, pageToken),
    };
  }

  async sendInbound(input: InboundMessageInput): Promise<InboundMessageResult> {
    if (this.timers.isStopped) {
      throw new SandboxControlError('the sandbox is stopped');
    }
    if (typeof input?.from !== 'string' || typeof input?.to !== 'string') {
      throw new SandboxControlError('inbound needs "from" and "to" phone numbers');
    }
    const from = toWhatsAppAddress(input.from);
    const to = toWhatsAppAddress(input.to);
    for (const address of [from, to]) {
      if (!isE164(parseAddress(address).number)) {
        throw new SandboxControlError(`${address} is not an E.164 number (whatsapp:+<country><number>)`);
      }
    }
    const media = input.mediaUrls ?? [];
    if (!Array.isArray(media) || media.some((item) => typeof item?.url !== 'string' || typeof item?.contentType !== 'string')) {
      throw new SandboxControlError('mediaUrls must be [{ url, contentType }]');
    }

    const now = new Date();
    const sid = newSid(SidPrefix.Message);
    this.lastInboundAtMs.set(numberKey(from), now.getTime());
    this.store.add({
      sid,
      resource: {
        ...this.baseResource(sid, now),
        body: input.body ?? '',
        date_sent: toRfc2822(now),
        direction: TwilioMessageDirection.Inbound,
        from,
        num_media: String(media.length),
        status: TwilioMessageStatus.Received,
        to,
      },
      channel: MessageChannel.WhatsApp,
      statusCallback: null,
      contentSid: null,
      contentVariables: null,
      mediaUrls: media.map((item) => item.url),
      statusHistory: [{ status: TwilioMessageStatus.Received, at: now.toISOString(), errorCode: null }],
    });

    const webhookUrl = this.options.inboundWebhookUrl;
    if (!webhookUrl) {
      this.options.logger.warn(`[twilio-sandbox] inbound ${sid} from ${from} recorded, but no inboundWebhookUrl is configured`);
      return { status: 0, body: '', messageSid: sid };
    }
    const outcome = await this.sender.send({
      kind: SimulatedWebhookKind.Inbound,
      configuredUrl: webhookUrl,
      messageSid: sid,
      status: TwilioMessageStatus.Received,
      params: buildInboundParams(sid, this.options.accountSid, from, to, input),
    });
    return { status: outcome.httpStatus ?? 0, body: outcome.body, messageSid: sid };
  }

  forceStatus(sid: string, forced: ForcedStatus): SandboxMessage {
    const message = this.store.get(sid);
    if (!message) {
      throw new SandboxControlError(`no message ${sid}`, 404);
    }
    if (!isTwilioMessageStatus(forced?.status)) {
      throw new SandboxControlError(`status must be one of ${Object.values(TwilioMessageStatus).join(', ')}`);
    }
    if (forced.errorCode !== undefined && (typeof forced.errorCode !== 'number' || !Number.isInteger(forced.errorCode))) {
      throw new SandboxControlError('errorCode must be an integer');
    }
    const errorCode = forced.errorCode ?? DEFAULT_FAILURE_CODES[forced.status] ?? null;
    const errorMessage = errorCode === null ? null : (forced.errorMessage ?? describeSimulatedError(errorCode));
    this.delivery.force(message, forced.status, errorCode, errorMessage);
    return structuredClone(message);
  }

  setNumberFate(number: string, fate: NumberFate): void {
    const isFailure = fate?.status === TwilioMessageStatus.Failed || fate?.status === TwilioMessageStatus.Undelivered;
    const isSuccess =
      fate?.status === TwilioMessageStatus.Sent ||
      fate?.status === TwilioMessageStatus.Delivered ||
      fate?.status === TwilioMessageStatus.Read;
    if (!isFailure && !isSuccess) {
      throw new SandboxControlError('fate.status must be failed, undelivered, sent, delivered or read');
    }
    if (isFailure && typeof (fate as { errorCode?: unknown }).errorCode !== 'number') {
      throw new SandboxControlError('a failed/undelivered fate needs a numeric errorCode');
    }
    this.fates.set(numberKey(number), structuredClone(fate));
  }

  clearNumberFate(number: string): void {
    this.fates.delete(numberKey(number));
  }

  numberFates(): Record<string, NumberFate> {
    return Object.fromEntries(structuredClone([...this.fates.entries()]));
  }

  /** Backdates or clears a number's last inbound message, e.g. to test the 24h window's end. */
  setLastInbound(number: string, at: Date | null): void {
    if (at === null) {
      this.lastInboundAtMs.delete(numberKey(number));
    } else {
      this.lastInboundAtMs.set(numberKey(number), at.getTime());
    }
  }

  lastInbound(): Record<string, string> {
    return Object.fromEntries(
      [...this.lastInboundAtMs.entries()].map(([number, ms]) => [number, new Date(ms).toISOString()]),
    );
  }

  currentFaults(): SandboxFaults {
    return this.faults.current();
  }

  setFaults(faults: Partial<SandboxFaults>): SandboxFaults {
    return this.faults.set(faults);
  }

  resetFaults(): void {
    this.faults.reset();
  }

  receivedRequests(): SandboxRequestRecord[] {
    return this.requestLog.all();
  }

  requestStats(): SandboxRequestStats {
    return this.requestLog.stats();
  }

  messages(): SandboxMessage[] {
    return structuredClone(this.store.all());
  }

  /**
   * A weak ETag for the message list. The instance part keeps a page that outlived a restarted
   * sandbox from matching the new one's revision counter.
   */
  messagesEtag(): string {
    return `W/"${this.instanceId}-${this.store.revision}"`;
  }

  message(sid: string): SandboxMessage | undefined {
    const message = this.store.get(sid);
    return message ? structuredClone(message) : undefined;
  }

  webhookLog(): WebhookAttemptRecord[] {
    return structuredClone(this.webhookAttempts);
  }

  /** Back to a fresh sandbox: no messages, records, faults, fates or session windows. */
  reset(): void {
    this.delivery.clear();
    this.store.clear();
    this.requestLog.clear();
    this.faults.reset();
    this.fates.clear();
    this.lastInboundAtMs.clear();
    this.webhookAttempts = [];
  }

  private finish(record: SandboxRequestRecord, outcome: CreateRequestOutcome, answer: ApiAnswer): ApiAnswer {
    record.outcome = outcome;
    record.httpStatus = answer.httpStatus;
    if (answer.httpStatus >= 400) {
      const body = answer.body as { code: number; message: string };
      record.errorCode = body.code;
      record.errorMessage = body.message;
    }
    return answer;
  }

  private baseResource(sid: string, now: Date): TwilioMessageResource {
    const accountSid = this.options.accountSid;
    const uriBase = `/2010-04-01/Accounts/${accountSid}/Messages/${sid}`;
    return {
      account_sid: accountSid,
      api_version: TWILIO_API_VERSION,
      body: '',
      date_created: toRfc2822(now),
      date_sent: null,
      date_updated: toRfc2822(now),
      direction: TwilioMessageDirection.OutboundApi,
      error_code: null,
      error_message: null,
      from: null,
      messaging_service_sid: null,
      num_media: '0',
      num_segments: '1',
      price: null,
      price_unit: 'USD',
      sid,
      status: TwilioMessageStatus.Queued,
      subresource_uris: { media: `${uriBase}/Media.json`, feedback: `${uriBase}/Feedback.json` },
      to: '',
      uri: `${uriBase}.json`,
    };
  }

  private createMessage(request: CreateMessageRequest): SandboxMessage {
    const now = new Date();
    const sid = newSid(SidPrefix.Message);
    // Without a From, a Messaging Service has yet to pick the sender: Twilio answers `accepted`.
    const status = request.from === null ? TwilioMessageStatus.Accepted : TwilioMessageStatus.Queued;
    const message: SandboxMessage = {
      sid,
      resource: {
        ...this.baseResource(sid, now),
        body: request.body,
        from: request.from,
        messaging_service_sid: request.messagingServiceSid,
        num_media: String(request.mediaUrls.length),
        // Twilio's spec: "initially 0" for Messaging Service sends, since no sender is assigned yet.
        num_segments: request.from === null ? '0' : String(countSegments(request.body, request.channel)),
        status,
        to: request.to,
      },
      channel: request.channel,
      statusCallback: request.statusCallback,
      contentSid: request.contentSid,
      contentVariables: request.contentVariables,
      mediaUrls: request.mediaUrls,
      statusHistory: [{ status, at: now.toISOString(), errorCode: null }],
    };
    this.store.add(message);
    this.delivery.start(message, this.resolveFate(request));
    return message;
  }

  /** Explicit fates win over magic numbers, which win over the session window policy. */
  private resolveFate(request: CreateMessageRequest): ResolvedFate {
    const explicit = this.fates.get(request.toNumber);
    if (explicit) {
      if ('errorCode' in explicit) {
        return {
          status: explicit.status as TwilioMessageStatus,
          errorCode: explicit.errorCode,
          errorMessage: explicit.errorMessage ?? describeSimulatedError(explicit.errorCode),
        };
      }
      return { status: explicit.status as TwilioMessageStatus, errorCode: null, errorMessage: null };
    }
    const magic = findMagicNumber(MagicNumberField.To, request.toNumber);
    if (magic?.effect === MagicNumberEffect.FailAfterAccept && magic.finalStatus) {
      return { status: magic.finalStatus, errorCode: magic.errorCode, errorMessage: describeSimulatedError(magic.errorCode) };
    }
    if (
      this.faults.sessionWindow &&
      request.channel === MessageChannel.WhatsApp &&
      request.contentSid === null &&
      !this.isSessionOpen(request.toNumber)
    ) {
      return {
        status: TwilioMessageStatus.Failed,
        errorCode: SimulatedErrorCode.OutsideSessionWindow,
        errorMessage: describeSimulatedError(SimulatedErrorCode.OutsideSessionWindow),
      };
    }
    return {
      status: request.channel === MessageChannel.WhatsApp ? TwilioMessageStatus.Read : TwilioMessageStatus.Delivered,
      errorCode: null,
      errorMessage: null,
    };
  }

  private isSessionOpen(number: string): boolean {
    const lastInboundMs = this.lastInboundAtMs.get(number);
    return lastInboundMs !== undefined && Date.now() - lastInboundMs < SESSION_WINDOW_MS;
  }
}

function basicCredentials(authorization: string | undefined): { username: string; password: string } | null {
  const match = /^Basic\s+(.+)$/i.exec(authorization ?? '');
  if (!match) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  return separator === -1 ? null : { username: decoded.slice(0, separator), password: decoded.slice(separator + 1) };
}

/** The user name of HTTP Basic credentials (an account or API key SID), or null. */
function basicAuthUser(authorization: string | undefined): string | null {
  return basicCredentials(authorization)?.username ?? null;
}
