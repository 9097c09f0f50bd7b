export interface ScheduledTask {
  cancel(): void;
}

/**
 * Every timer, sleep and outgoing request of the sandbox goes through here, so
 * stop() can guarantee that nothing fires afterwards: a test's afterAll must not
 * be followed by a stray status callback into the next test file.
 */
export class SandboxTimers {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sleepers = new Set<() => void>();
  private readonly aborters = new Set<AbortController>();
  private stopped = false;

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Allows a stopped sandbox to be started again. */
  resume(): void {
    this.stopped = false;
  }

  schedule(delayMs: number, task: () => void): ScheduledTask {
    if (this.stopped) {
      return { cancel: () => undefined };
    }
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        if (!this.stopped) {
          task();
        }
      },
      Math.max(0, delayMs),
    );
    this.timers.add(timer);
    return {
      cancel: () => {
        clearTimeout(timer);
        this.timers.delete(timer);
      },
    };
  }

  /** Resolves true once the delay has passed, false if the sandbox stopped first. */
  sleep(delayMs: number): Promise<boolean> {
    if (this.stopped) {
      return Promise.resolve(false);
    }
    if (delayMs <= 0) {
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const wake = (): void => resolve(false);
      this.sleepers.add(wake);
      this.schedule(delayMs, () => {
        this.sleepers.delete(wake);
        resolve(true);
      });
    });
  }

  /** Resolves when the sandbox stops: how a request that must never be answered waits. */
  untilStopped(): Promise<void> {
    if (this.stopped) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.sleepers.add(() => resolve());
    });
  }

  /** An AbortController that stop() aborts, for outgoing HTTP requests. */
  abortController(): { controller: AbortController; release: () => void } {
    const controller = new AbortController();
    if (this.stopped) {
      controller.abort();
    }
    this.aborters.add(controller);
    return { controller, release: () => this.aborters.delete(controller) };
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) {
      clearTimeout(timer);
    }
    this.timers.clear();
    for (const wake of this.sleepers) {
      wake();
    }
    this.sleepers.clear();
    for (const controller of this.aborters) {
      controller.abort();
    }
    this.aborters.clear();
  }
}
