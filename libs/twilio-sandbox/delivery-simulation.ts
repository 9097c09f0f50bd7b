import { FaultInjector } from './fault-injector';
import { MessageStore } from './message-store';
import { RequestLog } from './request-log';
import { SandboxTimers, ScheduledTask } from './sandbox-timers';
import { MessageChannel, SandboxMessage, TwilioMessageStatus } from './sandbox.types';
import { SenderThroughputGate } from './sender-throughput-gate';
import { StatusCallbackDispatcher } from './status-callback-dispatcher';
import { countSegments, toRfc2822 } from './twilio-format';

/** How a message will end, decided when it is accepted. */
export interface ResolvedFate {
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

export interface DeliverySimulationDeps {
  store: MessageStore;
  dispatcher: StatusCallbackDispatcher;
  timers: SandboxTimers;
  faults: FaultInjector;
  throughputGate: SenderThroughputGate;
  requestLog: RequestLog;
  statusDelayMs: number;
}

/**
 * Walks an accepted message through Twilio's statuses, one stage every
 * statusDelayMs: [accepted ->] queued -> sent -> delivered -> read, or into
 * failed (before sending) / undelivered (after sending) when its fate says so.
 */
export class DeliverySimulation {
  private readonly pending = new Map<string, ScheduledTask>();

  constructor(private readonly deps: DeliverySimulationDeps) {}

  start(message: SandboxMessage, fate: ResolvedFate): void {
    const stages = this.plan(message, fate);
    // The first callback goes out right after the create answer, like Twilio's `queued`.
    this.scheduleStage(message.sid, stages, 0, Date.now());
  }

  /** Applies a status now (control API), abandoning whatever the message had left to do. */
  force(message: SandboxMessage, status: TwilioMessageStatus, errorCode: number | null, errorMessage: string | null): void {
    this.cancel(message.sid);
    this.apply(message, { status, errorCode, errorMessage }, new Date());
    this.deps.dispatcher.dispatch(message, true);
  }

  cancel(sid: string): void {
    this.pending.get(sid)?.cancel();
    this.pending.delete(sid);
    this.deps.dispatcher.forget(sid);
  }

  clear(): void {
    for (const task of this.pending.values()) {
      task.cancel();
    }
    this.pending.clear();
    this.deps.dispatcher.clear();
    this.deps.throughputGate.clear();
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
      this.deps.dispatcher.dispatch(message, isLast);
      if (isLast) {
        return;
      }
      const next = stages[index + 1];
      let nextDueMs = Date.now() + this.deps.statusDelayMs;
      if (next.leavesQueue) {
        const sender = message.resource.from ?? message.resource.messaging_service_sid ?? '';
        nextDueMs = this.deps.throughputGate.reserve(sender, nextDueMs, this.deps.faults.senderMps);
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
