import { FailureClassification } from './twilio-error-codes';

export interface OutboundMessageRequest {
  to: string;
  from?: string;
  messagingServiceSid?: string;
  body?: string;
  mediaUrls?: string[];
  contentSid?: string;
  contentVariables?: Record<string, string>;
  statusCallback?: string;
}

/** The part of Twilio's message resource the service keeps. */
export interface TwilioMessageSnapshot {
  sid: string;
  status: string;
  errorCode: number | null;
  errorMessage: string | null;
  to: string;
  from: string;
  body: string | null;
  dateCreated: Date | null;
  dateSent: Date | null;
  dateUpdated: Date | null;
}

/** A Content API template as the service keeps it. */
export interface ContentTemplateSnapshot {
  sid: string;
  friendlyName: string;
  language: string;
  /** Default values of the template's variables (Twilio uses them for variables a send leaves out). */
  variables: Record<string, string>;
  /** By content type (twilio/text, twilio/card, whatsapp/authentication, ...), as Twilio answers them. */
  types: Record<string, unknown>;
  /** WhatsApp approval (approved, pending, rejected, unsubmitted, ...), null when Twilio gives none. */
  approvalStatus: string | null;
  dateUpdated: Date | null;
}

/** A failed Twilio call, with what is known about why and whether it is worth retrying. */
export class TwilioRequestError extends Error {
  constructor(
    message: string,
    readonly twilioCode: number | null,
    readonly httpStatus: number | null,
    readonly networkCode: string | null,
    readonly classification: FailureClassification,
    /** Twilio's Retry-After on a 429, in milliseconds. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'TwilioRequestError';
  }

  /** Set when Twilio refused a send for its sender's rate: when the message has its next turn. */
  senderRetryAt?: Date;
}

export enum TwilioEndpointKind {
  /** Twilio's own API. */
  Twilio = 'twilio',
  /** A Twilio-compatible endpoint set in TWILIO_API_BASE_URL. */
  Custom = 'custom',
  /** The in-process sandbox, when no credentials are configured. */
  Sandbox = 'sandbox',
}

/** Where the Twilio client sends its requests. */
export interface TwilioEndpoint {
  kind: TwilioEndpointKind;
  baseUrl: string;
}

/** The answer to one cheap authenticated request (TwilioMessagingClient.probe()). */
export interface TwilioProbeResult {
  endpoint: TwilioEndpoint;
  /** Twilio answered without refusing the credentials or the request. */
  ok: boolean;
  /** null when nothing answered (connection refused, DNS, timeout). */
  httpStatus: number | null;
  twilioCode: number | null;
  /** Why it is not ok, or what went wrong at Twilio's end. */
  message: string | null;
  responseTimeMs: number;
}
