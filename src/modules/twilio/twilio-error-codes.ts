export enum RetryClass {
  Retryable = 'retryable',
  RetryOnceLater = 'retry_once_later',
  Permanent = 'permanent',
}

/**
 * The Twilio error codes this service knows how to handle. Titles and meanings follow
 * https://www.twilio.com/docs/api/errors/<code>.
 */
export enum TwilioErrorCode {
  PermissionDenied = 20003,
  NotFound = 20404,
  TooManyRequests = 20429,
  InternalServerError = 20500,
  ServiceUnavailable = 20503,
  InvalidToNumber = 21211,
  InvalidFromNumber = 21212,
  RegionNotEnabled = 21408,
  BodyRequired = 21602,
  FromRequired = 21603,
  ToRequired = 21604,
  FromNotMessageCapable = 21606,
  ToNotVerifiedOnTrial = 21608,
  UnsubscribedRecipient = 21610,
  FromQueueFull = 21611,
  ToFromCombinationNotRoutable = 21612,
  ToNotMobile = 21614,
  BodyTooLong = 21617,
  InvalidContentSid = 21655,
  SystemUnderMaintenance = 21730,
  FromToChannelMismatch = 21910,
  QueueOverflow = 30001,
  UnreachableHandset = 30003,
  MessageBlocked = 30004,
  UnknownHandset = 30005,
  LandlineOrUnreachableCarrier = 30006,
  MessageFiltered = 30007,
  UnknownCarrierError = 30008,
  ChannelAuthenticationFailed = 63001,
  ChannelFromNotFound = 63002,
  ChannelToNotFound = 63003,
  ChannelContentNotAccepted = 63005,
  NoChannelForFrom = 63007,
  ChannelMisconfigured = 63008,
  ChannelPolicyViolation = 63013,
  BlockedByRecipient = 63014,
  SandboxRecipientNotJoined = 63015,
  OutsideMessagingWindow = 63016,
  AccountRateLimitExceeded = 63017,
  ChannelRateLimitExceeded = 63018,
  BusinessManagerAccountError = 63020,
  ChannelInvalidContent = 63021,
  InvalidRecipient = 63024,
  TemplateNotFoundForLanguage = 63027,
  TemplateParameterCountMismatch = 63028,
  SameFromAndTo = 63031,
  WhatsAppExperimentLimitation = 63032,
  DailyMessageLimitExceeded = 63038,
  MarketingMessageNotDelivered = 63049,
}

export interface TwilioErrorInfo {
  code: number;
  retryClass: RetryClass;
  /** Twilio's short name for the error. */
  title: string;
  /** One-line instruction for the operator (the runbook's "Solution" column). */
  hint: string;
}

const E164_AND_WHATSAPP_HINT = 'Include the country code: +1234567890 (E.164); check the number is on WhatsApp';

/**
 * Retry policy per Twilio error code. A code absent from this table is treated as permanent
 * (see classifyFailure), so only codes that are known to clear up on their own are retryable.
 */
export const TWILIO_ERROR_CODES: Readonly<Record<number, TwilioErrorInfo>> = deepFreeze({
  [TwilioErrorCode.PermissionDenied]: {
    code: TwilioErrorCode.PermissionDenied,
    retryClass: RetryClass.Permanent,
    title: 'Permission Denied',
    hint: 'Twilio rejected the credentials: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY/TWILIO_API_SECRET)',
  },
  [TwilioErrorCode.NotFound]: {
    code: TwilioErrorCode.NotFound,
    retryClass: RetryClass.Permanent,
    title: 'Not Found',
    hint: 'The Twilio resource does not exist on this account: check TWILIO_ACCOUNT_SID and TWILIO_MESSAGING_SERVICE_SID',
  },
  [TwilioErrorCode.TooManyRequests]: {
    code: TwilioErrorCode.TooManyRequests,
    retryClass: RetryClass.Retryable,
    title: 'Too Many Requests',
    hint: 'Twilio API rate limit hit: retries back off on their own; lower TWILIO_MPS if it keeps happening',
  },
  // Twilio's own docs warn that a POST retried after a 500 may send the message twice;
  // classifyFailure reports these as "may have reached Twilio" for that reason.
  [TwilioErrorCode.InternalServerError]: {
    code: TwilioErrorCode.InternalServerError,
    retryClass: RetryClass.Retryable,
    title: 'Internal Server Error',
    hint: 'Twilio-side error: retried with back-off; check status.twilio.com and the message log for a duplicate',
  },
  [TwilioErrorCode.ServiceUnavailable]: {
    code: TwilioErrorCode.ServiceUnavailable,
    retryClass: RetryClass.Retryable,
    title: 'Service unavailable',
    hint: 'Twilio is temporarily unavailable: retried with back-off; check status.twilio.com if it persists',
  },
  [TwilioErrorCode.InvalidToNumber]: {
    code: TwilioErrorCode.InvalidToNumber,
    retryClass: RetryClass.Permanent,
    title: "Invalid 'To' Phone Number",
    hint: 'Fix the recipient number: E.164 with country code, e.g. +1234567890',
  },
  [TwilioErrorCode.InvalidFromNumber]: {
    code: TwilioErrorCode.InvalidFromNumber,
    retryClass: RetryClass.Permanent,
    title: "Invalid 'From' Phone Number",
    hint: 'Fix the sender: TWILIO_WHATSAPP_FROM must be whatsapp:+E164 of a number on this account',
  },
  [TwilioErrorCode.RegionNotEnabled]: {
    code: TwilioErrorCode.RegionNotEnabled,
    retryClass: RetryClass.Permanent,
    title: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number",
    hint: "Enable the recipient's country in Console > Messaging > Settings > Geo permissions",
  },
  [TwilioErrorCode.BodyRequired]: {
    code: TwilioErrorCode.BodyRequired,
    retryClass: RetryClass.Permanent,
    title: 'Message body is required',
    hint: 'The request had no body, media or contentSid: fix the caller',
  },
  [TwilioErrorCode.FromRequired]: {
    code: TwilioErrorCode.FromRequired,
    retryClass: RetryClass.Permanent,
    title: "'From' phone number is required to send a Message",
    hint: 'No sender was set: configure TWILIO_WHATSAPP_FROM or TWILIO_MESSAGING_SERVICE_SID',
  },
  [TwilioErrorCode.ToRequired]: {
    code: TwilioErrorCode.ToRequired,
    retryClass: RetryClass.Permanent,
    title: "'To' phone number is required to send a Message",
    hint: 'The request had no recipient: fix the caller',
  },
  [TwilioErrorCode.FromNotMessageCapable]: {
    code: TwilioErrorCode.FromNotMessageCapable,
    retryClass: RetryClass.Permanent,
    title: "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination/account",
    hint: 'The sender is not message-capable on this account: check TWILIO_WHATSAPP_FROM and the credentials in use',
  },
  [TwilioErrorCode.ToNotVerifiedOnTrial]: {
    code: TwilioErrorCode.ToNotVerifiedOnTrial,
    retryClass: RetryClass.Permanent,
    title: "The 'to' phone number provided is not yet verified for this account.",
    hint: 'Trial account: verify the recipient in Console or upgrade the account',
  },
  [TwilioErrorCode.UnsubscribedRecipient]: {
    code: TwilioErrorCode.UnsubscribedRecipient,
    retryClass: RetryClass.Permanent,
    title: 'Attempt to send to unsubscribed recipient',
    hint: 'The recipient opted out (STOP); do not resend until they opt in (START)',
  },
  // Twilio refuses new messages once a sender has ~10 hours of backlog; the backlog drains,
  // so the message goes through once the queue is shorter.
  [TwilioErrorCode.FromQueueFull]: {
    code: TwilioErrorCode.FromQueueFull,
    retryClass: RetryClass.Retryable,
    title: "This 'From' number has exceeded the maximum number of queued messages",
    hint: 'The sender has hours of backlog queued at Twilio: lower TWILIO_MPS or add throughput',
  },
  [TwilioErrorCode.ToFromCombinationNotRoutable]: {
    code: TwilioErrorCode.ToFromCombinationNotRoutable,
    retryClass: RetryClass.Permanent,
    title: "Message cannot be sent with the current combination of 'To' and/or 'From' parameters",
    hint: "Twilio cannot route this To/From pair: check both are whatsapp:+E164 and the sender may reach that country",
  },
  [TwilioErrorCode.ToNotMobile]: {
    code: TwilioErrorCode.ToNotMobile,
    retryClass: RetryClass.Permanent,
    title: "'To' number is not a valid mobile number",
    hint: E164_AND_WHATSAPP_HINT,
  },
  [TwilioErrorCode.BodyTooLong]: {
    code: TwilioErrorCode.BodyTooLong,
    retryClass: RetryClass.Permanent,
    title: 'The concatenated message body exceeds the 1600 character limit',
    hint: 'Shorten the body to 1600 characters or fewer (emoji and non-GSM characters count extra)',
  },
  [TwilioErrorCode.InvalidContentSid]: {
    code: TwilioErrorCode.InvalidContentSid,
    retryClass: RetryClass.Permanent,
    title: 'The ContentSid is Invalid',
    hint: 'Check the contentSid: HX plus 32 hex characters, not deleted, owned by this account',
  },
  [TwilioErrorCode.SystemUnderMaintenance]: {
    code: TwilioErrorCode.SystemUnderMaintenance,
    retryClass: RetryClass.Retryable,
    title: 'System under maintenance. Please try again later.',
    hint: 'Twilio is in scheduled maintenance: retried with back-off; check status.twilio.com',
  },
  [TwilioErrorCode.FromToChannelMismatch]: {
    code: TwilioErrorCode.FromToChannelMismatch,
    retryClass: RetryClass.Permanent,
    title: 'Invalid From and To pair. From and To should be of the same channel',
    hint: 'Prefix both To and From with whatsapp: so they are on the same channel',
  },
  [TwilioErrorCode.QueueOverflow]: {
    code: TwilioErrorCode.QueueOverflow,
    retryClass: RetryClass.Retryable,
    title: 'Queue overflow',
    hint: "The sender's Twilio queue overflowed: lower TWILIO_MPS or ask Twilio for more throughput",
  },
  // Usually the handset is off or out of coverage for a while: one later attempt often gets
  // through, but resending again and again costs money and looks like spam to the carrier.
  [TwilioErrorCode.UnreachableHandset]: {
    code: TwilioErrorCode.UnreachableHandset,
    retryClass: RetryClass.RetryOnceLater,
    title: 'Unreachable destination handset',
    hint: E164_AND_WHATSAPP_HINT,
  },
  [TwilioErrorCode.MessageBlocked]: {
    code: TwilioErrorCode.MessageBlocked,
    retryClass: RetryClass.Permanent,
    title: 'Message blocked',
    hint: 'The recipient or their carrier blocked the message: do not resend unless they unblock the sender',
  },
  [TwilioErrorCode.UnknownHandset]: {
    code: TwilioErrorCode.UnknownHandset,
    retryClass: RetryClass.Permanent,
    title: 'Unknown destination handset',
    hint: 'The number is unknown or out of service: confirm it with the recipient',
  },
  [TwilioErrorCode.LandlineOrUnreachableCarrier]: {
    code: TwilioErrorCode.LandlineOrUnreachableCarrier,
    retryClass: RetryClass.Permanent,
    title: 'Landline or unreachable carrier',
    hint: 'The number is a landline or its carrier is unreachable: ask the recipient for a mobile number',
  },
  [TwilioErrorCode.MessageFiltered]: {
    code: TwilioErrorCode.MessageFiltered,
    retryClass: RetryClass.Permanent,
    title: 'Message filtered',
    hint: 'Filtered as spam or against policy: change the content (links, wording) before sending again',
  },
  [TwilioErrorCode.UnknownCarrierError]: {
    code: TwilioErrorCode.UnknownCarrierError,
    retryClass: RetryClass.Retryable,
    title: 'Unknown error',
    hint: 'The carrier/channel gave no reason: retried with back-off; give Twilio Support the Message SID if it repeats',
  },
  [TwilioErrorCode.ChannelAuthenticationFailed]: {
    code: TwilioErrorCode.ChannelAuthenticationFailed,
    retryClass: RetryClass.Permanent,
    title: 'Channel could not authenticate the request. Please see Channel specific error message for more information',
    hint: 'WhatsApp rejected the sender credentials: reconnect the WhatsApp sender in Console',
  },
  [TwilioErrorCode.ChannelFromNotFound]: {
    code: TwilioErrorCode.ChannelFromNotFound,
    retryClass: RetryClass.Permanent,
    title: 'Channel could not find the From address',
    hint: 'TWILIO_WHATSAPP_FROM is wrong or not a WhatsApp address: use whatsapp:+E164 of the registered sender',
  },
  [TwilioErrorCode.ChannelToNotFound]: {
    code: TwilioErrorCode.ChannelToNotFound,
    retryClass: RetryClass.Permanent,
    title: 'Channel could not find To address',
    hint: 'The recipient is not an active WhatsApp user or the address is wrong: use whatsapp:+E164',
  },
  // Reads like a generic failure, but Twilio documents it as WhatsApp refusing this content or
  // recipient (bad media, session-only fields, restricted country); a resend gets the same answer.
  [TwilioErrorCode.ChannelContentNotAccepted]: {
    code: TwilioErrorCode.ChannelContentNotAccepted,
    retryClass: RetryClass.Permanent,
    title: 'Channel did not accept given content. Please see Channel specific error message for more information',
    hint: "WhatsApp refused the content or recipient: check the media file, template vs session fields and the recipient's country",
  },
  [TwilioErrorCode.NoChannelForFrom]: {
    code: TwilioErrorCode.NoChannelForFrom,
    retryClass: RetryClass.Permanent,
    title: "Twilio could not find a Channel with the specified 'From' address",
    hint: 'TWILIO_WHATSAPP_FROM is not an approved WhatsApp sender on this account (or approval is pending)',
  },
  [TwilioErrorCode.ChannelMisconfigured]: {
    code: TwilioErrorCode.ChannelMisconfigured,
    retryClass: RetryClass.Permanent,
    title: 'Request failed: channel module misconfigured. Check Channel config in Twilio',
    hint: 'Fix the WhatsApp channel configuration in Console and the whatsapp: address format',
  },
  [TwilioErrorCode.ChannelPolicyViolation]: {
    code: TwilioErrorCode.ChannelPolicyViolation,
    retryClass: RetryClass.Permanent,
    title: 'Channel policy violation',
    hint: 'The message breaks WhatsApp policy: fix the content (also: no more than 4 spaces in a placeholder)',
  },
  [TwilioErrorCode.BlockedByRecipient]: {
    code: TwilioErrorCode.BlockedByRecipient,
    retryClass: RetryClass.Permanent,
    title: 'Channel message blocked by user action',
    hint: 'The recipient blocked the sender or withdrew consent: do not resend until they message you again',
  },
  [TwilioErrorCode.SandboxRecipientNotJoined]: {
    code: TwilioErrorCode.SandboxRecipientNotJoined,
    retryClass: RetryClass.Permanent,
    title: 'Channel Sandbox can only send messages to phone numbers that have joined the Sandbox',
    hint: "The recipient must send 'join <code>' to the sandbox number (again every 3 days)",
  },
  [TwilioErrorCode.OutsideMessagingWindow]: {
    code: TwilioErrorCode.OutsideMessagingWindow,
    retryClass: RetryClass.Permanent,
    title: 'Outside messaging window. For WhatsApp, use a Message Template instead',
    hint: 'Outside the 24-hour window: send an approved template (contentSid) instead',
  },
  [TwilioErrorCode.AccountRateLimitExceeded]: {
    code: TwilioErrorCode.AccountRateLimitExceeded,
    retryClass: RetryClass.Retryable,
    title: 'Rate limit exceeded',
    hint: 'The account is over its combined messages-per-second limit: lower TWILIO_MPS',
  },
  [TwilioErrorCode.ChannelRateLimitExceeded]: {
    code: TwilioErrorCode.ChannelRateLimitExceeded,
    retryClass: RetryClass.Retryable,
    title: 'Rate limit exceeded for Channel',
    hint: 'Sender is over its rate limit: lower TWILIO_MPS or ask Twilio for more throughput',
  },
  [TwilioErrorCode.BusinessManagerAccountError]: {
    code: TwilioErrorCode.BusinessManagerAccountError,
    retryClass: RetryClass.Permanent,
    title: 'Twilio encountered a Business Manager account error',
    hint: 'The Meta Business Manager account has a problem (often billing): fix it in Meta Business Manager',
  },
  [TwilioErrorCode.ChannelInvalidContent]: {
    code: TwilioErrorCode.ChannelInvalidContent,
    retryClass: RetryClass.Permanent,
    title: 'Channel invalid content error',
    hint: 'WhatsApp rejected the content: check the media MIME type and keep template text plus variables under 1024 characters',
  },
  [TwilioErrorCode.InvalidRecipient]: {
    code: TwilioErrorCode.InvalidRecipient,
    retryClass: RetryClass.Permanent,
    title: 'Invalid message recipient',
    hint: "The recipient can't get WhatsApp messages: not on WhatsApp, terms not accepted, or an outdated app",
  },
  [TwilioErrorCode.TemplateNotFoundForLanguage]: {
    code: TwilioErrorCode.TemplateNotFoundForLanguage,
    retryClass: RetryClass.Permanent,
    title: 'Template does not exist for a language and locale',
    hint: 'No approved template for this language: check the contentSid and its approved languages',
  },
  [TwilioErrorCode.TemplateParameterCountMismatch]: {
    code: TwilioErrorCode.TemplateParameterCountMismatch,
    retryClass: RetryClass.Permanent,
    title: 'Number of parameters provided does not match the expected number of parameters',
    hint: 'contentVariables do not match the template: send exactly one value per {{n}} placeholder',
  },
  [TwilioErrorCode.SameFromAndTo]: {
    code: TwilioErrorCode.SameFromAndTo,
    retryClass: RetryClass.Permanent,
    title: "Channels message cannot have same 'From' and 'To'",
    hint: 'To is the sender itself: fix the recipient',
  },
  // Meta keeps some users in a marketing experiment for an unspecified time; a later retry of
  // the same marketing template keeps failing.
  [TwilioErrorCode.WhatsAppExperimentLimitation]: {
    code: TwilioErrorCode.WhatsAppExperimentLimitation,
    retryClass: RetryClass.Permanent,
    title: 'We cannot send this message to this user because of a WhatsApp limitation',
    hint: 'Meta holds this user in a marketing experiment: use a utility template or SMS instead',
  },
  // The limit is over a rolling 24 hours, so it clears by itself; the back-off keeps trying
  // until the job's attempts run out.
  [TwilioErrorCode.DailyMessageLimitExceeded]: {
    code: TwilioErrorCode.DailyMessageLimitExceeded,
    retryClass: RetryClass.Retryable,
    title: 'Account exceeded the daily messages limit',
    hint: 'The account hit its 24-hour message cap: wait for the window to reset or ask Twilio Support to raise it',
  },
  // Meta never delivers marketing templates to US numbers and throttles others for days; Twilio
  // says not to resend right away, so an automatic retry only burns attempts.
  [TwilioErrorCode.MarketingMessageNotDelivered]: {
    code: TwilioErrorCode.MarketingMessageNotDelivered,
    retryClass: RetryClass.Permanent,
    title: 'Meta chose not to deliver this WhatsApp marketing message',
    hint: 'Meta is limiting marketing templates to this user (none to US numbers): use a utility template or SMS',
  },
});

/** Codes that mean Twilio failed while handling the request, so it may have created the message. */
const SERVER_SIDE_TWILIO_CODES: ReadonlySet<number> = new Set([TwilioErrorCode.InternalServerError]);

/**
 * 503 means Twilio refused to process the request (nothing was created); a 500, 502 or 504 can
 * come after the message was created, so a retry must look for it first.
 */
function mayHaveCreated(httpStatus: number | null | undefined): boolean {
  return isServerError(httpStatus) && httpStatus !== 503;
}

/** Node/undici error codes seen when calling the Twilio API ("socket hang up" arrives as ECONNRESET). */
export enum NetworkErrorCode {
  ConnectionRefused = 'ECONNREFUSED',
  DnsLookupTemporaryFailure = 'EAI_AGAIN',
  DnsLookupNotFound = 'ENOTFOUND',
  NetworkUnreachable = 'ENETUNREACH',
  HostUnreachable = 'EHOSTUNREACH',
  ConnectTimeout = 'UND_ERR_CONNECT_TIMEOUT',
  ConnectionReset = 'ECONNRESET',
  TimedOut = 'ETIMEDOUT',
  ConnectionAborted = 'ECONNABORTED',
  SocketTimedOut = 'ESOCKETTIMEDOUT',
  BrokenPipe = 'EPIPE',
  SocketError = 'UND_ERR_SOCKET',
  HeadersTimeout = 'UND_ERR_HEADERS_TIMEOUT',
  BodyTimeout = 'UND_ERR_BODY_TIMEOUT',
}

/**
 * These fail while resolving or connecting, before a byte of the request is written, so a
 * resend cannot duplicate the message. Every other network failure may have happened after
 * Twilio accepted the request. ETIMEDOUT is in the second group because Node raises it for
 * read timeouts as well as connect timeouts.
 */
const FAILS_BEFORE_SENDING: ReadonlySet<string> = new Set<string>([
  NetworkErrorCode.ConnectionRefused,
  NetworkErrorCode.DnsLookupTemporaryFailure,
  NetworkErrorCode.DnsLookupNotFound,
  NetworkErrorCode.NetworkUnreachable,
  NetworkErrorCode.HostUnreachable,
  NetworkErrorCode.ConnectTimeout,
]);

const HTTP_TOO_MANY_REQUESTS = 429;
const HTTP_SERVER_ERROR_MIN = 500;
const HTTP_SERVER_ERROR_MAX = 599;

export function describeTwilioError(code: number | null | undefined): TwilioErrorInfo | undefined {
  if (code === null || code === undefined || !Object.prototype.hasOwnProperty.call(TWILIO_ERROR_CODES, code)) return undefined;
  return TWILIO_ERROR_CODES[code];
}

export function operatorHint(code: number | null | undefined): string | undefined {
  return describeTwilioError(code)?.hint;
}

export interface SendFailure {
  twilioCode?: number | null;
  httpStatus?: number | null;
  /** e.g. 'ECONNRESET', 'ETIMEDOUT', 'ECONNABORTED', 'ECONNREFUSED', 'EAI_AGAIN', 'ESOCKETTIMEDOUT', 'UND_ERR_SOCKET' */
  networkCode?: string | null;
  timedOut?: boolean;
}

export interface FailureClassification {
  retryClass: RetryClass;
  reason: string;
  hint?: string;
  /** true when the request may have reached Twilio (timeout/reset after sending), so a blind resend could duplicate */
  mayHaveReachedTwilio: boolean;
}

/**
 * Decides retry vs. fail for one failed send attempt. What Twilio answered (its error code,
 * then the HTTP status) wins over what the network reported, because an answer proves the
 * request arrived and says why it failed.
 */
export function classifyFailure(failure: SendFailure): FailureClassification {
  const { twilioCode, httpStatus } = failure;
  const serverError = isServerError(httpStatus);

  if (twilioCode !== null && twilioCode !== undefined) {
    const known = describeTwilioError(twilioCode);
    if (known) {
      return {
        retryClass: known.retryClass,
        reason: `Twilio ${known.code}: ${known.title}`,
        hint: known.hint,
        mayHaveReachedTwilio: mayHaveCreated(httpStatus) || SERVER_SIDE_TWILIO_CODES.has(known.code),
      };
    }
    const docsHint = `Unlisted Twilio error: see https://www.twilio.com/docs/api/errors/${twilioCode}`;
    if (serverError || httpStatus === HTTP_TOO_MANY_REQUESTS) {
      return {
        retryClass: RetryClass.Retryable,
        reason: `Twilio ${twilioCode} with HTTP ${httpStatus}`,
        hint: docsHint,
        mayHaveReachedTwilio: mayHaveCreated(httpStatus),
      };
    }
    // An unlisted rejection is most likely about this message (number, content, account), so a
    // retry rarely helps and every accepted attempt is billed; fail it and let an operator look.
    return {
      retryClass: RetryClass.Permanent,
      reason: `Twilio ${twilioCode} (not in the error table)`,
      hint: docsHint,
      mayHaveReachedTwilio: false,
    };
  }

  if (httpStatus !== null && httpStatus !== undefined) {
    if (httpStatus === HTTP_TOO_MANY_REQUESTS) {
      return {
        retryClass: RetryClass.Retryable,
        reason: `HTTP ${httpStatus} from Twilio`,
        hint: TWILIO_ERROR_CODES[TwilioErrorCode.TooManyRequests].hint,
        mayHaveReachedTwilio: false,
      };
    }
    if (serverError) {
      return {
        retryClass: RetryClass.Retryable,
        reason: `HTTP ${httpStatus} from Twilio`,
        hint: 'Twilio or its edge failed: retried with back-off; check status.twilio.com and the message log for a duplicate',
        mayHaveReachedTwilio: mayHaveCreated(httpStatus),
      };
    }
    return {
      retryClass: RetryClass.Permanent,
      reason: `HTTP ${httpStatus} from Twilio without an error code`,
      hint: 'Twilio refused the request: check credentials, TWILIO_API_BASE_URL and the request parameters',
      mayHaveReachedTwilio: false,
    };
  }

  const networkCode = failure.networkCode ? failure.networkCode.toUpperCase() : undefined;
  if (networkCode && FAILS_BEFORE_SENDING.has(networkCode)) {
    return {
      retryClass: RetryClass.Retryable,
      reason: `Network error ${networkCode} before the request reached Twilio`,
      hint: 'Could not connect to Twilio: check DNS and outbound network access to api.twilio.com',
      mayHaveReachedTwilio: false,
    };
  }
  if (failure.timedOut || networkCode) {
    return {
      retryClass: RetryClass.Retryable,
      reason: networkCode ? `Network error ${networkCode} after the request was sent` : 'Request to Twilio timed out',
      hint: 'No answer from Twilio: the message may exist; check the Twilio message log before resending by hand',
      mayHaveReachedTwilio: true,
    };
  }

  // Nothing identifies the failure (e.g. an unreadable response). Twilio may have accepted the
  // message, so an automatic retry risks a duplicate without any sign that it would help.
  return {
    retryClass: RetryClass.Permanent,
    reason: 'Unidentified send failure',
    hint: 'Check the worker log for the underlying error and the Twilio message log before resending',
    mayHaveReachedTwilio: true,
  };
}

function isServerError(httpStatus: number | null | undefined): boolean {
  return (
    httpStatus !== null &&
    httpStatus !== undefined &&
    httpStatus >= HTTP_SERVER_ERROR_MIN &&
    httpStatus <= HTTP_SERVER_ERROR_MAX
  );
}

function deepFreeze<T extends Record<number, TwilioErrorInfo>>(table: T): Readonly<T> {
  for (const entry of Object.values(table)) Object.freeze(entry);
  return Object.freeze(table);
}
