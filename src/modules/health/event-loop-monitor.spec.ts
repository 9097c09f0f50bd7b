import { EventLoopMonitor, isStalled, MAX_P99_LAG_MS, MAX_SINGLE_LAG_MS } from './event-loop-monitor';

describe('event loop liveness', () => {
  it('is stalled on sustained lag or one very long block, not on ordinary jitter', () => {
    expect(isStalled({ meanMs: 10, p99Ms: 25, maxMs: 120 })).toBe(false);
    expect(isStalled({ meanMs: 400, p99Ms: MAX_P99_LAG_MS + 1, maxMs: 1500 })).toBe(true);
    expect(isStalled({ meanMs: 11, p99Ms: 20, maxMs: MAX_SINGLE_LAG_MS + 1 })).toBe(true);
  });

  it('measures a blocked loop', async () => {
    const monitor = new EventLoopMonitor();
    monitor.onModuleInit();
    try {
      await new Promise((r) => setTimeout(r, 50));
      const until = Date.now() + 150;
      while (Date.now() < until) {
        // block the loop
      }
      await new Promise((r) => setTimeout(r, 30));
      expect(monitor.lag().maxMs).toBeGreaterThanOrEqual(120);
    } finally {
      monitor.onModuleDestroy();
    }
  });
});
