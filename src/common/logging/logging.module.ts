import { DynamicModule, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { AppConfig } from '../../config/configuration';
import { createRootLogger, RootLogger } from './root-logger';

export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/**
 * The process's root pino logger, for the app's LoggerService (every Nest Logger call as JSON)
 * and for the request logging that app.factory.ts registers on Fastify (access-log.ts: a child
 * logger carrying `reqId` for every line of a request, and one access line per request).
 */
@Module({})
export class LoggingModule implements OnApplicationShutdown {
  constructor(@Inject(ROOT_LOGGER) private readonly root: RootLogger) {}

  static forRoot(config: AppConfig): DynamicModule {
    const root = createRootLogger(config);
    return {
      module: LoggingModule,
      global: true,
      providers: [{ provide: ROOT_LOGGER, useValue: root }],
      exports: [ROOT_LOGGER],
    };
  }

  onApplicationShutdown(): void {
    this.root.flush();
  }
}
