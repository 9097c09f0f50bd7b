import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DeliveryRollupAggregator } from './delivery-rollup-aggregator';

const INTERVAL_MS = 1000;

/** The once-a-second fold of the rollup journal; provided only to processes that run jobs (APP_ROLE worker or all). */
@Injectable()
export class DeliveryRollupSchedule implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DeliveryRollupSchedule.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private lastErrorLogged = 0;

  constructor(private readonly aggregator: DeliveryRollupAggregator) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.tick(), INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  private tick(): void {
    if (this.running) return;
    this.running = this.aggregator
      .fold({ wait: false })
      .catch((err: Error) => {
        if (Date.now() - this.lastErrorLogged < 10_000) return;
        this.lastErrorLogged = Date.now();
        this.logger.warn(`Could not fold the delivery rollup journal: ${err.message}`);
      })
      .finally(() => (this.running = undefined));
  }
}
