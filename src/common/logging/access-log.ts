import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Level, Logger } from 'pino';
import { LogContext } from './log-context';
import { scrubLoggedRequest } from './redaction';

/** Probes and scrapes come every few seconds; their access lines would drown the rest. */
const QUIET_PATHS = [/^\/api\/v1\/health(\/|\?|$)/, /^\/metrics(\?|$)/];

declare module 'fastify' {
  interface FastifyRequest {
    requestLog: LogContext | null;
  }
}

/** The access line's level: 5xx error, 4xx warn, the rest info. */
export function accessLevel(statusCode: number): Level {
  return statusCode >= 500 ? 'error' : statusCode >= 400 ? 'warn' : 'info';
}

/** The request as pino-std-serializers gives it (what pino-http logged), its URL and query scrubbed. */
function serializeRequest(request: FastifyRequest, secrets: readonly string[]) {
  const raw = request.raw;
  return scrubLoggedRequest(
    {
      id: request.id,
      method: request.method,
      url: raw.url,
      query: request.query,
      params: request.params,
      headers: request.headers,
      remoteAddress: raw.socket?.remoteAddress,
      remotePort: raw.socket?.remotePort,
    },
    secrets,
  );
}

/**
 * Request logging as Fastify hooks: every request gets a logger carrying its `reqId` (the
 * Fastify request id, which honours a sane incoming X-Request-Id), bound for the request's
 * asynchronous life in nestjs-pino's store so every Nest Logger line of the request carries it;
 * and once the answer is sent, one access line (`request completed`, or `request errored` for
 * a 5xx) with the request, the answer's status and headers, and the time taken in ms.
 *
 * pino-http did this as middleware, but it serializes and redacts the whole request into a
 * second child logger on every request, whether or not the access line is ever written (at
 * LOG_LEVEL=warn a 2xx line never is): a tenth of the CPU of an API process under load, plus
 * the middleware layer it needs. Here the request is serialized only for a line that is written.
 */
export function registerAccessLog(fastify: FastifyInstance, root: () => Logger | undefined, secrets: readonly string[]): void {
  fastify.decorateRequest('requestLog', null);

  fastify.addHook('onRequest', (request, _reply, done) => {
    const logger = root();
    if (!logger) return done();
    const log = new LogContext(logger, { reqId: request.id });
    request.requestLog = log;
    log.run(done);
  });

  // Fastify runs onResponse once the answer is written (or writing it failed: the client left).
  fastify.addHook('onResponse', (request, reply, done) => {
    const log = request.requestLog;
    const statusCode = reply.statusCode;
    const level = accessLevel(statusCode);
    if (log && log.enabled(level) && !QUIET_PATHS.some((re) => re.test(request.url))) {
      const fields = {
        req: serializeRequest(request, secrets),
        res: { statusCode, headers: reply.getHeaders() },
        responseTime: Math.round(reply.elapsedTime),
      };
      if (statusCode >= 500) log.logger[level]({ ...fields, err: new Error(`failed with status code ${statusCode}`) }, 'request errored');
      else log.logger[level](fields, 'request completed');
    }
    done();
  });
}
