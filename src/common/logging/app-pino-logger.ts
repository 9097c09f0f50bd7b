import { Logger as NestPinoLogger, PinoLogger } from 'nestjs-pino';
import { storage } from 'nestjs-pino/storage';
import type { Level, Logger } from 'pino';

/**
 * nestjs-pino's PinoLogger, except that lines logged outside a request go to this app's root
 * logger. nestjs-pino keeps that fallback in a module-level variable set by the first app of the
 * process, so a second app in the same process (the tests start several) would log into the
 * first one's streams and level. Inside a request the line goes, as in nestjs-pino, to the
 * request's logger (LogContext: access-log.ts binds reqId, jobs their jobId).
 */
class AppPinoLogger extends PinoLogger {
  constructor(private readonly root: Logger) {
    super({ pinoHttp: { logger: root } });
  }

  override get logger(): Logger {
    return storage.getStore()?.logger ?? this.root;
  }

  /** A line below the level is dropped before a request's logger is made for it (LogContext). */
  protected override call(method: Level, ...args: [msg: string, ...rest: unknown[]] | [obj: object, msg?: string, ...rest: unknown[]]): void {
    if (this.root.isLevelEnabled(method)) super.call(method, ...args);
  }
}

/** The LoggerService for app.useLogger(): every Nest Logger call of the app, as pino JSON. */
export function nestLoggerFor(root: Logger): NestPinoLogger {
  return new NestPinoLogger(new AppPinoLogger(root), {});
}
