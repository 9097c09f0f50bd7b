import { ItemOutcome, MicroBatcher } from './micro-batcher';

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('MicroBatcher', () => {
  it('runs a lone item at once and answers it', async () => {
    const runs: number[][] = [];
    const batcher = new MicroBatcher<number, number>({ maxBatch: 10, maxInFlight: 1 }, async (batch) => {
      runs.push(batch);
      return batch.map((n) => ({ ok: true, value: n * 2 }));
    });
    expect(await batcher.submit(21)).toBe(42);
    expect(runs).toEqual([[21]]);
  });

  it('groups items submitted together and items that arrive while a run is busy', async () => {
    const runs: number[][] = [];
    const gate = deferred<void>();
    const batcher = new MicroBatcher<number, number>({ maxBatch: 3, maxInFlight: 1 }, async (batch) => {
      runs.push(batch);
      if (runs.length === 1) await gate.promise;
      return batch.map((n) => ({ ok: true, value: n }));
    });
    const first = [1, 2].map((n) => batcher.submit(n));
    await new Promise((r) => setImmediate(r));
    // The first run is busy: these wait, and are cut into runs of at most maxBatch.
    const later = [3, 4, 5, 6].map((n) => batcher.submit(n));
    gate.resolve();
    expect(await Promise.all([...first, ...later])).toEqual([1, 2, 3, 4, 5, 6]);
    expect(runs).toEqual([[1, 2], [3, 4, 5], [6]]);
  });

  it('fails only the items whose outcome is an error, and every item of a run that throws', async () => {
    const batcher = new MicroBatcher<number, number>({ maxBatch: 10, maxInFlight: 2 }, async (batch): Promise<ItemOutcome<number>[]> => {
      if (batch.includes(99)) throw new Error('run failed');
      return batch.map((n) => (n % 2 ? { ok: false, error: new Error(`odd ${n}`) } : { ok: true, value: n }));
    });
    const results = await Promise.allSettled([1, 2].map((n) => batcher.submit(n)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['odd 1', 2]);
    await expect(batcher.submit(99)).rejects.toThrow('run failed');
  });

  it('with isolateFailures, runs the items of a failed run alone so only the bad one fails', async () => {
    const runs: number[][] = [];
    const batcher = new MicroBatcher<number, number>({ maxBatch: 10, maxInFlight: 1, isolateFailures: true }, async (batch) => {
      runs.push(batch);
      if (batch.includes(13)) throw new Error('13 is refused');
      return batch.map((n) => ({ ok: true, value: n }));
    });
    const results = await Promise.allSettled([12, 13, 14].map((n) => batcher.submit(n)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([12, '13 is refused', 14]);
    expect(runs).toEqual([[12, 13, 14], [12], [13], [14]]);
  });
});
