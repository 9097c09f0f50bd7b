import formbody from '@fastify/formbody';
import fastify, { FastifyError, FastifyInstance } from 'fastify';
import { AddressInfo } from 'node:net';
import { ContentApiParts, registerContentApi } from './content-api.routes';
import { ContentLibrary } from './content-library';
import { CONTROL_PREFIX, registerControlApi } from './control-api.routes';
import { DeliverySimulation } from './delivery-simulation';
import { FaultInjector } from './fault-injector';
import { InboundMessages } from './inbound-messages';
import { MessageStore } from './message-store';
import { MessagesApi } from './messages-api';
import { registerMessagesApi } from './messages-api.routes';
import { registerPhonePage } from './phone-page.routes';
import { RequestLog } from './request-log';
import { ApiKey, SandboxAccount } from './sandbox-account';
import { SandboxControl } from './sandbox-control';
import { SandboxControlError } from './sandbox-control.error';
import { SandboxTimers } from './sandbox-timers';
import { SandboxLogger } from './sandbox.types';
import { SimulatedErrorCode, TwilioApiError } from './simulated-errors';
import { WebhookSender } from './webhook-sender';

// The service codes against this file; it should not need to know where the types live.
export type {
  FailNextRule,
  InboundMessageInput,
  InboundMessageResult,
  NumberFate,
  SandboxFaults,
  SandboxLogger,
  SandboxMessage,
  SandboxRequestRecord,
  SandboxRequestStats,
  WebhookAttemptRecord,
} from './sandbox.types';
export { TwilioMessageStatus } from './sandbox.types';
export type { ForcedStatus } from './delivery-simulation';
export type { ContentRequestRecord, NewTemplateInput } from './content-library';
export type { SandboxTemplate } from './content-templates';
export { SandboxTemplateSid, TemplateApprovalStatus } from './content-templates';

export interface SandboxOptions {
  /** e.g. 'AC00000000000000000000000000000000' */
  accountSid: string;
  /** Signs webhooks and checks Basic auth. */
  authToken: string;
  /** Also accepted for Basic auth (SK... / secret). */
  apiKeys?: ApiKey[];
  /** Default '127.0.0.1'. */
  host?: string;
  /** 0 picks a free port. Default 0. */
  port?: number;
  /** Delay between lifecycle stages. Default 300. */
  statusDelayMs?: number;
  /** Where inbound (reply) messages are posted, signed. */
  inboundWebhookUrl?: string;
  logger?: SandboxLogger;
}

export const DEFAULT_STATUS_DELAY_MS = 300;

const consoleLogger: SandboxLogger = {
  log: (msg) => console.log(msg),
  warn: (msg) => console.warn(msg),
  error: (msg) => console.error(msg),
};

/**
 * A local stand-in for Twilio's Messages API (plus the Content API's templates),
 * faithful enough that the official `twilio` client works against it unchanged
 * once its requests are pointed at baseUrl.
 */
export class TwilioSandbox {
  /** Faults, what was received and posted, the messages held, reset. */
  readonly control: SandboxControl;
  /** Where accepted messages end: number fates, forced statuses, status callbacks. */
  readonly delivery: DeliverySimulation;
  /** Users writing in, and their 24h session windows. */
  readonly inbound: InboundMessages;
  private readonly account: SandboxAccount;
  private readonly messagesApi: MessagesApi;
  private readonly contentApi: ContentApiParts;
  private readonly timers = new SandboxTimers();
  private readonly logger: SandboxLogger;
  private readonly webhooks: WebhookSender;
  private app: FastifyInstance | null = null;
  private url: string | null = null;

  constructor(private readonly options: SandboxOptions) {
    const logger = options.logger ?? consoleLogger;
    const timers = this.timers;
    const account = new SandboxAccount(options.accountSid, options.authToken, options.apiKeys ?? []);
    const store = new MessageStore();
    const requestLog = new RequestLog();
    const faults = new FaultInjector();
    const webhooks = new WebhookSender(options.authToken, timers, logger);
    this.webhooks = webhooks;
    const inbound = new InboundMessages({ account, store, timers, webhooks, logger, inboundWebhookUrl: options.inboundWebhookUrl });
    const templates = new ContentLibrary();
    const delivery = new DeliverySimulation({
      store,
      timers,
      faults,
      requestLog,
      webhooks,
      inbound,
      logger,
      statusDelayMs: options.statusDelayMs ?? DEFAULT_STATUS_DELAY_MS,
    });
    this.logger = logger;
    this.account = account;
    this.inbound = inbound;
    this.delivery = delivery;
    this.messagesApi = new MessagesApi({ account, store, requestLog, faults, timers, delivery, templates });
    this.control = new SandboxControl({ store, requestLog, faults, webhooks, delivery, inbound, templates });
    this.contentApi = { account, library: templates, faults };
  }

  get baseUrl(): string {
    if (this.url === null) {
      throw new Error('TwilioSandbox is not started; call start() first');
    }
    return this.url;
  }

  async start(): Promise<string> {
    if (this.url !== null) {
      return this.url;
    }
    this.timers.resume();
    // forceCloseConnections: stop() must not wait for keep-alive clients or for
    // requests a timeout fault deliberately never answers.
    const app = fastify({ logger: false, forceCloseConnections: true });
    await app.register(formbody);
    app.setErrorHandler((error: FastifyError, request, reply) => {
      if (error instanceof TwilioApiError) {
        if (error.httpStatus === 401) {
          void reply.header('WWW-Authenticate', 'Basic realm="Twilio API"');
        }
        return reply.code(error.httpStatus).send(error.toBody());
      }
      if (error instanceof SandboxControlError) {
        return reply.code(error.httpStatus).send({ error: error.message });
      }
      if (typeof error.statusCode === 'number' && error.statusCode < 500) {
        if (request.url.startsWith(CONTROL_PREFIX)) {
          return reply.code(error.statusCode).send({ error: error.message });
        }
        return reply.code(error.statusCode).send(new TwilioApiError(error.statusCode, error.statusCode, error.message).toBody());
      }
      this.logger.error(`[twilio-sandbox] ${request.method} ${request.url} failed: ${error.stack ?? error.message}`);
      return reply.code(500).send(new TwilioApiError(500, SimulatedErrorCode.InternalServerError).toBody());
    });
    app.setNotFoundHandler((request, reply) =>
      reply.code(404).send(TwilioApiError.notFound(request.url.split('?')[0]).toBody()),
    );
    registerMessagesApi(app, this.account, this.messagesApi);
    registerContentApi(app, this.contentApi);
    registerControlApi(app, this);
    registerPhonePage(app);

    await app.listen({ host: this.options.host ?? '127.0.0.1', port: this.options.port ?? 0 });
    const address = app.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.app = app;
    this.url = `http://${host}:${address.port}`;
    return this.url;
  }

  /** Closes the server and cancels every pending stage, callback, retry and delayed answer. */
  async stop(): Promise<void> {
    this.timers.stop();
    this.webhooks.close();
    const app = this.app;
    this.app = null;
    this.url = null;
    if (app) {
      await app.close();
    }
  }
}
