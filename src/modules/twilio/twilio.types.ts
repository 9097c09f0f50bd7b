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

/** A failed Twilio call, with what is known about why and whether it is worth retrying. */
export class TwilioRequestError extends Error {
  constructor(
    message: string,
    readonly twilioCode: number | null,
    readonly httpStatus: number | null,
    readonly networkCode: string | null,
    readonly classification: FailureClassification,
  ) {
    super(message);
    this.name = 'TwilioRequestError';
  }
}
