/** Every BullMQ queue of the service. */
export enum QueueName {
  WhatsApp = 'whatsapp',
}

/** Every job name, with exactly one payload type each (JobPayloads). */
export enum JobName {
  SendMessage = 'send-message',
}

export interface SendMessageJob {
  messageId: string;
}

export interface JobPayloads {
  [JobName.SendMessage]: SendMessageJob;
}

export const JOB_QUEUE: Record<JobName, QueueName> = {
  [JobName.SendMessage]: QueueName.WhatsApp,
};

/** One BullMQ job id per message send (BullMQ ids may not contain ":"): the outbox may relay a row twice, BullMQ keeps one job. */
export function sendJobId(messageId: string): string {
  return `send-${messageId}`;
}
