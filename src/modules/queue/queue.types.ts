import type { OutboxJob } from '../../database/outbox/outbox.writer';

/** Every BullMQ queue of the service. */
export enum QueueName {
  WhatsApp = 'whatsapp',
}

/** Every job name, with exactly one payload type each (JobPayloads). */
export enum JobName {
  SendMessage = 'send-message',
  /** Scheduled: fetches stuck messages from Twilio and resolves unanswered sends. */
  Reconcile = 'reconcile',
}

export interface SendMessageJob {
  messageId: string;
}

export type ReconcileJob = Record<string, never>;

export interface JobPayloads {
  [JobName.SendMessage]: SendMessageJob;
  [JobName.Reconcile]: ReconcileJob;
}

export const JOB_QUEUE: Record<JobName, QueueName> = {
  [JobName.SendMessage]: QueueName.WhatsApp,
  [JobName.Reconcile]: QueueName.WhatsApp,
};

/** Id of the job scheduler that repeats the reconciliation job (one per deployment, not per process). */
export const RECONCILE_SCHEDULER_ID = 'reconcile';


/** One BullMQ job id per message send (BullMQ ids may not contain ":"): the outbox may relay a row twice, BullMQ keeps one job. */
export function sendJobId(messageId: string): string {
  return `send-${messageId}`;
}

/**
 * The outbox entry that sends a message. `attemptSuffix` gives a re-queued message a fresh job
 * id (its old one may still be held by a failed job); `availableAt` delays it.
 */
export function sendMessageJob(messageId: string, opts: { availableAt?: Date; attemptSuffix?: number } = {}): OutboxJob {
  return {
    queue: JOB_QUEUE[JobName.SendMessage],
    jobName: JobName.SendMessage,
    jobId: opts.attemptSuffix === undefined ? sendJobId(messageId) : `${sendJobId(messageId)}-r${opts.attemptSuffix}`,
    payload: { messageId } satisfies SendMessageJob,
    ...(opts.availableAt ? { availableAt: opts.availableAt } : {}),
  };
}
