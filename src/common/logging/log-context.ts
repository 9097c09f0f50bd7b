import { storage, Store } from 'nestjs-pino/storage';
import type { Level, Logger } from 'pino';

/**
 * The logger of one unit of work (a request, a queue job): its bindings (`reqId`, `jobId`...)
 * on every line Nest's Logger writes while the work runs, through nestjs-pino's store, which
 * AppPinoLogger reads `.logger` from. The child logger is made when the work first logs: most
 * requests and jobs never write a line (at LOG_LEVEL=warn a 2xx request writes nothing), and
 * making a pino child costs a serialization and redaction pass over its bindings.
 */
export class LogContext {
  private child?: Logger;
  /** nestjs-pino's Store has one; nothing here uses it. */
  readonly responseLogger = undefined;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Record<string, unknown>,
  ) {}

  get logger(): Logger {
    return (this.child ??= this.parent.child(this.bindings));
  }

  enabled(level: Level): boolean {
    return this.parent.isLevelEnabled(level);
  }

  /** Runs `fn` (and everything it starts) with this context's logger for Nest's Logger. */
  run<T>(fn: () => T): T {
    return storage.run(this as unknown as Store, fn);
  }
}
