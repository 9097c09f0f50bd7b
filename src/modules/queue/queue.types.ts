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
