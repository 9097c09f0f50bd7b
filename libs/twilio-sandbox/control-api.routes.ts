import { FastifyInstance, FastifyRequest } from 'fastify';
import { DeliverySimulation, ForcedStatus } from './delivery-simulation';
import { InboundMessages } from './inbound-messages';
import { MAGIC_NUMBERS } from './magic-numbers';
import { SandboxControl } from './sandbox-control';
import { SandboxControlError } from './sandbox-control.error';
import { InboundMessageInput, NumberFate, SandboxFaults } from './sandbox.types';

export const CONTROL_PREFIX = '/sandbox/control';

/** The parts of the sandbox the control API drives. */
export interface ControlApiParts {
  control: SandboxControl;
  delivery: DeliverySimulation;
  inbound: InboundMessages;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Why a state-changing control request must be refused, or undefined. The control API has no
 * credentials, so without this any web page a developer opens could post to it (a form, or a
 * no-cors fetch, needs no CORS preflight) and make the sandbox send a signed inbound STOP to their
 * service. Browsers mark such requests with Sec-Fetch-Site and Origin; scripts and the CLI send
 * neither; a body must be JSON, which a page cannot send cross-site without a preflight.
 */
export function crossSiteRefusal(request: Pick<FastifyRequest, 'method' | 'headers'>): SandboxControlError | undefined {
  if (SAFE_METHODS.has(request.method)) return undefined;
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return new SandboxControlError(`cross-site request refused (Sec-Fetch-Site: ${site})`, 403);
  }
  const origin = request.headers.origin;
  if (origin !== undefined) {
    let host: string | undefined;
    try {
      host = new URL(origin).host;
    } catch {
      host = undefined;
    }
    if (host !== request.headers.host) return new SandboxControlError(`cross-origin request refused (Origin: ${origin.slice(0, 100)})`, 403);
  }
  const type = request.headers['content-type'];
  const hasBody = type !== undefined || Number(request.headers['content-length'] ?? 0) > 0 || request.headers['transfer-encoding'] !== undefined;
  if (hasBody && !/^application\/json\b/i.test(type ?? '')) {
    return new SandboxControlError('the control API takes application/json bodies only', 415);
  }
  return undefined;
}

/**
 * JSON control API for tests and demos. Unauthenticated on purpose: the sandbox
 * only ever stands in for Twilio on a developer machine or in CI; cross-site requests
 * from a browser are refused (crossSiteRefusal).
 */
export function registerControlApi(app: FastifyInstance, { control, delivery, inbound }: ControlApiParts): void {
  // onRequest: before the body is parsed, so a form post is refused before it is read.
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith(CONTROL_PREFIX)) return;
    const refusal = crossSiteRefusal(request);
    if (refusal) throw refusal;
  });

  app.get(`${CONTROL_PREFIX}/requests`, async () => control.requestStats());

  // The phone page polls this twice a second; a 304 spares copying every message when nothing moved.
  app.get(`${CONTROL_PREFIX}/messages`, async (request, reply) => {
    const etag = control.messagesEtag();
    void reply.header('ETag', etag).header('Cache-Control', 'no-cache');
    const ifNoneMatch = request.headers['if-none-match'];
    if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim() === etag)) {
      return reply.code(304).send();
    }
    return reply.type('application/json; charset=utf-8').send(control.messagesJson());
  });

  app.get<{ Params: { sid: string } }>(`${CONTROL_PREFIX}/messages/:sid`, async (request) => {
    const message = control.message(request.params.sid);
    if (!message) {
      throw new SandboxControlError(`no message ${request.params.sid}`, 404);
    }
    return message;
  });

  app.post<{ Params: { sid: string }; Body: ForcedStatus }>(`${CONTROL_PREFIX}/messages/:sid/status`, async (request) =>
    delivery.forceStatus(request.params.sid, request.body),
  );

  app.get(`${CONTROL_PREFIX}/callbacks`, async () => control.webhookAttempts());

  app.get(`${CONTROL_PREFIX}/faults`, async () => control.faults());

  // PUT and POST both merge: a partial body changes only the settings it names.
  for (const method of ['PUT', 'POST'] as const) {
    app.route<{ Body: Partial<SandboxFaults> }>({
      method,
      url: `${CONTROL_PREFIX}/faults`,
      handler: async (request) => control.setFaults(request.body),
    });
  }

  app.delete(`${CONTROL_PREFIX}/faults`, async () => {
    control.resetFaults();
    return control.faults();
  });

  app.get(`${CONTROL_PREFIX}/numbers`, async () => ({
    fates: delivery.numberFates(),
    lastInbound: inbound.lastInbound(),
  }));

  app.put<{ Params: { number: string }; Body: NumberFate }>(`${CONTROL_PREFIX}/numbers/:number/fate`, async (request) => {
    delivery.setNumberFate(request.params.number, request.body);
    return { fates: delivery.numberFates() };
  });

  app.delete<{ Params: { number: string } }>(`${CONTROL_PREFIX}/numbers/:number/fate`, async (request) => {
    delivery.clearNumberFate(request.params.number);
    return { fates: delivery.numberFates() };
  });

  app.put<{ Params: { number: string }; Body: { lastInboundAt: string | null } }>(
    `${CONTROL_PREFIX}/numbers/:number/last-inbound`,
    async (request) => {
      const raw = request.body?.lastInboundAt;
      const at = raw === null ? null : new Date(raw ?? Number.NaN);
      if (at !== null && Number.isNaN(at.getTime())) {
        throw new SandboxControlError('lastInboundAt must be an ISO date or null');
      }
      inbound.setLastInbound(request.params.number, at);
      return { lastInbound: inbound.lastInbound() };
    },
  );

  app.post<{ Body: InboundMessageInput }>(`${CONTROL_PREFIX}/inbound`, async (request) =>
    inbound.send(request.body ?? ({} as InboundMessageInput)),
  );

  app.get(`${CONTROL_PREFIX}/magic-numbers`, async () => MAGIC_NUMBERS);

  app.get(`${CONTROL_PREFIX}/templates`, async () => control.templates());

  app.post<{ Body: unknown }>(`${CONTROL_PREFIX}/templates`, async (request, reply) => reply.code(201).send(control.addTemplate(request.body)));

  app.delete<{ Params: { sid: string } }>(`${CONTROL_PREFIX}/templates/:sid`, async (request, reply) => {
    if (!control.removeTemplate(request.params.sid)) throw new SandboxControlError(`no template ${request.params.sid}`, 404);
    return reply.code(204).send();
  });

  app.get(`${CONTROL_PREFIX}/content-requests`, async () => control.contentRequests());

  app.post(`${CONTROL_PREFIX}/reset`, async () => {
    control.reset();
    return { reset: true };
  });
}
