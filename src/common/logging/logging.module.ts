import { DynamicModule, Inject, Module, OnApplicationShutdown, RequestMethod } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import type { AppConfig } from '../../config/configuration';
import { configuredSecrets, scrubLoggedRequest } from './redaction';
import { createRootLogger, RootLogger } from './root-logger';

export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/** Probes and scrapes come every few seconds; their access lines would drown the rest. */
const QUIET_PATHS = [/^\/api\/v1\/health(\/|\?|$)/, /^\/metrics(\?|$)/];

/**
 * nestjs-pino over the process's root logger: one access line per request (pino-http) and every
 * Nest Logger call as JSON, each line of a request carrying its `reqId` (Fastify's request id,
 * which honours an incoming X-Request-Id).
 */
@Module({})
export class LoggingModule implements OnApplicationShutdown {
  constructor(@Inject(ROOT_LOGGER) private readonly root: RootLogger) {}

  static forRoot(config: AppConfig): DynamicModule {
    const root = createRootLogger(config);
    const secrets = configuredSecrets(config);
    return {
      module: LoggingModule,
      global: true,
      imports: [
        LoggerModule.forRoot({
          // path-to-regexp 8 syntax for "every route" (nestjs-pino's default '*' draws a deprecation warning).
          forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
          pinoHttp: {
            logger: root.logger,
            // Lines logged during a request carry only its id; the access line has the full request.
            quietReqLogger: true,
            // Middleware sees the path below its mount point in req.url; originalUrl is the full one.
            autoLogging: {
              ignore: (req: IncomingMessage & { originalUrl?: string }) => QUIET_PATHS.some((re) => re.test(req.originalUrl ?? req.url ?? '')),
            },
            // The access line's URL and query keep what the client sent, a token in the query string included.
            serializers: { req: (req: { url?: unknown; query?: unknown }) => scrubLoggedRequest(req, secrets) },
            customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) =>
              err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
          },
        }),
      ],
      providers: [{ provide: ROOT_LOGGER, useValue: root }],
      exports: [LoggerModule, ROOT_LOGGER],
    };
  }

  onApplicationShutdown(): void {
    this.root.flush();
  }
}
