import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../../config/configuration';
import { QueueName } from './queue.types';

/** Written once Redis holds everything the service keeps there; its absence means the data is gone. */
const EPOCH_KEY = 'epoch';

/** What a feature keeps in Redis, and how it puts it back. */
export interface RedisStateOwner {
  /**
   * Redis holds none of the service's data: it restarted without persistence, was flushed or
   * evicted the keys, or this is the first start on it. Rebuild what lived only there (jobs)
   * from Postgres. A throw leaves the loss standing, so the next check tries again.
   */
  redisDataLost(): Promise<unknown>;
  /** On every check: put back what must always be in Redis (job schedulers) if it is missing. */
  ensureRedisState(): Promise<void>;
}

/**
 * Notices, without a restart, that Redis lost the service's data. Every process writes nothing
 * but one key (the epoch) after the rebuild and checks it every REDIS_WATCH_INTERVAL_MS; when it
 * is gone, the owners rebuild (idempotent: job ids and the message claim keep a message that
 * several processes queue again from being sent twice) and the key is written again. Jobs lost
 * with their data would otherwise wait for reconciliation's RECONCILE_AFTER_MS, and a job
 * scheduler declared only at start would never run again.
 */
@Injectable()
export class RedisEpochWatch implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RedisEpochWatch.name);
  private readonly owners: RedisStateOwner[] = [];
  private known?: string;
  private timer?: NodeJS.Timeout;
  private checking?: Promise<void>;
  private stopped = false;

  constructor(
    @InjectQueue(QueueName.WhatsApp) private readonly queue: Queue,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  register(owner: RedisStateOwner): void {
    this.owners.push(owner);
  }

  onApplicationBootstrap(): void {
    // A process that keeps nothing in Redis (APP_ROLE api) must not watch: it would write a new
    // epoch over a loss before the processes that rebuild saw it, and nothing would be re-queued.
    if (this.owners.length === 0) return;
    this.timer = setInterval(() => void this.check(), this.config.get('redis', { infer: true }).watchIntervalMs);
    this.timer.unref();
    void this.check();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.checking;
  }

  /** One check (or the one under way); never throws. */
  check(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.checking ??= this.checkOnce()
      // Redis or Postgres being down is reported (throttled) by the outbox relay and readiness;
      // a failed check only means the next one tries again.
      .catch((err: Error) => this.logger.debug(`Could not check that Redis still holds the queue's data: ${err.message}`))
      .finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async checkOnce(): Promise<void> {
    const client = await this.queue.getBackend().client;
    const key = this.queue.toKey(EPOCH_KEY);
    const epoch = await client.get(key);
    if (epoch === null) {
      if (this.known !== undefined) this.logger.warn(`Redis lost the queue's data (restarted without persistence, flushed or evicted): queueing the unsent messages again from Postgres`);
      for (const owner of this.owners) await owner.redisDataLost();
      // Processes that rebuilt at the same time each write their own; the last one wins and
      // the others adopt it at their next check, as any change they did not make.
      this.known = randomUUID();
      await client.set(key, this.known);
    } else {
      this.known = epoch;
    }
    for (const owner of this.owners) await owner.ensureRedisState();
  }
}
