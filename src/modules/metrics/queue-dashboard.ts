import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter as BullBoardFastifyAdapter } from '@bull-board/fastify';
import { Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { ErrorCode } from '../../common/errors/error-code';
import { AccessDecision, AdminAccessService, bearerToken } from '../auth/admin-access.service';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/**
 * Mounts the bull-board UI and its API at /admin/queues, for admins only: every request (page,
 * assets, API) needs `Authorization: Bearer <admin access token>`. A browser therefore reaches it
 * through a proxy or extension that adds the header; no cookie or query token is accepted, so
 * there is nothing to steal from a URL or to ride with a cross-site request.
 */
export async function mountQueueDashboard(fastify: FastifyInstance, queues: Queue[], access: AdminAccessService): Promise<void> {
  const logger = new Logger('QueueDashboard');
  const board = new BullBoardFastifyAdapter();
  board.setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q)), serverAdapter: board });
  await fastify.register(async (scope) => {
    scope.addHook('onRequest', async (request, reply) => {
      const result = await access.adminAccess(bearerToken(request.headers.authorization));
      if (result.decision === AccessDecision.Allowed) return;
      const status = result.decision === AccessDecision.Forbidden ? 403 : 401;
      const code = status === 403 ? ErrorCode.Forbidden : ErrorCode.Unauthorized;
      // The access line shows the 401; this line says why the dashboard refused.
      logger.warn({ reqId: request.id, msg: `Refused ${request.method} ${request.url.split('?')[0]} from ${request.ip}: ${result.message}` });
      return reply
        .code(status)
        .header('content-type', 'application/json; charset=utf-8')
        .send({ statusCode: status, error: STATUS_CODES[status], message: result.message, code, requestId: request.id });
    });
    await scope.register(board.registerPlugin(), { prefix: QUEUE_DASHBOARD_PATH });
  });
}
