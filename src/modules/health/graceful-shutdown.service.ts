import { WorkerHost } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { Worker } from 'bullmq';

/**
 * The first steps of a graceful shutdown, before Nest closes the HTTP server and then the
 * connections: readiness turns 503 (load balancers stop sending traffic) and the BullMQ workers
 * stop taking jobs and finish the ones they run. Left to @nestjs/bullmq, workers close in the
 * same breath as Postgres, Redis and the Twilio client, and a running job dies half-way
 * ("Connection is closed") to be picked up again as stalled.
 */
@Injectable()
export class GracefulShutdown implements BeforeApplicationShutdown {
  private readonly logger = new Logger(GracefulShutdown.name);
  private drainingSince: Date | null = null;

  constructor(private readonly discovery: DiscoveryService) {}

  get draining(): boolean {
    return this.drainingSince !== null;
  }

  beginDrain(): void {
    if (this.drainingSince) return;
    this.drainingSince = new Date();
    this.logger.log('Shutting down: readiness is 503 from now on');
  }

  /** Every BullMQ worker of the app (one per @Processor). */
  workers(): Worker[] {
    return this.discovery
      .getProviders()
      .map((wrapper) => wrapper.instance as unknown)
      .filter((instance): instance is WorkerHost => instance instanceof WorkerHost)
      .map((host) => {
        try {
          return host.worker;
        } catch {
          return undefined; // not created (yet)
        }
      })
      .filter((w): w is Worker => w !== undefined);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.beginDrain();
    const workers = this.workers();
    const active = workers.length;
    const started = Date.now();
    // close() stops fetching and resolves once the running jobs have finished.
    await Promise.all(workers.map((w) => w.close()));
    this.logger.log(`${active} queue worker(s) stopped after finishing their jobs (${Date.now() - started} ms)`);
  }
}
