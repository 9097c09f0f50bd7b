import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino, { DestinationStream, Logger, StreamEntry } from 'pino';
import type { AppConfig } from '../../config/configuration';
import { NodeEnv } from '../../config/env.validation';
import { configuredSecrets, REDACT_PATHS, REDACTED, scrubSecrets } from './redaction';
import { RotatingFile } from './rotating-file';

export interface RootLogger {
  logger: Logger;
  /** Writes out whatever stdout and the files still buffer (at shutdown, before process.exit). */
  flush: () => void;
}

function prettyStdout(): DestinationStream | undefined {
  try {
    // A devDependency: present where people read logs in a terminal, absent from production installs.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pretty = require('pino-pretty') as (opts: Record<string, unknown>) => DestinationStream;
    return pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  } catch {
    return undefined;
  }
}

/**
 * The one pino logger of the process: JSON lines on stdout (pretty in a development terminal),
 * and with a log directory also app.log (every line) and error.log (level >= 50, error) there,
 * each rotated by size.
 * Secrets are censored by path (headers, password/token fields) and, in message text and error
 * stacks, by pattern (Bearer ..., JWTs) and by value (the configured secrets).
 */
export function createRootLogger(config: AppConfig): RootLogger {
  const level = config.app.logLevel;
  // Streams need a real level; the logger's own level (possibly silent) is the gate.
  const streamLevel = level === 'silent' ? 'fatal' : (level as pino.Level);
  const pretty = config.app.nodeEnv === NodeEnv.Development && process.stdout.isTTY ? prettyStdout() : undefined;
  const stdout = pretty ? undefined : pino.destination({ dest: 1, sync: false });
  const streams: StreamEntry[] = [{ level: streamLevel, stream: pretty ?? stdout! }];
  const files: { flushSync: () => void }[] = stdout ? [stdout] : [];
  const { logDir, logMaxBytes, logMaxFiles } = config.observability;
  if (logDir) {
    mkdirSync(logDir, { recursive: true });
    const app = new RotatingFile(join(logDir, 'app.log'), logMaxBytes, logMaxFiles);
    const errors = new RotatingFile(join(logDir, 'error.log'), logMaxBytes, logMaxFiles);
    files.push(app, errors);
    streams.push({ level: streamLevel, stream: app }, { level: 'error', stream: errors });
  }

  const secrets = configuredSecrets(config);
  const scrub = (value: unknown): unknown => (typeof value === 'string' ? scrubSecrets(value, secrets) : value);
  const logger = pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      serializers: {
        err: (err: unknown) => {
          const out = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
          for (const key of ['message', 'stack']) out[key] = scrub(out[key]);
          return out;
        },
      },
      hooks: {
        logMethod(args, method) {
          // Message text (and string fields of a merge object) may quote a token: censor it.
          const scrubbed = args.map((arg) => {
            if (typeof arg === 'string') return scrub(arg);
            if (arg && typeof arg === 'object' && !(arg instanceof Error) && !Array.isArray(arg)) {
              return Object.fromEntries(Object.entries(arg as Record<string, unknown>).map(([k, v]) => [k, scrub(v)]));
            }
            return arg;
          });
          method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
    },
    pino.multistream(streams),
  );
  return {
    logger,
    flush: () => {
      for (const f of files) {
        try {
          f.flushSync();
        } catch {
          // not open yet or already closed: nothing buffered
        }
      }
    },
  };
}
