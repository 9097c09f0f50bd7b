import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

/** Length of one measuring window; liveness looks at the last full window and the current one. */
export const EVENT_LOOP_WINDOW_MS = 10_000;
/** Sustained lag: 1 % of the loop's turns waited longer than this. */
export const MAX_P99_LAG_MS = 1000;
/** One block this long is a stall even if the rest of the window was fine. */
export const MAX_SINGLE_LAG_MS = 5000;

export interface EventLoopLag {
  meanMs: number;
  p99Ms: number;
  maxMs: number;
}

export function isStalled(lag: EventLoopLag): boolean {
  return lag.p99Ms > MAX_P99_LAG_MS || lag.maxMs > MAX_SINGLE_LAG_MS;
}

const NS_PER_MS = 1e6;
const round = (ns: number) => (Number.isFinite(ns) ? Math.round((ns / NS_PER_MS) * 10) / 10 : 0);

/** Event-loop delay from perf_hooks.monitorEventLoopDelay, for the liveness probe. */
@Injectable()
export class EventLoopMonitor implements OnModuleInit, OnModuleDestroy {
  private histogram?: IntervalHistogram;
  private timer?: NodeJS.Timeout;
  private previous: EventLoopLag = { meanMs: 0, p99Ms: 0, maxMs: 0 };

  onModuleInit(): void {
    this.histogram = monitorEventLoopDelay({ resolution: 10 });
    this.histogram.enable();
    this.timer = setInterval(() => this.roll(), EVENT_LOOP_WINDOW_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
    this.histogram?.disable();
  }

  /** The worse of the last full window and the current one. */
  lag(): EventLoopLag {
    const current = this.read();
    return {
      meanMs: Math.max(this.previous.meanMs, current.meanMs),
      p99Ms: Math.max(this.previous.p99Ms, current.p99Ms),
      maxMs: Math.max(this.previous.maxMs, current.maxMs),
    };
  }

  private read(): EventLoopLag {
    const h = this.histogram;
    if (!h || h.count === 0) return { meanMs: 0, p99Ms: 0, maxMs: 0 };
    return { meanMs: round(h.mean), p99Ms: round(h.percentile(99)), maxMs: round(h.max) };
  }

  private roll(): void {
    this.previous = this.read();
    this.histogram?.reset();
  }
}
