import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ThrottledLog } from '../../common/logging/throttled-log';

/** Other processes see a created, changed or deleted subscription within this time. */
export const SUBSCRIPTION_CACHE_REFRESH_MS = 3000;

export interface EnabledSubscription {
  id: string;
  events: ReadonlySet<string>;
}

/**
 * The enabled subscriptions, in memory, so that the status path asks "anyone listening?" without
 * a query: with no subscription it does no SQL at all. Reloaded at once in the process that
 * changed a subscription and every few seconds (off the hot path) in the others.
 */
@Injectable()
export class WebhookSubscriptionCache implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookSubscriptionCache.name);
  private readonly loadErrors = new ThrottledLog((line) => this.logger.warn(line));
  private subscriptions: readonly EnabledSubscription[] = [];
  private timer?: NodeJS.Timeout;
  private loading?: Promise<void>;
  private again = false;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.reload();
    this.timer = setInterval(() => void this.reload().catch(() => undefined), SUBSCRIPTION_CACHE_REFRESH_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** The enabled subscriptions that want `eventType`. */
  listening(eventType: string): EnabledSubscription[] {
    return this.subscriptions.filter((s) => s.events.has(eventType));
  }

  get isEmpty(): boolean {
    return this.subscriptions.length === 0;
  }

  /** Reads the table again; a reload asked for while one runs runs once more after it. */
  async reload(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading.then(() => this.loading);
    }
    this.loading = this.load().finally(() => {
      this.loading = undefined;
      if (this.again) {
        this.again = false;
        void this.reload();
      }
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    try {
      const rows: { id: string; events: string[] }[] = await this.dataSource.query(`SELECT id, events FROM webhook_subscriptions WHERE enabled ORDER BY "createdAt"`);
      this.subscriptions = rows.map((r) => ({ id: r.id, events: new Set(r.events) }));
    } catch (err) {
      // The last list read stays in use: events of a subscription still find it.
      this.loadErrors.log(`Could not read the webhook subscriptions: ${(err as Error).message}`);
    }
  }
}
