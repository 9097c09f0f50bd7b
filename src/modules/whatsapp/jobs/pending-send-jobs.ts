import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { Queue } from 'bullmq';
import { sendJobId, WHATSAPP_QUEUE } from './whatsapp-jobs';

/** Job states in which a send job will still run. */
const PENDING_STATES = new Set(['waiting', 'delayed', 'prioritized', 'active', 'waiting-children']);

/**
 * Whether a message's send job is still in the queue: a message waiting for its turn behind its
 * sender's backlog can be idle for longer than RECONCILE_AFTER_MS without being stalled.
 */
@Injectable()
export class PendingSendJobs {
  constructor(@InjectQueue(WHATSAPP_QUEUE) private readonly queue: Queue) {}

  /**
   * True when the message's first job, or the job a reconciliation gave it with its current
   * attempt count, will still run. False when neither will, or Redis cannot tell (a lost job is
   * then replaced through the outbox, which waits for Redis).
   */
  async waiting(message: { id: string; attempts: number }): Promise<boolean> {
    try {
      const states = await Promise.all([sendJobId(message.id), `${sendJobId(message.id)}-r${message.attempts}`].map((id) => this.queue.getJobState(id)));
      return states.some((s) => PENDING_STATES.has(s));
    } catch {
      return false;
    }
  }

  /**
   * Drops a canceled message's waiting send jobs, best effort: a job that stays (running, or
   * Redis unreachable) finds the message canceled and does nothing, since the claim refuses it.
   */
  async discard(message: { id: string; attempts: number }): Promise<void> {
    await Promise.all([sendJobId(message.id), `${sendJobId(message.id)}-r${message.attempts}`].map((id) => this.queue.remove(id).catch(() => 0)));
  }
}
