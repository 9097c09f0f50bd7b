import { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import { AppModule } from './app.module';
import { AllExceptionsFilter } from './common/filters/all-exceptions.filter';
import { createValidationPipe } from './common/http/validation.pipe';
import { AppConfig } from './config/configuration';

export const API_PREFIX = 'api/v1';
/** The API takes JSON bodies up to this size (a 1,000-message bulk send fits). */
const API_BODY_LIMIT = 2 * 1024 * 1024;
/** Twilio's webhook posts are small; a tighter limit keeps a flood of large bodies cheap to refuse. */
const WEBHOOK_BODY_LIMIT = 64 * 1024;
const WEBHOOK_PATHS = new Set([`/${API_PREFIX}/whatsapp/status`, `/${API_PREFIX}/whatsapp/webhook`]);
const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

const LOG_LEVELS: Record<string, LogLevel[] | false> = {
  silent: false,
  fatal: ['fatal'],
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  trace: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
};

/** Builds the HTTP application (not yet listening). Used by main.ts and the e2e tests. */
export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: API_BODY_LIMIT,
    // Only affects the client address in logs and rate limits; webhook signatures are checked
    // against the configured public URLs, whatever the proxies did to Host and scheme.
    trustProxy: config.http.trustProxy,
    // A caller's X-Request-Id is kept (when sane) so one id follows a request across services.
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const incoming = req.headers['x-request-id'];
      const id = Array.isArray(incoming) ? incoming[0] : incoming;
      return id && REQUEST_ID_RE.test(id) ? id : randomUUID();
    },
  });
  const fastify = adapter.getInstance();
  fastify.addHook('onRoute', (route) => {
    if (WEBHOOK_PATHS.has(route.url)) route.bodyLimit = WEBHOOK_BODY_LIMIT;
  });
  fastify.addHook('onSend', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
  });

  const logger = LOG_LEVELS[config.app.logLevel] ?? LOG_LEVELS.info;
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    rawBody: true,
    logger,
  });
  app.setGlobalPrefix(API_PREFIX);
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new AllExceptionsFilter());
  app.enableShutdownHooks();

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('WhatsApp delivery service')
      .setDescription('Send WhatsApp messages through Twilio and know where each one is.')
      .setVersion('1.0')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  await app.init();
  return app;
}
