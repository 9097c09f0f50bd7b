import { RenderedTemplate } from './content-templates';
import { MagicNumberEffect, MagicNumberField, findMagicNumber, magicRejection } from './magic-numbers';
import { MessageChannel, PostedParams } from './sandbox.types';
import { TwilioApiError, SimulatedErrorCode, numberErrors } from './simulated-errors';
import { allValues, firstValue, isE164, isHttpUrl, parseAddress } from './twilio-format';

const MAX_BODY_LENGTH = 1600;
const MAX_MEDIA_URLS = 10;
const MESSAGING_SERVICE_SID = /^MG[0-9a-fA-F]{32}$/;

/** A create request that passed Twilio's checks. */
export interface CreateMessageRequest {
  to: string;
  toNumber: string;
  /** Null when a Messaging Service picks the sender. */
  from: string | null;
  messagingServiceSid: string | null;
  channel: MessageChannel;
  body: string;
  mediaUrls: string[];
  contentSid: string | null;
  contentVariables: Record<string, string> | null;
  statusCallback: string | null;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function channelName(channel: MessageChannel): string {
  return channel === MessageChannel.WhatsApp ? 'WhatsApp' : 'SMS';
}

/**
 * Checks a `POST .../Messages.json` form in the order Twilio reports problems:
 * missing fields, malformed addresses, channel mismatch, content limits, then
 * the magic numbers. Throws the TwilioApiError Twilio would answer with.
 */
export function parseCreateMessageRequest(params: PostedParams, renderTemplate: (contentSid: string, rawVariables: string | undefined) => RenderedTemplate): CreateMessageRequest {
  const to = nonEmpty(firstValue(params.To));
  const from = nonEmpty(firstValue(params.From));
  const messagingServiceSid = nonEmpty(firstValue(params.MessagingServiceSid));
  const rawBody = firstValue(params.Body);
  const mediaUrls = allValues(params.MediaUrl).filter((url) => url.trim() !== '');
  const contentSid = nonEmpty(firstValue(params.ContentSid));
  const contentVariables = nonEmpty(firstValue(params.ContentVariables));
  const statusCallback = nonEmpty(firstValue(params.StatusCallback));

  if (to === undefined) {
    throw TwilioApiError.badRequest(SimulatedErrorCode.ToRequired);
  }
  if (from === undefined && messagingServiceSid === undefined) {
    throw TwilioApiError.badRequest(SimulatedErrorCode.FromRequired);
  }
  if ((rawBody === undefined || rawBody === '') && mediaUrls.length === 0 && contentSid === undefined) {
    throw TwilioApiError.badRequest(SimulatedErrorCode.MessageBodyRequired);
  }
  if (contentVariables !== undefined && contentSid === undefined) {
    throw TwilioApiError.badRequest(SimulatedErrorCode.ContentSidRequired);
  }
  if (messagingServiceSid !== undefined && !MESSAGING_SERVICE_SID.test(messagingServiceSid)) {
    throw numberErrors.invalidMessagingService(messagingServiceSid);
  }

  const toAddress = parseAddress(to);
  if (!isE164(toAddress.number)) {
    throw numberErrors.invalidTo(to);
  }
  const fromAddress = from === undefined ? undefined : parseAddress(from);
  if (fromAddress && from !== undefined && !isE164(fromAddress.number)) {
    throw numberErrors.invalidFrom(from);
  }
  if (fromAddress && fromAddress.channel !== toAddress.channel) {
    throw TwilioApiError.badRequest(SimulatedErrorCode.InvalidFromToPair);
  }

  let body = rawBody ?? '';
  let renderedVariables: Record<string, string> | null = null;
  if (contentSid !== undefined) {
    const rendered = renderTemplate(contentSid, contentVariables);
    body = rendered.body;
    renderedVariables = rendered.variables;
  }
  if (body.length > MAX_BODY_LENGTH) {
    throw TwilioApiError.badRequest(SimulatedErrorCode.BodyTooLong);
  }
  if (mediaUrls.length > MAX_MEDIA_URLS) {
    throw TwilioApiError.badRequest(SimulatedErrorCode.TooManyMedia);
  }
  if (mediaUrls.some((url) => !isHttpUrl(url))) {
    throw TwilioApiError.badRequest(SimulatedErrorCode.InvalidMediaUrl);
  }
  if (statusCallback !== undefined && !isHttpUrl(statusCallback)) {
    throw numberErrors.invalidStatusCallback(statusCallback);
  }

  const channel = toAddress.channel;
  const magicTo = findMagicNumber(MagicNumberField.To, toAddress.number);
  if (magicTo?.effect === MagicNumberEffect.RejectOnCreate) {
    throw magicRejection(magicTo, to, from ?? '', channelName(channel));
  }
  const magicFrom = fromAddress ? findMagicNumber(MagicNumberField.From, fromAddress.number) : undefined;
  if (magicFrom?.effect === MagicNumberEffect.RejectOnCreate) {
    throw magicRejection(magicFrom, to, from ?? '', channelName(channel));
  }

  return {
    to,
    toNumber: toAddress.number,
    from: from ?? null,
    messagingServiceSid: messagingServiceSid ?? null,
    channel,
    body,
    mediaUrls,
    contentSid: contentSid ?? null,
    contentVariables: renderedVariables,
    statusCallback: statusCallback ?? null,
  };
}
