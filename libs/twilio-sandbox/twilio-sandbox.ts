import formbody from '@fastify/formbody';
import fastify, { FastifyError, FastifyInstance } from 'fastify';
import { AddressInfo } from 'node:net';
import { registerContentApi } from './content-api.routes';
import { CONTROL_PREFIX, registerControlApi } from './control-api.routes';
import { registerMessagesApi } from './messages-api.routes';
import { registerPhonePage } from './phone-page.routes';
import { SandboxControlError } from './sandbox-control.error';
import { ForcedStatus, SandboxEngine } from './sandbox-engine';
import {
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
import { TwilioApiError, SimulatedErrorCode } from './simulated-errors';

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
export type { ForcedStatus } from './sandbox-engine';

export interface SandboxOptions {
  /** e.g. 'AC00000000000000000000000000000000' */
  accountSid: string;
  /** Signs webhooks and checks Basic auth. */
  authToken: string;
  /** Also accepted for Basic auth (SK... / secret). */
  apiKeys?: { sid: string; secret: string }[];
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
  private readonly engine: SandboxEngine;
  private readonly logger: SandboxLogger;
  private app: FastifyInstance | null = null;
  private url: string | null = null;

  constructor(private readonly options: SandboxOptions) {
    this.logger = options.logger ?? consoleLogger;
    this.engine = new SandboxEngine({
      accountSid: options.accountSid,
      authToken: options.authToken,
      apiKeys: options.apiKeys ?? [],
      statusDelayMs: options.statusDelayMs ?? DEFAULT_STATUS_DELAY_MS,
      inboundWebhookUrl: options.inboundWebhookUrl,
      logger: this.logger,
    });
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
    this.engine.timers.resume();
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
    registerMessagesApi(app, this.engine);
    registerContentApi(app, this.engine);
    registerControlApi(app, this.engine);
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
    this.engine.timers.stop();
    const app = this.app;
    this.app = null;
    this.url = null;
    if (app) {
      await app.close();
    }
  }

  /** Every Messages create request received: params as posted, time, resulting SID or error. */
  receivedRequests(): SandboxRequestRecord[] {
    return this.engine.receivedRequests();
  }

  /** Counts per number and sender and per-second rates, as `GET /sandbox/control/requests` answers. */
  requestStats(): SandboxRequestStats {
    return this.engine.requestStats();
  }

  messages(): SandboxMessage[] {
    return this.engine.messages();
  }

  message(sid: string): SandboxMessage | undefined {
    return this.engine.message(sid);
  }

  /** Every status callback / inbound webhook attempt, retries included. */
  webhookAttempts(): WebhookAttemptRecord[] {
    return this.engine.webhookLog();
  }

  faults(): SandboxFaults {
    return this.engine.currentFaults();
  }

  setFaults(faults: Partial<SandboxFaults>): void {
    this.engine.setFaults(faults);
  }

  resetFaults(): void {
    this.engine.resetFaults();
  }

  setNumberFate(number: string, fate: NumberFate): void {
    this.engine.setNumberFate(number, fate);
  }

  clearNumberFate(number: string): void {
    this.engine.clearNumberFate(number);
  }

  /** Sets (or with null, forgets) when a number last wrote in, for the 24h session window. */
  setLastInbound(number: string, at: Date | null): void {
    this.engine.setLastInbound(number, at);
  }

  /** Applies a status now and sends its callback, abandoning the rest of the message's lifecycle. */
  forceStatus(sid: string, forced: ForcedStatus): SandboxMessage {
    return this.engine.forceStatus(sid, forced);
  }

  sendInbound(input: InboundMessageInput): Promise<InboundMessageResult> {
    return this.engine.sendInbound(input);
  }

  /** Forgets messages, requests, faults, fates and session windows; the server keeps running. */
  reset(): void {
    this.engine.reset();
  }
}
