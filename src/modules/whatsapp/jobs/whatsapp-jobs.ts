import type { JobsOptions } from 'bullmq';
import { WhatsAppSettings } from '../../../config/configuration';
import type { OutboxJob } from '../../../database/outbox/outbox.writer';
import { QueueName } from '../../queue/queue.types';

/** Every job name of the whatsapp queue, with exactly one payload type each (JobPayloads). */
export enum JobName {
  SendMessage = 'send-message',
  /** Scheduled: fetches stuck messages from Twilio and resolves unanswered sends. */
  Reconcile = 'reconcile',
}

export interface SendMessageJob {
  messageId: string;
  /** The message's sender (or Messaging Service SID): its turn is taken as the job is queued. Absent in jobs written by earlier versions. */
  from?: string;
}

export type ReconcileJob = Record<string, never>;

export interface JobPayloads {
  [JobName.SendMessage]: SendMessageJob;
  [JobName.Reconcile]: ReconcileJob;
}

export const WHATSAPP_QUEUE = QueueName.WhatsApp;

/** Id of the job scheduler that repeats the reconciliation job (one per deployment, not per process). */
export const RECONCILE_SCHEDULER_ID = 'reconcile';

/** Completed sends are kept a day so a relayed-twice outbox row finds its job id taken. */
const KEEP_COMPLETED = { age: 24 * 3600, count: 50_000 };
const KEEP_FAILED = { age: 7 * 24 * 3600, count: 50_000 };

/** Retry preset for sends: exponential backoff with jitter so retries after an outage spread out. */
export function sendJobOptions(settings: WhatsAppSettings): JobsOptions {
  return {
    attempts: settings.maxAttempts,
    backoff: { type: 'exponential', delay: settings.backoffMs, jitter: 0.5 },
    removeOnComplete: KEEP_COMPLETED,
    removeOnFail: KEEP_FAILED,
  };
}

/**
 * A reconciliation run removes only itself when it completes. BullMQ applies a kept-jobs count
 * to the whole completed (or failed) set of the queue, send jobs included: a count of 100 here
 * trimmed the send jobs' history, which is what keeps an outbox row relayed twice from being
 * sent twice, to 100 on every run.
 */
export const RECONCILE_JOB_OPTIONS: JobsOptions = { removeOnComplete: true, removeOnFail: KEEP_FAILED };

/** One BullMQ job id per message send (BullMQ ids may not contain ":"): the outbox may relay a row twice, BullMQ keeps one job. */
export function sendJobId(messageId: string): string {
  return `send-${messageId}`;
}

/**
 * The outbox entry that sends a message. `attemptSuffix` gives a re-queued message a fresh job
 * id (its old one may still be held by a failed job); `availableAt` delays it.
 */
export function sendMessageJob(message: { id: string; from: string }, opts: { availableAt?: Date; attemptSuffix?: number } = {}): OutboxJob {
  return {
    queue: WHATSAPP_QUEUE,
    jobName: JobName.SendMessage,
    jobId: opts.attemptSuffix === undefined ? sendJobId(message.id) : `${sendJobId(message.id)}-r${opts.attemptSuffix}`,
    payload: { messageId: message.id, from: message.from } satisfies SendMessageJob,
    ...(opts.availableAt ? { availableAt: opts.availableAt } : {}),
  };
}
