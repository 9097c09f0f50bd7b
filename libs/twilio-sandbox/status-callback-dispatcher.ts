import { FaultInjector } from './fault-injector';
import { SandboxTimers } from './sandbox-timers';
import {
  MessageChannel,
  SandboxLogger,
  SandboxMessage,
  TwilioMessageStatus,
  SimulatedWebhookKind,
} from './sandbox.types';
import { TWILIO_API_VERSION, parseAddress, toRawDlrDoneDate } from './twilio-format';
import { WebhookSender } from './webhook-sender';

/** WhatsApp callbacks name the receipt that caused them; Twilio sends EventType only for these. */
const EVENT_TYPES: Partial<Record<TwilioMessageStatus, string>> = {
  [TwilioMessageStatus.Delivered]: 'DELIVERED',
  [TwilioMessageStatus.Read]: 'READ',
};

const DLR_STATUSES = new Set<TwilioMessageStatus>([TwilioMessageStatus.Delivered, TwilioMessageStatus.Undelivered]);

/** The form fields of a status callback for the message's current state. */
export function buildStatusCallbackParams(
  message: SandboxMessage,
  channelInstallSid: string,
  at: Date,
): Record<string, string> {
  const resource = message.resource;
  const params: Record<string, string> = {
    AccountSid: resource.account_sid,
    ApiVersion: TWILIO_API_VERSION,
    From: resource.from ?? '',
    To: resource.to,
    MessageSid: resource.sid,
    SmsSid: resource.sid,
    MessageStatus: resource.status,
    SmsStatus: resource.status,
  };
  if (resource.messaging_service_sid) {
    params.MessagingServiceSid = resource.messaging_service_sid;
  }
  if (message.channel === MessageChannel.WhatsApp) {
    params.ChannelPrefix = MessageChannel.WhatsApp;
    params.ChannelToAddress = parseAddress(resource.to).number;
    params.ChannelInstallSid = channelInstallSid;
    params.StructuredMessage = 'false';
    const eventType = EVENT_TYPES[resource.status];
    if (eventType) {
      params.EventType = eventType;
    }
  }
  if (DLR_STATUSES.has(resource.status)) {
    params.RawDlrDoneDate = toRawDlrDoneDate(at);
  }
  if (resource.error_code !== null) {
    params.ErrorCode = String(resource.error_code);
    if (resource.error_message) {
      params.ErrorMessage = resource.error_message;
    }
  }
  return params;
}

interface PendingCallback {
  url: string;
  messageSid: string;
  status: TwilioMessageStatus;
  params: Record<string, string>;
}

/**
 * Sends each message's status callbacks one after another (a message's next
 * callback waits until the previous one, retries included, is done), and applies
 * the callback faults: drop, delay, duplicate, reorder.
 */
export class StatusCallbackDispatcher {
  private readonly chains = new Map<string, Promise<void>>();
  /** A callback held back by the reorder fault, sent right after the message's next one. */
  private readonly held = new Map<string, PendingCallback>();

  constructor(
    private readonly channelInstallSid: string,
    private readonly sender: WebhookSender,
    private readonly faults: FaultInjector,
    private readonly timers: SandboxTimers,
    private readonly logger: SandboxLogger,
  ) {}

  /** `isFinal`: no further callback will follow, so this one must not be held back. */
  dispatch(message: SandboxMessage, isFinal: boolean): void {
    if (!message.statusCallback || this.timers.isStopped) {
      return;
    }
    const callback: PendingCallback = {
      url: message.statusCallback,
      messageSid: message.sid,
      status: message.resource.status,
      params: buildStatusCallbackParams(message, this.channelInstallSid, new Date()),
    };
    if (this.faults.dropCallback()) {
      this.logger.log(`[twilio-sandbox] fault: dropped ${callback.status} callback of ${callback.messageSid}`);
      if (isFinal) {
        this.flushHeld(message.sid);
      }
      return;
    }
    const held = this.held.get(message.sid);
    if (held) {
      this.held.delete(message.sid);
      this.enqueue(callback);
      this.enqueue(held);
    } else if (!isFinal && this.faults.reorderCallback()) {
      this.held.set(message.sid, callback);
    } else {
      this.enqueue(callback);
    }
  }

  forget(messageSid: string): void {
    this.held.delete(messageSid);
  }

  clear(): void {
    this.held.clear();
  }

  private flushHeld(messageSid: string): void {
    const held = this.held.get(messageSid);
    if (held) {
      this.held.delete(messageSid);
      this.enqueue(held);
    }
  }

  private enqueue(callback: PendingCallback): void {
    const delayMs = this.faults.callbackDelayMs();
    const duplicate = this.faults.duplicateCallback();
    const previous = this.chains.get(callback.messageSid) ?? Promise.resolve();
    const next = previous
      .then(async () => {
        if (delayMs > 0 && !(await this.timers.sleep(delayMs))) {
          return;
        }
        const request = {
          kind: SimulatedWebhookKind.StatusCallback,
          configuredUrl: callback.url,
          messageSid: callback.messageSid,
          status: callback.status,
          params: callback.params,
        };
        await this.sender.send(request);
        if (duplicate && !this.timers.isStopped) {
          await this.sender.send(request);
        }
      })
      .catch((error: unknown) => {
        this.logger.error(
          `[twilio-sandbox] status callback ${callback.status} of ${callback.messageSid} crashed: ${String(error)}`,
        );
      });
    this.chains.set(callback.messageSid, next);
    void next.then(() => {
      if (this.chains.get(callback.messageSid) === next) {
        this.chains.delete(callback.messageSid);
      }
    });
  }
}
