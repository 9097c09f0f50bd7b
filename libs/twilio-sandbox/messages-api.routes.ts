import { FastifyInstance } from 'fastify';
import { MessagesApi } from './messages-api';
import { SandboxAccount } from './sandbox-account';
import { PostedParams } from './sandbox.types';

interface AccountParams {
  AccountSid: string;
}

interface MessageParams extends AccountParams {
  Sid: string;
}

/** Twilio's Programmable Messaging REST API, 2010-04-01: create, fetch, list, delete. */
export function registerMessagesApi(app: FastifyInstance, account: SandboxAccount, messages: MessagesApi): void {
  const accountPath = '/2010-04-01/Accounts/:AccountSid';

  app.post<{ Params: AccountParams; Body: PostedParams | undefined }>(`${accountPath}/Messages.json`, async (request, reply) => {
    const answer = await messages.create(request.params.AccountSid, request.body ?? {}, request.headers.authorization);
    if (answer === null) {
      // An injected hang: leave the request open; stop() closes the connection.
      return reply;
    }
    return reply
      .code(answer.httpStatus)
      .headers(answer.headers ?? {})
      .send(answer.body);
  });

  app.get<{ Params: AccountParams; Querystring: Record<string, string | string[] | undefined> }>(
    `${accountPath}/Messages.json`,
    async (request, reply) => {
      account.assertAuthorized(request.headers.authorization, request.params.AccountSid);
      if (!(await messages.addLatency())) {
        return reply;
      }
      return messages.list(request.params.AccountSid, request.query);
    },
  );

  app.get<{ Params: MessageParams }>(`${accountPath}/Messages/:Sid.json`, async (request, reply) => {
    account.assertAuthorized(request.headers.authorization, request.params.AccountSid);
    if (!(await messages.addLatency())) {
      return reply;
    }
    return messages.fetch(request.params.Sid, request.url.split('?')[0]);
  });

  app.delete<{ Params: MessageParams }>(`${accountPath}/Messages/:Sid.json`, async (request, reply) => {
    account.assertAuthorized(request.headers.authorization, request.params.AccountSid);
    if (!(await messages.addLatency())) {
      return reply;
    }
    messages.delete(request.params.Sid, request.url.split('?')[0]);
    return reply.code(204).send();
  });
}
