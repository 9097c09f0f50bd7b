/**
 * Twilio error codes the sandbox answers with. Messages follow the wording of
 * Twilio's REST answers and error reference (https://www.twilio.com/docs/api/errors).
 */
export enum TwilioErrorCode {
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
export const TWILIO_ERROR_MESSAGES: Readonly<Partial<Record<TwilioErrorCode, string>>> = {
  [TwilioErrorCode.Authenticate]: 'Authenticate',
  [TwilioErrorCode.TooManyRequests]: 'Too Many Requests',
  [TwilioErrorCode.InternalServerError]: 'Internal Server Error',
  [TwilioErrorCode.ServiceUnavailable]: 'Service Unavailable',
  [TwilioErrorCode.MessageBodyRequired]: 'Message body is required.',
  [TwilioErrorCode.FromRequired]: "A 'From' phone number is required.",
  [TwilioErrorCode.ToRequired]: "A 'To' phone number is required.",
  [TwilioErrorCode.UnsubscribedRecipient]: 'Attempt to send to unsubscribed recipient',
  [TwilioErrorCode.FromQueueFull]: "This 'From' number has exceeded the maximum number of queued messages",
  [TwilioErrorCode.BodyTooLong]: 'The concatenated message body exceeds the 1600 character limit.',
  [TwilioErrorCode.InvalidMediaUrl]: 'Invalid media URL(s)',
  [TwilioErrorCode.TooManyMedia]: 'Number of media files exceeds allowed limit',
  [TwilioErrorCode.ContentSidRequired]: 'ContentSid Required',
  [TwilioErrorCode.InvalidContentSid]: 'The ContentSid is Invalid',
  [TwilioErrorCode.InvalidContentVariables]: 'The ContentVariables Parameter is invalid.',
  [TwilioErrorCode.InvalidFromToPair]: 'Invalid From and To pair. From and To should be of the same channel',
  [TwilioErrorCode.QueueOverflow]: 'Queue overflow',
  [TwilioErrorCode.UnreachableHandset]: 'Unreachable destination handset',
  [TwilioErrorCode.UnknownDestination]: 'Unknown destination handset',
  [TwilioErrorCode.UnknownError]: 'Unknown error',
  [TwilioErrorCode.OutsideSessionWindow]:
    'Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, please use a Message Template.',
  [TwilioErrorCode.InvalidRecipient]: 'Invalid message recipient',
};

export function describeTwilioError(code: number): string {
  return TWILIO_ERROR_MESSAGES[code as TwilioErrorCode] ?? `Twilio error ${code}`;
}

/** An error answered in Twilio's REST error shape. */
export class TwilioApiError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: number,
    message: string = describeTwilioError(code),
  ) {
    super(message);
    this.name = 'TwilioApiError';
  }

  static badRequest(code: TwilioErrorCode, message?: string): TwilioApiError {
    return new TwilioApiError(400, code, message);
  }

  static notFound(path: string): TwilioApiError {
    return new TwilioApiError(404, TwilioErrorCode.NotFound, `The requested resource ${path} was not found`);
  }

  static unauthorized(): TwilioApiError {
    return new TwilioApiError(401, TwilioErrorCode.Authenticate);
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
    TwilioApiError.badRequest(TwilioErrorCode.InvalidToNumber, `The 'To' number ${to} is not a valid phone number.`),
  invalidFrom: (from: string) =>
    TwilioApiError.badRequest(
      TwilioErrorCode.InvalidFromNumber,
      `The 'From' number ${from} is not a valid phone number, shortcode, or alphanumeric sender ID.`,
    ),
  fromNotOwned: (from: string) =>
    TwilioApiError.badRequest(
      TwilioErrorCode.FromNotOwned,
      `The From phone number ${from} is not a valid, SMS-capable inbound phone number or short code for your account.`,
    ),
  regionNotEnabled: (to: string) =>
    TwilioApiError.badRequest(
      TwilioErrorCode.RegionNotEnabled,
      `Permission to send an SMS has not been enabled for the region indicated by the 'To' number: ${to}.`,
    ),
  notReachable: (to: string, from: string, channelName: string) =>
    TwilioApiError.badRequest(
      TwilioErrorCode.ToNotReachable,
      `The 'To' phone number: ${to}, is not currently reachable using the 'From' phone number: ${from} via ${channelName}.`,
    ),
  notMobile: (to: string) =>
    TwilioApiError.badRequest(TwilioErrorCode.ToNotMobile, `To number: ${to}, is not a mobile number`),
  invalidMessagingService: (sid: string) =>
    TwilioApiError.badRequest(
      TwilioErrorCode.InvalidMessagingServiceSid,
      `The Messaging Service Sid ${sid} is invalid.`,
    ),
  invalidStatusCallback: (url: string) =>
    TwilioApiError.badRequest(TwilioErrorCode.InvalidStatusCallback, `The StatusCallback URL ${url} is not a valid URL.`),
};
