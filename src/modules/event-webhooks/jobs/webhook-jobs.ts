import type { JobsOptions } from 'bullmq';
import { QueueName } from '../../queue/queue.types';

export const WEBHOOKS_QUEUE = QueueName.Webhooks;

/** Every job name of the webhooks queue, with exactly one payload type each (WebhookJobPayloads). */
export enum WebhookJobName {
  /** One attempt of one delivery (or nothing, when it is not due: see WebhookDeliveryService.attempt). */
  Deliver = 'deliver-webhook',
}

export interface DeliverWebhookJob {
  deliveryId: string;
}

export interface WebhookJobPayloads {
  [WebhookJobName.Deliver]: DeliverWebhookJob;
}

/**
 * The retries of a delivery are scheduled in Postgres (its row and a delayed outbox job), not by
 * BullMQ: BullMQ only retries a job whose own work failed (the database was unreachable).
 */
export const DELIVER_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
};
