/** Message statuses of Twilio's Messages API (`message_enum_status` in the 2010-04-01 spec). */
export enum TwilioMessageStatus {
  Accepted = 'accepted',
  Scheduled = 'scheduled',
  Canceled = 'canceled',
  Queued = 'queued',
  Sending = 'sending',
  Sent = 'sent',
  Failed = 'failed',
  Delivered = 'delivered',
  Undelivered = 'undelivered',
  Receiving = 'receiving',
  Received = 'received',
  Read = 'read',
  PartiallyDelivered = 'partially_delivered',
}

export function isTwilioMessageStatus(value: unknown): value is TwilioMessageStatus {
  return typeof value === 'string' && (Object.values(TwilioMessageStatus) as string[]).includes(value);
}

export enum TwilioMessageDirection {
  Inbound = 'inbound',
  OutboundApi = 'outbound-api',
  OutboundCall = 'outbound-call',
  OutboundReply = 'outbound-reply',
}

export enum MessageChannel {
  WhatsApp = 'whatsapp',
  Sms = 'sms',
}

/** What a message ends as. Template literal types so callers may pass the enum or the plain string. */
export type FailureStatus = `${TwilioMessageStatus.Failed}` | `${TwilioMessageStatus.Undelivered}`;
export type SuccessFinalStatus =
  | `${TwilioMessageStatus.Sent}`
  | `${TwilioMessageStatus.Delivered}`
  | `${TwilioMessageStatus.Read}`;

export type NumberFate =
  | { status: FailureStatus; errorCode: number; errorMessage?: string }
  | { status: SuccessFinalStatus };

/** The Message resource exactly as Twilio serialises it (`api.v2010.account.message`). */
export interface TwilioMessageResource {
  account_sid: string;
  api_version: string;
  body: string;
  date_created: string;
  date_sent: string | null;
  date_updated: string;
  direction: TwilioMessageDirection;
  error_code: number | null;
  error_message: string | null;
  from: string | null;
  messaging_service_sid: string | null;
  num_media: string;
  num_segments: string;
  price: string | null;
  price_unit: string;
  sid: string;
  status: TwilioMessageStatus;
  subresource_uris: { media: string; feedback: string };
  to: string;
  uri: string;
}

export interface StatusHistoryEntry {
  status: TwilioMessageStatus;
  at: string;
  errorCode: number | null;
}

/** A message the sandbox holds: the Twilio resource plus what the sandbox knows about how it was sent. */
export interface SandboxMessage {
  sid: string;
  resource: TwilioMessageResource;
  channel: MessageChannel;
  statusCallback: string | null;
  contentSid: string | null;
  contentVariables: Record<string, string> | null;
  mediaUrls: string[];
  statusHistory: StatusHistoryEntry[];
}

export type PostedParams = Record<string, string | string[]>;

export enum CreateRequestOutcome {
  Created = 'created',
  /** Twilio refused the request (validation, magic number): a 4xx with a Twilio error code. */
  Rejected = 'rejected',
  Unauthorized = 'unauthorized',
  /** An injected fault (429/500/503 or failNext) answered instead of Twilio's normal handling. */
  Fault = 'fault',
  /** An injected timeout: the message was created but the answer is late or never comes. */
  Timeout = 'timeout',
}

/** One `POST .../Messages.json` as received. */
export interface SandboxRequestRecord {
  id: number;
  receivedAt: string;
  accountSid: string;
  /** Who authenticated: the account SID or the API key SID of the Basic credentials (never the secret). */
  authUser: string | null;
  params: PostedParams;
  outcome: CreateRequestOutcome;
  /** Null while an injected timeout holds the answer back (or forever, for a hang). */
  httpStatus: number | null;
  sid: string | null;
  errorCode: number | null;
  errorMessage: string | null;
}

export interface PerSecondCount {
  second: string;
  count: number;
}

export interface RateSummary {
  perSecond: PerSecondCount[];
  maxPerSecond: number;
}

export interface SandboxRequestStats extends RateSummary {
  total: number;
  byOutcome: Record<string, number>;
  /** Keyed by `To` as posted. */
  byNumber: Record<string, number>;
  /** Keyed by `From`, or `MessagingServiceSid` when no `From` was posted. */
  bySender: Record<string, number>;
  /** Queued -> sent transitions per second, by sender: what a sender MPS limit shapes. */
  sent: RateSummary & { bySender: Record<string, RateSummary> };
  records: SandboxRequestRecord[];
}

/** Answer the next `count` creates with this error instead of handling them. */
export interface FailNextRule {
  httpStatus: number;
  code: number;
  message?: string;
  count?: number;
  /** Sent as the answer's Retry-After header, in seconds. */
  retryAfterSeconds?: number;
}

export interface SandboxFaults {
  /** Probability (0..1) that a create answers 429 with code 20429. */
  rateLimitProbability: number;
  /** Retry-After (seconds) on those 429s; null: no header. */
  rateLimitRetryAfterSeconds: number | null;
  /** Probability that a create answers 500 with code 20500. */
  serverErrorProbability: number;
  /** Probability that a create answers 503 with code 20503. */
  serviceUnavailableProbability: number;
  /** Probability that a create's answer is lost (see timeoutAnswerAfterMs). The message is still created. */
  timeoutProbability: number;
  /** Null: never answer. A number: answer normally, but only after that many ms. */
  timeoutAnswerAfterMs: number | null;
  /** Added to every Messages API request before it is handled. */
  latencyMs: number;
  /** Messages per second each sender may send; the rest stay `queued` and go out at that rate. Null: unlimited. */
  senderMps: number | null;
  callbackDropProbability: number;
  callbackDuplicateProbability: number;
  callbackDelayProbability: number;
  callbackDelayMs: number;
  /** Probability that a status callback is held back and sent after the message's next one. */
  callbackReorderProbability: number;
  failNext: FailNextRule[];
  /** WhatsApp's 24h customer service window: free-form messages to numbers that have not written in 24h fail with 63016. */
  sessionWindow: boolean;
  /** Every Content API request answers 503 / 20503 (templates cannot be listed). */
  contentApiUnavailable: boolean;
}

export const DEFAULT_FAULTS: Readonly<SandboxFaults> = Object.freeze({
  rateLimitProbability: 0,
  rateLimitRetryAfterSeconds: null,
  serverErrorProbability: 0,
  serviceUnavailableProbability: 0,
  timeoutProbability: 0,
  timeoutAnswerAfterMs: null,
  latencyMs: 0,
  senderMps: null,
  callbackDropProbability: 0,
  callbackDuplicateProbability: 0,
  callbackDelayProbability: 0,
  callbackDelayMs: 0,
  callbackReorderProbability: 0,
  failNext: [],
  sessionWindow: false,
  contentApiUnavailable: false,
});

export interface SandboxLogger {
  log(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface InboundMessageInput {
  from: string;
  to: string;
  body?: string;
  mediaUrls?: { url: string; contentType: string }[];
  profileName?: string;
}

export interface InboundMessageResult {
  /** HTTP status of the service's answer; 0 when no answer came (or no inboundWebhookUrl is set). */
  status: number;
  body: string;
  /** SID of the inbound message, as posted in MessageSid. */
  messageSid: string;
}

export enum SimulatedWebhookKind {
  StatusCallback = 'status-callback',
  Inbound = 'inbound',
}

/** One HTTP attempt the sandbox made to the service (status callback or inbound webhook). */
export interface WebhookAttemptRecord {
  kind: SimulatedWebhookKind;
  /** The URL as configured, fragment included. */
  url: string;
  messageSid: string;
  status: string | null;
  attempt: number;
  sentAt: string;
  /** HTTP status answered, or null when the attempt failed before a response (see `failure`). */
  httpStatus: number | null;
  failure: string | null;
}
