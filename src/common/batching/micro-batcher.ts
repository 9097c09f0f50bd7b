/** What a batch run answers for one item: its value, or the error that item alone failed with. */
export type ItemOutcome<O> = { ok: true; value: O } | { ok: false; error: unknown };

export interface MicroBatcherOptions {
  /** Items handed to one run at most. */
  maxBatch: number;
  /** Runs in flight at once; items that arrive meanwhile wait and form the next batch. */
  maxInFlight: number;
  /** When a run of several items throws, run each item alone, so one bad item cannot fail the rest. */
  isolateFailures?: boolean;
}

/**
 * Groups work that arrives concurrently: items submitted in the same turn of the event loop, or
 * while `maxInFlight` runs are busy, go to the next run together. A lone item runs at once (the
 * next turn), so batching adds no latency when the service is idle and grows with the load.
 * `run` answers one outcome per item, in order; if it throws, every item of that run fails
 * (or, with `isolateFailures`, is run again alone).
 */
export class MicroBatcher<I, O> {
  private waiting: { input: I; resolve: (value: O) => void; reject: (err: unknown) => void }[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly options: MicroBatcherOptions,
    private readonly run: (batch: I[]) => Promise<ItemOutcome<O>[]>,
  ) {}

  submit(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight || this.waiting.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (this.inFlight < this.options.maxInFlight && this.waiting.length > 0) {
        const batch = this.waiting.splice(0, this.options.maxBatch);
        this.inFlight++;
        void this.execute(batch).finally(() => {
          this.inFlight--;
          this.schedule();
        });
      }
    });
  }

  private async execute(batch: MicroBatcher<I, O>['waiting']): Promise<void> {
    let outcomes: ItemOutcome<O>[];
    try {
      outcomes = await this.run(batch.map((b) => b.input));
    } catch (err) {
      if (!this.options.isolateFailures || batch.length === 1) {
        for (const b of batch) b.reject(err);
        return;
      }
      for (const b of batch) await this.execute([b]);
      return;
    }
    batch.forEach((b, i) => {
      const outcome = outcomes[i] ?? { ok: false, error: new Error('The batch answered no outcome for this item') };
      if (outcome.ok) b.resolve(outcome.value);
      else b.reject(outcome.error);
    });
  }
}
