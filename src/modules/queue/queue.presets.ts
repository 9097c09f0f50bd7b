import type { JobsOptions } from 'bullmq';
import { WhatsAppSettings } from '../../config/configuration';

/** Completed jobs are kept a day so a relayed-twice outbox row finds its job id taken. */
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
