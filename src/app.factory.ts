import { getQueueToken } from '@nestjs/bullmq';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AppModule } from './app.module';
import { AllExceptionsFilter } from './common/filters/all-exceptions.filter';
import { registerAccessLog } from './common/logging/access-log';
import { nestLoggerFor } from './common/logging/app-pino-logger';
import { ROOT_LOGGER } from './common/logging/logging.module';
import { configuredSecrets } from './common/logging/redaction';
import type { RootLogger } from './common/logging/root-logger';
import { registerInputBounds } from './common/http/input-bounds';
import { registerSecurityHeaders } from './common/http/security-headers';
import { createValidationPipe } from './common/http/validation.pipe';
import { withTimeout } from './common/with-timeout';
import { AppConfig, servesApi } from './config/configuration';
import { AdminAccessService } from './modules/auth/admin-access.service';
import { GracefulShutdown } from './modules/health/graceful-shutdown.service';
import { PrometheusMetricsService } from './modules/metrics/prometheus-metrics.service';
import { mountQueueDashboard } from './modules/metrics/queue-dashboard';
import { QueueName } from './modules/queue/queue.types';
import { leanAsyncResourceBind } from './common/runtime/async-resource-bind';

export const API_PREFIX = 'api/v1';
/** The API takes JSON bodies up to this size (a 1,000-message bulk send fits). */
const API_BODY_LIMIT = 2 * 1024 * 1024;
/** 1,000 messages of 1,600 non-Latin characters (up to 4 bytes each) and their media URLs fit. */
const BULK_BODY_LIMIT = 8 * 1024 * 1024;
const BULK_PATH = `/${API_PREFIX}/whatsapp/send/bulk`;
/** Twilio's webhook posts are small; a tighter limit keeps a flood of large bodies cheap to refuse. */
const WEBHOOK_BODY_LIMIT = 64 * 1024;
const WEBHOOK_PATHS = new Set([`/${API_PREFIX}/whatsapp/status`, `/${API_PREFIX}/whatsapp/webhook`]);
const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
/** Prometheus' scrape path; outside the API prefix, where scrapers look for it. */
const METRICS_PATH = 'metrics';

/** Builds the HTTP application (not yet listening). Used by main.ts and the e2e tests. */
export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  // Fastify binds a callback to an AsyncResource on every request with a body; Node 20's bind is
  // the dearer for a deprecation nothing here uses (see leanAsyncResourceBind).
  leanAsyncResourceBind();
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
    if (route.url === BULK_PATH) route.bodyLimit = BULK_BODY_LIMIT;
  });
  registerInputBounds(fastify);
  registerSecurityHeaders(fastify, { hsts: config.app.isProduction });
  let shutdown: GracefulShutdown | undefined;
  fastify.addHook('onSend', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
    // While draining, every answer ends its keep-alive connection: a connection that was busy when
    // the server started closing would otherwise stay open, idle, and hold the close up.
    if (shutdown?.draining) reply.header('Connection', 'close');
  });
  // Request logging and the reqId of every line logged during a request (set once the app exists).
  let rootLogger: Logger | undefined;
  registerAccessLog(fastify, () => rootLogger, configuredSecrets(config));
  // Added before any route exists, so it sees every route (Nest's, the dashboard's, 404s).
  let metrics: PrometheusMetricsService | undefined;
  fastify.addHook('onResponse', async (request, reply) => {
    metrics?.observeHttp(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
  });

  // Nest's own boot lines wait in a buffer until the pino logger is in place.
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    rawBody: true,
    bufferLogs: true,
  });
  rootLogger = app.get<RootLogger>(ROOT_LOGGER).logger;
  app.useLogger(nestLoggerFor(rootLogger));
  app.flushLogs();
  metrics = app.get(PrometheusMetricsService);
  shutdown = app.get(GracefulShutdown);
  app.setGlobalPrefix(API_PREFIX, { exclude: [METRICS_PATH] });
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new AllExceptionsFilter());
  closeOnce(app);
  // A worker answers its probes and nothing else: no docs, no dashboard.
  if (servesApi(config.app.role)) await mountApiExtras(app, config);
  await app.init();
  return app;
}

/** The OpenAPI document and UI (unless turned off), and the queue dashboard: what an API process serves beside its routes. */
async function mountApiExtras(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  if (config.http.apiDocs) mountApiDocs(app);
  await mountQueueDashboard(app.getHttpAdapter().getInstance(), [app.get<Queue>(getQueueToken(QueueName.WhatsApp))], app.get(AdminAccessService));
}

function mountApiDocs(app: NestFastifyApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('WhatsApp delivery service')
      .setDescription('Send WhatsApp messages through Twilio and know where each one is.')
      .setVersion('1.0')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT or API key (wsk_...)' })
      .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'api-key')
      .build(),
  );
  // Every route that takes a bearer token takes an API key as X-API-Key too (JwtAuthGuard).
  for (const methods of Object.values(document.paths)) {
    for (const op of Object.values(methods) as { security?: Record<string, string[]>[] }[]) {
      // A new array: the routes of one controller share the decorator's.
      if (op?.security?.some((requirement) => 'bearer' in requirement)) op.security = [...op.security, { 'api-key': [] }];
    }
  }
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}

/** A second close() (a signal during a test's own close, say) waits for the first instead of closing twice. */
function closeOnce(app: INestApplication): void {
  const close = app.close.bind(app);
  let closing: Promise<void> | undefined;
  app.close = () => (closing ??= close());
}

/**
 * Graceful shutdown, what main.ts runs on SIGTERM/SIGINT: readiness answers 503 at once; the queue
 * workers stop taking jobs and finish the running ones; the HTTP server stops accepting and
 * finishes in-flight requests; then the outbox relay, queues, Postgres, Redis and the Twilio
 * client close. Jobs still waiting stay in Redis, and rows not yet relayed stay in the outbox,
 * for the next process. Rejects when it takes longer than SHUTDOWN_TIMEOUT_MS.
 */
export async function shutdownApp(app: INestApplication, config: AppConfig): Promise<void> {
  app.get(GracefulShutdown).beginDrain();
  await withTimeout(app.close(), config.http.shutdownTimeoutMs, 'graceful shutdown');
}
