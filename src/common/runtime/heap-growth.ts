import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what its last full collection kept before it
 * collects again (V8's `--heap-growing-percent`), for the rest of the process's life; 0 leaves
 * V8's own choice.
 *
 * Why: on a machine with a few GB of memory V8 grows the heap up to four times its live size
 * between full collections. Under a 20,000-message run a service process keeps 70-100 MB alive
 * and showed 380 MB resident, nearly all of it garbage not yet collected; at 100 % the same run
 * peaks near 250 MB for a few percent of throughput (bench/README.md). Unlike a heap limit
 * (`--max-old-space-size`), this follows the live size, so a process that really needs more
 * memory still gets it instead of dying out of memory.
 *
 * Set at start, before the heap has grown: V8 reads the flag every time it sizes the heap after
 * a full collection, so setting it at run time has the same effect as on the command line.
 */
export function limitHeapGrowth(percent: number, setFlags: (flags: string) => void = setFlagsFromString): void {
  if (!Number.isInteger(percent) || percent < 0) throw new RangeError(`heap growth must be a whole number of percent >= 0, got ${percent}`);
  if (percent > 0) setFlags(`--heap-growing-percent=${percent}`);
}
