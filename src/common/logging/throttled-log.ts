/**
 * One line now, then at most one per interval, each saying how many like it were left out. An
 * outage repeats the same error for as long as it lasts (a worker's every fetch, a relay's every
 * poll); logging each one fills disks and, unbuffered, costs the CPU the recovery needs.
 */
export class ThrottledLog {
  private lastAt = -Infinity;
  private suppressed = 0;

  constructor(
    private readonly write: (line: string) => void,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  log(line: string): void {
    const at = this.now();
    if (at - this.lastAt < this.intervalMs) {
      this.suppressed++;
      return;
    }
    const left = this.suppressed > 0 ? ` (and ${this.suppressed} more like it in the last ${Math.round((at - this.lastAt) / 1000)} s)` : '';
    this.lastAt = at;
    this.suppressed = 0;
    this.write(`${line}${left}`);
  }
}
