import { FastifyInstance } from 'fastify';
import { MAGIC_NUMBERS } from './magic-numbers';
import { SandboxControlError } from './sandbox-control.error';
import { ForcedStatus, SandboxEngine } from './sandbox-engine';
import { InboundMessageInput, NumberFate, SandboxFaults } from './sandbox.types';

export const CONTROL_PREFIX = '/sandbox/control';

/**
 * JSON control API for tests and demos. Unauthenticated on purpose: the sandbox
 * only ever stands in for Twilio on a developer machine or in CI.
 */
export function registerControlApi(app: FastifyInstance, engine: SandboxEngine): void {
  app.get(`${CONTROL_PREFIX}/requests`, async () => engine.requestStats());

  // The phone page polls this twice a second; a 304 spares copying every message when nothing moved.
  app.get(`${CONTROL_PREFIX}/messages`, async (request, reply) => {
    const etag = engine.messagesEtag();
    void reply.header('ETag', etag).header('Cache-Control', 'no-cache');
    const ifNoneMatch = request.headers['if-none-match'];
    if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim() === etag)) {
      return reply.code(304).send();
    }
    return engine.messages();
  });

  app.get<{ Params: { sid: string } }>(`${CONTROL_PREFIX}/messages/:sid`, async (request) => {
    const message = engine.message(request.params.sid);
    if (!message) {
      throw new SandboxControlError(`no message ${request.params.sid}`, 404);
    }
    return message;
  });

  app.post<{ Params: { sid: string }; Body: ForcedStatus }>(`${CONTROL_PREFIX}/messages/:sid/status`, async (request) =>
    engine.forceStatus(request.params.sid, request.body),
  );

  app.get(`${CONTROL_PREFIX}/callbacks`, async () => engine.webhookLog());

  app.get(`${CONTROL_PREFIX}/faults`, async () => engine.currentFaults());

  // PUT and POST both merge: a partial body changes only the settings it names.
  for (const method of ['PUT', 'POST'] as const) {
    app.route<{ Body: Partial<SandboxFaults> }>({
      method,
      url: `${CONTROL_PREFIX}/faults`,
      handler: async (request) => engine.setFaults(request.body),
    });
  }

  app.delete(`${CONTROL_PREFIX}/faults`, async () => {
    engine.resetFaults();
    return engine.currentFaults();
  });

  app.get(`${CONTROL_PREFIX}/numbers`, async () => ({
    fates: engine.numberFates(),
    lastInbound: engine.lastInbound(),
  }));

  app.put<{ Params: { number: string }; Body: NumberFate }>(`${CONTROL_PREFIX}/numbers/:number/fate`, async (request) => {
    engine.setNumberFate(request.params.number, request.body);
    return { fates: engine.numberFates() };
  });

  app.delete<{ Params: { number: string } }>(`${CONTROL_PREFIX}/numbers/:number/fate`, async (request) => {
    engine.clearNumberFate(request.params.number);
    return { fates: engine.numberFates() };
  });

  app.put<{ Params: { number: string }; Body: { lastInboundAt: string | null } }>(
    `${CONTROL_PREFIX}/numbers/:number/last-inbound`,
    async (request) => {
      const raw = request.body?.lastInboundAt;
      const at = raw === null ? null : new Date(raw ?? Number.NaN);
      if (at !== null && Number.isNaN(at.getTime())) {
        throw new SandboxControlError('lastInboundAt must be an ISO date or null');
      }
      engine.setLastInbound(request.params.number, at);
      return { lastInbound: engine.lastInbound() };
    },
  );

  app.post<{ Body: InboundMessageInput }>(`${CONTROL_PREFIX}/inbound`, async (request) =>
    engine.sendInbound(request.body ?? ({} as InboundMessageInput)),
  );

  app.get(`${CONTROL_PREFIX}/magic-numbers`, async () => MAGIC_NUMBERS);

  app.post(`${CONTROL_PREFIX}/reset`, async () => {
    engine.reset();
    return { reset: true };
  });
}
