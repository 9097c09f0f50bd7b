import { FastifyInstance } from 'fastify';
import { SandboxEngine } from './sandbox-engine';
import { PostedParams } from './sandbox.types';

interface AccountParams {
  AccountSid: string;
}

interface MessageParams extends AccountParams {
  Sid: string;
}

/** Twilio's Programmable Messaging REST API, 2010-04-01: create, fetch, list, delete. */
export function registerMessagesApi(app: FastifyInstance, engine: SandboxEngine): void {
  const accountPath = '/2010-04-01/Accounts/:AccountSid';

  app.post<{ Params: AccountParams; Body: PostedParams | undefined }>(`${accountPath}/Messages.json`, async (request, reply) => {
    const answer = await engine.handleCreate(request.params.AccountSid, request.body ?? {}, request.headers.authorization);
    if (answer === null) {
      // An injected hang: leave the request open; stop() closes the connection.
      return reply;
    }
    return reply.code(answer.httpStatus).send(answer.body);
  });

  app.get<{ Params: AccountParams; Querystring: Record<string, string | string[] | undefined> }>(
    `${accountPath}/Messages.json`,
    async (request, reply) => {
      engine.assertAuthorized(request.headers.authorization, request.params.AccountSid);
      if (!(await engine.addLatency())) {
        return reply;
      }
      return engine.listMessages(request.params.AccountSid, request.query);
    },
  );

  app.get<{ Params: MessageParams }>(`${accountPath}/Messages/:Sid.json`, async (request, reply) => {
    engine.assertAuthorized(request.headers.authorization, request.params.AccountSid);
    if (!(await engine.addLatency())) {
      return reply;
    }
    return engine.fetchMessage(request.params.Sid, request.url.split('?')[0]);
  });

  app.delete<{ Params: MessageParams }>(`${accountPath}/Messages/:Sid.json`, async (request, reply) => {
    engine.assertAuthorized(request.headers.authorization, request.params.AccountSid);
    if (!(await engine.addLatency())) {
      return reply;
    }
    engine.deleteMessage(request.params.Sid, request.url.split('?')[0]);
    return reply.code(204).send();
  });
}
