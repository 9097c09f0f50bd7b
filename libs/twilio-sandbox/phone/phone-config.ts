import { FailureStatus, SuccessFinalStatus } from '../sandbox.types';
import { SimulatedErrorCode } from '../simulated-errors';

/** A failure the page offers on a message, with the status Twilio reports that code under. */
export interface PhoneFailureOption {
  status: FailureStatus;
  code: SimulatedErrorCode;
  label: string;
}

/** Where new messages to a number stop, set as the number's fate; `read` is the normal lifecycle (no fate). */
export interface PhoneHoldOption {
  value: SuccessFinalStatus;
  label: string;
}

/** What the server embeds in the page (`#phone-config`) for phone.js. */
export interface PhonePageConfig {
  controlPrefix: string;
  pollIntervalMs: number;
  /** Replies go to the business number of the conversation's last WhatsApp message, or to this. */
  defaultSender: string;
  failures: PhoneFailureOption[];
  holds: PhoneHoldOption[];
}
