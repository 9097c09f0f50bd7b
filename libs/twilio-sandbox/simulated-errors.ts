/**
 * Twilio error codes the sandbox answers with. Messages follow the wording of
 * Twilio's REST answers and error reference (https://www.twilio.com/docs/api/errors).
 * Deliberately not the service's error table: the sandbox stands for Twilio, so a
 * change to how the service reads a code must not change what "Twilio" answers.
 */
export enum SimulatedErrorCode {
  Authenticate = 20003,
  NotFound = 20404,
  TooManyRequests = 20429,
  InternalServerError = 20500,
  ServiceUnavailable = 20503,
  InvalidToNumber = 21211,
  InvalidFromNumber = 21212,
  RegionNotEnabled = 21408,
  MessageBodyRequired = 21602,
  FromRequired = 21603,
  ToRequired = 21604,
  FromNotOwned = 21606,
  InvalidStatusCallback = 21609,
  UnsubscribedRecipient = 21610,
  FromQueueFull = 21611,
  ToNotReachable = 21612,
  ToNotMobile = 21614,
  BodyTooLong = 21617,
  InvalidMediaUrl = 21620,
  TooManyMedia = 21623,
  ContentSidRequired = 21654,
  InvalidContentSid = 21655,
  InvalidContentVariables = 21656,
  InvalidMessagingServiceSid = 21701,
  InvalidFromToPair = 21910,
  QueueOverflow = 30001,
  UnreachableHandset = 30003,
  UnknownDestination = 30005,
  UnknownError = 30008,
  OutsideSessionWindow = 63016,
  InvalidRecipient = 63024,
}

export const TWILIO_ERROR_DOCS_BASE = 'https://www.twilio.com/docs/errors/';

/** Fixed wordings; errors about a given number are built by the functions below. */
export const SIMULATED_ERROR_MESSAGES: Readonly<Partial<Record<SimulatedErrorCode, string>>> = {
  [SimulatedErrorCode.Authenticate]: 'Authenticate',
  [SimulatedErrorCode.TooManyRequests]: 'Too Many Requests',
  [SimulatedErrorCode.InternalServerError]: 'Internal Server Error',
  [SimulatedErrorCode.ServiceUnavailable]: 'Service Unavailable',
  [SimulatedErrorCode.MessageBodyRequired]: 'Message body is required.',
  [SimulatedErrorCode.FromRequired]: "A 'From' phone number is required.",
  [SimulatedErrorCode.ToRequired]: "A 'To' phone number is required.",
  [SimulatedErrorCode.UnsubscribedRecipient]: 'Attempt to send to unsubscribed recipient',
  [SimulatedErrorCode.FromQueueFull]: "This 'From' number has exceeded the maximum number of queued messages",
  [SimulatedErrorCode.BodyTooLong]: 'The concatenated message body exceeds the 1600 character limit.',
  [SimulatedErrorCode.InvalidMediaUrl]: 'Invalid media URL(s)',
  [SimulatedErrorCode.TooManyMedia]: 'Number of media files exceeds allowed limit',
  [SimulatedErrorCode.ContentSidRequired]: 'ContentSid Required',
  [SimulatedErrorCode.InvalidContentSid]: 'The ContentSid is Invalid',
  [SimulatedErrorCode.InvalidContentVariables]: 'The ContentVariables Parameter is invalid.',
  [SimulatedErrorCode.InvalidFromToPair]: 'Invalid From and To pair. From and To should be of the same channel',
  [SimulatedErrorCode.QueueOverflow]: 'Queue overflow',
  [SimulatedErrorCode.UnreachableHandset]: 'Unreachable destination handset',
  [SimulatedErrorCode.UnknownDestination]: 'Unknown destination handset',
  [SimulatedErrorCode.UnknownError]: 'Unknown error',
  [SimulatedErrorCode.OutsideSessionWindow]:
    'Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, please use a Message Template.',
  [SimulatedErrorCode.InvalidRecipient]: 'Invalid message recipient',
};

export function describeSimulatedError(code: number): string {
  return SIMULATED_ERROR_MESSAGES[code as SimulatedErrorCode] ?? `Twilio error ${code}`;
}

/** An error answered in Twilio's REST error shape. */
export class TwilioApiError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: number,
    message: string = describeSimulatedError(code),
    /** Sent as the Retry-After header, in seconds. */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = 'TwilioApiError';
  }

  static badRequest(code: SimulatedErrorCode, message?: string): TwilioApiError {
    return new TwilioApiError(400, code, message);
  }

  static notFound(path: string): TwilioApiError {
    return new TwilioApiError(404, SimulatedErrorCode.NotFound, `The requested resource ${path} was not found`);
  }

  static unauthorized(): TwilioApiError {
    return new TwilioApiError(401, SimulatedErrorCode.Authenticate);
  }

  toBody(): TwilioErrorBody {
    return {
      code: this.code,
      message: this.message,
      more_info: `${TWILIO_ERROR_DOCS_BASE}${this.code}`,
      status: this.httpStatus,
    };
  }
}

export interface TwilioErrorBody {
  code: number;
  message: string;
  more_info: string;
  status: number;
}

export const numberErrors = {
  invalidTo: (to: string) =>
    TwilioApiError.badRequest(SimulatedErrorCode.InvalidToNumber, `The 'To' number ${to} is not a valid phone number.`),
  invalidFrom: (from: string) =>
    TwilioApiError.badRequest(
      SimulatedErrorCode.InvalidFromNumber,
      `The 'From' number ${from} is not a valid phone number, shortcode, or alphanumeric sender ID.`,
    ),
  fromNotOwned: (from: string) =>
    TwilioApiError.badRequest(
      SimulatedErrorCode.FromNotOwned,
      `The From phone number ${from} is not a valid, SMS-capable inbound phone number or short code for your account.`,
    ),
  regionNotEnabled: (to: string) =>
    TwilioApiError.badRequest(
      SimulatedErrorCode.RegionNotEnabled,
      `Permission to send an SMS has not been enabled for the region indicated by the 'To' number: ${to}.`,
    ),
  notReachable: (to: string, from: string, channelName: string) =>
    TwilioApiError.badRequest(
      SimulatedErrorCode.ToNotReachable,
      `The 'To' phone number: ${to}, is not currently reachable using the 'From' phone number: ${from} via ${channelName}.`,
    ),
  notMobile: (to: string) =>
    TwilioApiError.badRequest(SimulatedErrorCode.ToNotMobile, `To number: ${to}, is not a mobile number`),
  invalidMessagingService: (sid: string) =>
    TwilioApiError.badRequest(
      SimulatedErrorCode.InvalidMessagingServiceSid,
      `The Messaging Service Sid ${sid} is invalid.`,
    ),
  invalidStatusCallback: (url: string) =>
    TwilioApiError.badRequest(SimulatedErrorCode.InvalidStatusCallback, `The StatusCallback URL ${url} is not a valid URL.`),
};
