/**
 * Lets at most `limit` lines through per window and counts the rest, so a flood of refused
 * requests (webhooks have no rate limit) cannot fill the disk; the first line of the next window
 * says how many were left out.
 */
export class LogSampler {
  private windowStart = 0;
  private passed = 0;
  private suppressed = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Calls `write` with the line (and the count left out before it) when the window has room. */
  log(write: (line: string) => void, line: string): void {
    const now = this.now();
    if (now - this.windowStart >= this.windowMs) {
      if (this.suppressed > 0) line = `${line} (${this.suppressed} similar lines left out in the last ${Math.round(this.windowMs / 1000)} s)`;
      this.windowStart = now;
      this.passed = 0;
      this.suppressed = 0;
    }
    if (this.passed >= this.limit) {
      this.suppressed++;
      return;
    }
    this.passed++;
    write(line);
  }
}

/** At most `max` characters of untrusted text in a log line, with how much was cut. */
export function truncateForLog(text: string, max = 256): string {
  return text.length <= max ? text : `${text.slice(0, max)}…(+${text.length - max} chars)`;
}
