import { CreateMessageRequest } from './create-message-request';
import { FaultInjector } from './fault-injector';
import { InboundMessages } from './inbound-messages';
import { MagicNumberEffect, MagicNumberField, findMagicNumber } from './magic-numbers';
import { MessageStore } from './message-store';
import { RequestLog } from './request-log';
import { SandboxControlError } from './sandbox-control.error';
import { SandboxTimers, ScheduledTask } from './sandbox-timers';
import {
  MessageChannel,
  NumberFate,
  SandboxLogger,
  SandboxMessage,
  TwilioMessageStatus,
  isTwilioMessageStatus,
} from './sandbox.types';
import { SenderThroughputGate } from './sender-throughput-gate';
import { SimulatedErrorCode, describeSimulatedError } from './simulated-errors';
import { StatusCallbackDispatcher } from './status-callback-dispatcher';
import { SidPrefix, countSegments, newSid, numberKey, toRfc2822 } from './twilio-format';
import { WebhookSender } from './webhook-sender';

/** How a message will end, decided when it is accepted. */
interface ResolvedFate {
  status: TwilioMessageStatus;
  errorCode: number | null;
  errorMessage: string | null;
}

interface PlannedStage {
  status: TwilioMessageStatus;
  errorCode?: number | null;
  errorMessage?: string | null;
  /** A Messaging Service send gets its sender when it leaves `accepted`. */
  assignsSender?: boolean;
  /** Leaving the queue: waits for a slot under the sender's MPS limit. */
  leavesQueue?: boolean;
}

/** Twilio's WhatsApp sandbox number: the sender a Messaging Service picks when none is given. */
export const DEFAULT_WHATSAPP_SENDER = 'whatsapp:+14155238886';
/** Twilio's test-credential "valid From" number, the SMS counterpart. */
export const DEFAULT_SMS_SENDER = '+15005550006';
// Twilio fills `price` once a message is sent, as a negative amount (a charge); the figure is illustrative.
const MESSAGE_PRICE = '-0.00500';

const FAILURE_STATUSES = new Set<TwilioMessageStatus>([TwilioMessageStatus.Failed, TwilioMessageStatus.Undelivered]);
/** Statuses only reachable after Twilio sent the message; a forced jump to one of them still gets a date_sent. */
const HANDED_ON_STATUSES = new Set<TwilioMessageStatus>([
  TwilioMessageStatus.Sent,
  TwilioMessageStatus.Delivered,
  TwilioMessageStatus.Read,
  TwilioMessageStatus.Undelivered,
]);

/** A status applied at once through the control API. */
export interface ForcedStatus {
  status: `${TwilioMessageStatus}`;
  errorCode?: number;
  errorMessage?: string;
}

// When a failure is forced without a code, use the code Twilio gives for that outcome when it knows no better.
const DEFAULT_FAILURE_CODES: Partial<Record<TwilioMessageStatus, SimulatedErrorCode>> = {
  [TwilioMessageStatus.Failed]: SimulatedErrorCode.UnknownError,
  [TwilioMessageStatus.Undelivered]: SimulatedErrorCode.UnreachableHandset,
};

export interface DeliverySimulationDeps {
  store: MessageStore;
  timers: SandboxTimers;
  faults: FaultInjector;
  requestLog: RequestLog;
  webhooks: WebhookSender;
  /** Whose 24h session window is open, for the sessionWindow fault. */
  inbound: InboundMessages;
  logger: SandboxLogger;
  statusDelayMs: number;
}

/**
 * What happens to a message after Twilio accepted it. Its fate is decided at
 * once (a number's fate, a magic number, the 24h window); then it walks through
 * Twilio's statuses, one stage every statusDelayMs: [accepted ->] queued -> sent
 * -> delivered -> read, or into failed (before sending) / undelivered (after
 * sending), posting a status callback at every stage.
 */
export class DeliverySimulation {
  private readonly pending = new Map<string, ScheduledTask>();
  private readonly fates = new Map<string, NumberFate>();
  private readonly dispatcher: StatusCallbackDispatcher;
  private readonly throughputGate = new SenderThroughputGate();

  constructor(private readonly deps: DeliverySimulationDeps) {
    this.dispatcher = new StatusCallbackDispatcher(
      newSid(SidPrefix.ChannelInstall),
      deps.webhooks,
      deps.faults,
      deps.timers,
      deps.logger,
    );
  }

  start(message: SandboxMessage, request: CreateMessageRequest): void {
    const stages = this.plan(message, this.resolveFate(request));
    // The first callback goes out right after the create answer, like Twilio's `queued`.
    this.scheduleStage(message.sid, stages, 0, Date.now());
  }

  /** Applies a status now and sends its callback, abandoning whatever the message had left to do. */
  forceStatus(sid: string, forced: ForcedStatus): SandboxMessage {
    const message = this.deps.store.get(sid);
    if (!message) {
      throw new SandboxControlError(`no message ${sid}`, 404);
    }
    if (!isTwilioMessageStatus(forced?.status)) {
      throw new SandboxControlError(`status must be one of ${Object.values(TwilioMessageStatus).join(', ')}`);
    }
    if (forced.errorCode !== undefined && (typeof forced.errorCode !== 'number' || !Number.isInteger(forced.errorCode))) {
      throw new SandboxControlError('errorCode must be an integer');
    }
    const errorCode = forced.errorCode ?? DEFAULT_FAILURE_CODES[forced.status] ?? null;
    const errorMessage = errorCode === null ? null : (forced.errorMessage ?? describeSimulatedError(errorCode));
    this.cancel(message.sid);
    this.apply(message, { status: forced.status, errorCode, errorMessage }, new Date());
    this.dispatcher.dispatch(message, true);
    return structuredClone(message);
  }

  /** Where messages accepted from now on to this number end; wins over magic numbers and the 24h window. */
  setNumberFate(number: string, fate: NumberFate): void {
    const isFailure = fate?.status === TwilioMessageStatus.Failed || fate?.status === TwilioMessageStatus.Undelivered;
    const isSuccess =
      fate?.status === TwilioMessageStatus.Sent ||
      fate?.status === TwilioMessageStatus.Delivered ||
      fate?.status === TwilioMessageStatus.Read;
    if (!isFailure && !isSuccess) {
      throw new SandboxControlError('fate.status must be failed, undelivered, sent, delivered or read');
    }
    if (isFailure && typeof (fate as { errorCode?: unknown }).errorCode !== 'number') {
      throw new SandboxControlError('a failed/undelivered fate needs a numeric errorCode');
    }
    this.fates.set(numberKey(number), structuredClone(fate));
  }

  clearNumberFate(number: string): void {
    this.fates.delete(numberKey(number));
  }

  numberFates(): Record<string, NumberFate> {
    return Object.fromEntries(structuredClone([...this.fates.entries()]));
  }

  cancel(sid: string): void {
    this.pending.get(sid)?.cancel();
    this.pending.delete(sid);
    this.dispatcher.forget(sid);
  }

  /** Cancels every pending stage and held callback, and forgets the number fates and sender queues. */
  reset(): void {
    for (const task of this.pending.values()) {
      task.cancel();
    }
    this.pending.clear();
    this.dispatcher.clear();
    this.throughputGate.clear();
    this.fates.clear();
  }

  /** Explicit fates win over magic numbers, which win over the session window policy. */
  private resolveFate(request: CreateMessageRequest): ResolvedFate {
    const explicit = this.fates.get(request.toNumber);
    if (explicit) {
      if ('errorCode' in explicit) {
        return {
          status: explicit.status as TwilioMessageStatus,
          errorCode: explicit.errorCode,
          errorMessage: explicit.errorMessage ?? describeSimulatedError(explicit.errorCode),
        };
      }
      return { status: explicit.status as TwilioMessageStatus, errorCode: null, errorMessage: null };
    }
    const magic = findMagicNumber(MagicNumberField.To, request.toNumber);
    if (magic?.effect === MagicNumberEffect.FailAfterAccept && magic.finalStatus) {
      return { status: magic.finalStatus, errorCode: magic.errorCode, errorMessage: describeSimulatedError(magic.errorCode) };
    }
    if (
      this.deps.faults.sessionWindow &&
      request.channel === MessageChannel.WhatsApp &&
      request.contentSid === null &&
      !this.deps.inbound.isSessionOpen(request.toNumber)
    ) {
      return {
        status: TwilioMessageStatus.Failed,
        errorCode: SimulatedErrorCode.OutsideSessionWindow,
        errorMessage: describeSimulatedError(SimulatedErrorCode.OutsideSessionWindow),
      };
    }
    return {
      status: request.channel === MessageChannel.WhatsApp ? TwilioMessageStatus.Read : TwilioMessageStatus.Delivered,
      errorCode: null,
      errorMessage: null,
    };
  }

  private plan(message: SandboxMessage, fate: ResolvedFate): PlannedStage[] {
    const stages: PlannedStage[] = [
      { status: TwilioMessageStatus.Queued, assignsSender: message.resource.status === TwilioMessageStatus.Accepted },
    ];
    if (fate.status === TwilioMessageStatus.Failed) {
      stages.push({ status: TwilioMessageStatus.Failed, errorCode: fate.errorCode, errorMessage: fate.errorMessage });
      return stages;
    }
    stages.push({ status: TwilioMessageStatus.Sent, leavesQueue: true });
    if (fate.status === TwilioMessageStatus.Sent) {
      return stages;
    }
    if (fate.status === TwilioMessageStatus.Undelivered) {
      stages.push({ status: TwilioMessageStatus.Undelivered, errorCode: fate.errorCode, errorMessage: fate.errorMessage });
      return stages;
    }
    stages.push({ status: TwilioMessageStatus.Delivered });
    if (fate.status === TwilioMessageStatus.Read && message.channel === MessageChannel.WhatsApp) {
      stages.push({ status: TwilioMessageStatus.Read });
    }
    return stages;
  }

  private scheduleStage(sid: string, stages: PlannedStage[], index: number, dueAtMs: number): void {
    const task = this.deps.timers.schedule(dueAtMs - Date.now(), () => {
      this.pending.delete(sid);
      const message = this.deps.store.get(sid);
      if (!message) {
        return;
      }
      const stage = stages[index];
      // A queue slot is the moment Twilio hands the message on; timer lateness is not part of it.
      const at = stage.leavesQueue ? new Date(dueAtMs) : new Date();
      this.apply(message, stage, at);
      const isLast = index === stages.length - 1;
      this.dispatcher.dispatch(message, isLast);
      if (isLast) {
        return;
      }
      const next = stages[index + 1];
      let nextDueMs = Date.now() + this.deps.statusDelayMs;
      if (next.leavesQueue) {
        const sender = message.resource.from ?? message.resource.messaging_service_sid ?? '';
        nextDueMs = this.throughputGate.reserve(sender, nextDueMs, this.deps.faults.senderMps);
      }
      this.scheduleStage(sid, stages, index + 1, nextDueMs);
    });
    this.pending.set(sid, task);
  }

  private apply(message: SandboxMessage, stage: PlannedStage, at: Date): void {
    const resource = message.resource;
    // A send with a From is already `queued` when created; its queued stage only announces it.
    if (resource.status === stage.status && !stage.assignsSender) {
      return;
    }
    if (stage.assignsSender && resource.from === null) {
      resource.from = message.channel === MessageChannel.WhatsApp ? DEFAULT_WHATSAPP_SENDER : DEFAULT_SMS_SENDER;
      resource.num_segments = String(countSegments(resource.body, message.channel));
    }
    resource.status = stage.status;
    resource.date_updated = toRfc2822(at);
    if (stage.status === TwilioMessageStatus.Sent || (resource.date_sent === null && HANDED_ON_STATUSES.has(stage.status))) {
      resource.date_sent = toRfc2822(at);
    }
    if (stage.status === TwilioMessageStatus.Sent) {
      resource.price = MESSAGE_PRICE;
      this.deps.requestLog.recordSent(resource.from ?? resource.messaging_service_sid ?? '', at.getTime());
    }
    if (FAILURE_STATUSES.has(stage.status)) {
      resource.error_code = stage.errorCode ?? null;
      resource.error_message = stage.errorMessage ?? null;
      if (stage.status === TwilioMessageStatus.Failed) {
        resource.price = null;
      }
    }
    message.statusHistory.push({ status: stage.status, at: at.toISOString(), errorCode: resource.error_code });
    this.deps.store.markChanged();
  }
}
