import { existsSync, renameSync, statSync, unlinkSync } from 'node:fs';
import pino, { DestinationStream } from 'pino';

/**
 * A log file that rotates itself by size: past `maxBytes`, app.log becomes app.log.1 (app.log.1
 * becomes app.log.2, ...), at most `keep` old files are kept, and writing goes on in a new app.log.
 * Done in-process rather than by logrotate so a checkout or a container needs nothing else; the
 * writer (pino's SonicBoom) keeps its old descriptor until the reopen completes, so a line in
 * flight lands in one file or the other, never nowhere.
 */
export class RotatingFile implements DestinationStream {
  private readonly destination: ReturnType<typeof pino.destination>;
  private size: number;

  constructor(
    private readonly path: string,
    private readonly maxBytes: number,
    private readonly keep: number,
  ) {
    this.size = existsSync(path) ? statSync(path).size : 0;
    this.destination = pino.destination({ dest: path, mkdir: true, sync: false });
  }

  write(line: string): void {
    this.destination.write(line);
    this.size += Buffer.byteLength(line);
    if (this.size >= this.maxBytes) this.rotate();
  }

  flushSync(): void {
    this.destination.flushSync();
  }

  private rotate(): void {
    this.size = 0;
    try {
      const rotated = (n: number) => `${this.path}.${n}`;
      if (existsSync(rotated(this.keep))) unlinkSync(rotated(this.keep));
      for (let n = this.keep - 1; n >= 1; n--) if (existsSync(rotated(n))) renameSync(rotated(n), rotated(n + 1));
      renameSync(this.path, rotated(1));
      this.destination.reopen();
    } catch (err) {
      // A log file that cannot rotate (read-only directory, removed by hand) must not stop the service.
      process.stderr.write(`Could not rotate ${this.path}: ${(err as Error).message}\n`);
    }
  }
}
