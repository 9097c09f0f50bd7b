import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ThrottledLog } from '../../../common/logging/throttled-log';
import { WebhookDeliveryRepository } from '../webhook-delivery.repository';

const SWEEP_INTERVAL_MS = 30_000;
/** A due delivery is only re-queued after its job had this long to run. */
const OVERDUE_GRACE_MS = 5 * 60_000;
const SWEEP_BATCH = 1000;

/**
 * Gives a job again to pending deliveries whose job is gone, so "at least once" survives Redis
 * losing its data and a process dying between an attempt's claim and its record.
 */
@Injectable()
export class WebhookDeliverySweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookDeliverySweeper.name);
  private readonly errors = new ThrottledLog((line) => this.logger.warn(line));
  private timer?: NodeJS.Timeout;

  constructor(private readonly deliveries: WebhookDeliveryRepository) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async sweep(graceMs = OVERDUE_GRACE_MS): Promise<number> {
    try {
      const requeued = await this.deliveries.requeueOverdue(graceMs, SWEEP_BATCH);
      if (requeued > 0) this.logger.warn(`Re-queued ${requeued} overdue webhook deliveries whose job was lost`);
      return requeued;
    } catch (err) {
      this.errors.log(`Webhook delivery sweep failed: ${(err as Error).message}`);
      return 0;
    }
  }
}
