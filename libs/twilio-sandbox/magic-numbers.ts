import { SimulatedErrorCode, TwilioApiError, numberErrors } from './simulated-errors';
import { TwilioMessageStatus } from './sandbox.types';

export enum MagicNumberField {
  To = 'To',
  From = 'From',
}

export enum MagicNumberEffect {
  /** The create request is refused with HTTP 400 and the error code. */
  RejectOnCreate = 'reject-on-create',
  /** The create succeeds (201), then the status callbacks end in failure with the error code. */
  FailAfterAccept = 'fail-after-accept',
}

export interface MagicNumber {
  /** E.164, matched on the part after `whatsapp:`. */
  number: string;
  field: MagicNumberField;
  effect: MagicNumberEffect;
  errorCode: SimulatedErrorCode;
  /** Final status for FailAfterAccept numbers. */
  finalStatus?: TwilioMessageStatus.Failed | TwilioMessageStatus.Undelivered;
  description: string;
}

/**
 * The first rows are the magic numbers of Twilio's test credentials
 * (https://www.twilio.com/docs/iam/test-credentials), so code written against the
 * sandbox behaves the same with Twilio's test account. The +1500555001x rows are
 * the sandbox's own: Twilio accepts those sends and fails them later, which test
 * credentials cannot show because they never send anything.
 */
export const MAGIC_NUMBERS: readonly MagicNumber[] = [
  {
    number: '+15005550001',
    field: MagicNumberField.To,
    effect: MagicNumberEffect.RejectOnCreate,
    errorCode: SimulatedErrorCode.InvalidToNumber,
    description: 'Invalid To number',
  },
  {
    number: '+15005550002',
    field: MagicNumberField.To,
    effect: MagicNumberEffect.RejectOnCreate,
    errorCode: SimulatedErrorCode.ToNotReachable,
    description: 'To number cannot be routed to',
  },
  {
    number: '+15005550003',
    field: MagicNumberField.To,
    effect: MagicNumberEffect.RejectOnCreate,
    errorCode: SimulatedErrorCode.RegionNotEnabled,
    description: 'No permission to send to the region of the To number',
  },
  {
    number: '+15005550004',
    field: MagicNumberField.To,
    effect: MagicNumberEffect.RejectOnCreate,
    errorCode: SimulatedErrorCode.UnsubscribedRecipient,
    description: 'To number has unsubscribed (blocked you)',
  },
  {
    number: '+15005550009',
    field: MagicNumberField.To,
    effect: MagicNumberEffect.RejectOnCreate,
    errorCode: SimulatedErrorCode.ToNotMobile,
    description: 'To number cannot receive messages (not a mobile / WhatsApp number)',
  },
  {
    number: '+15005550001',
    field: MagicNumberField.From,
    effect: MagicNumberEffect.RejectOnCreate,
    errorCode: SimulatedErrorCode.InvalidFromNumber,
    description: 'Invalid From number',
  },
  {
    number: '+15005550007',
    field: MagicNumberField.From,
    effect: MagicNumberEffect.RejectOnCreate,
    errorCode: SimulatedErrorCode.FromNotOwned,
    description: 'From number is not owned by the account',
  },
  {
    number: '+15005550008',
    field: MagicNumberField.From,
    effect: MagicNumberEffect.RejectOnCreate,
    errorCode: SimulatedErrorCode.FromQueueFull,
    description: "From number's message queue is full",
  },
  {
    number: '+15005550010',
    field: MagicNumberField.To,
    effect: MagicNumberEffect.FailAfterAccept,
    errorCode: SimulatedErrorCode.UnreachableHandset,
    finalStatus: TwilioMessageStatus.Undelivered,
    description: 'Accepted and sent, then undelivered: handset unreachable',
  },
  {
    number: '+15005550011',
    field: MagicNumberField.To,
    effect: MagicNumberEffect.FailAfterAccept,
    errorCode: SimulatedErrorCode.UnknownError,
    finalStatus: TwilioMessageStatus.Failed,
    description: 'Accepted, then failed: unknown error',
  },
  {
    number: '+15005550012',
    field: MagicNumberField.To,
    effect: MagicNumberEffect.FailAfterAccept,
    errorCode: SimulatedErrorCode.OutsideSessionWindow,
    finalStatus: TwilioMessageStatus.Failed,
    description: 'Accepted, then failed: outside the WhatsApp 24h window (free-form message)',
  },
  {
    number: '+15005550013',
    field: MagicNumberField.To,
    effect: MagicNumberEffect.FailAfterAccept,
    errorCode: SimulatedErrorCode.InvalidRecipient,
    finalStatus: TwilioMessageStatus.Failed,
    description: 'Accepted, then failed: invalid WhatsApp recipient',
  },
  {
    number: '+15005550014',
    field: MagicNumberField.To,
    effect: MagicNumberEffect.FailAfterAccept,
    errorCode: SimulatedErrorCode.UnknownDestination,
    finalStatus: TwilioMessageStatus.Undelivered,
    description: 'Accepted and sent, then undelivered: unknown destination',
  },
];

export function findMagicNumber(field: MagicNumberField, number: string): MagicNumber | undefined {
  return MAGIC_NUMBERS.find((entry) => entry.field === field && entry.number === number);
}

/** The refusal a RejectOnCreate number gets, worded with the addresses as posted. */
export function magicRejection(entry: MagicNumber, to: string, from: string, channelName: string): TwilioApiError {
  switch (entry.errorCode) {
    case SimulatedErrorCode.InvalidToNumber:
      return numberErrors.invalidTo(to);
    case SimulatedErrorCode.InvalidFromNumber:
      return numberErrors.invalidFrom(from);
    case SimulatedErrorCode.FromNotOwned:
      return numberErrors.fromNotOwned(from);
    case SimulatedErrorCode.RegionNotEnabled:
      return numberErrors.regionNotEnabled(to);
    case SimulatedErrorCode.ToNotReachable:
      return numberErrors.notReachable(to, from, channelName);
    case SimulatedErrorCode.ToNotMobile:
      return numberErrors.notMobile(to);
    default:
      return TwilioApiError.badRequest(entry.errorCode);
  }
}
