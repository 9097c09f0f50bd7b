import { Injectable } from '@nestjs/common';
import type { JobsOptions, Queue } from 'bullmq';

/** Where the relay puts a job of one name, and with which options (retries, retention). */
export interface OutboxRoute {
  queue: Queue;
  options: JobsOptions;
  /**
   * Milliseconds each job of a batch waits in the queue's delayed set before it may run (the
   * send jobs' turns in their sender's line); in the order of the payloads given.
   */
  delays?: (payloads: Record<string, unknown>[]) => Promise<number[]>;
}

/**
 * Job names the outbox can relay, registered by the modules that own the jobs, so the outbox
 * knows no feature and each job name keeps its own options.
 */
@Injectable()
export class OutboxRoutes {
  private readonly routes = new Map<string, OutboxRoute>();

  register(jobName: string, route: OutboxRoute): void {
    this.routes.set(jobName, route);
  }

  routeFor(jobName: string): OutboxRoute | undefined {
    return this.routes.get(jobName);
  }

  /** Every queue jobs are relayed to (for its error listener). */
  queues(): Queue[] {
    return [...new Set([...this.routes.values()].map((r) => r.queue))];
  }
}
