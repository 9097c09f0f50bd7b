import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks';
import { AttemptFailure, failureForStatus, parseConnectionOverrides, shouldRetry } from './connection-overrides';
import { SandboxTimers } from './sandbox-timers';
import { SandboxLogger, WebhookAttemptRecord, SimulatedWebhookKind } from './sandbox.types';

export interface WebhookRequest {
  kind: SimulatedWebhookKind;
  /** As configured by the service: Twilio signs this exact string, fragment included. */
  configuredUrl: string;
  messageSid: string;
  status: string | null;
  params: Record<string, string>;
}

export interface WebhookOutcome {
  delivered: boolean;
  httpStatus: number | null;
  body: string;
  attempts: number;
}

type AttemptResult =
  | { kind: 'response'; httpStatus: number; body: string }
  | { kind: 'failure'; failure: AttemptFailure; detail: string }
  | { kind: 'aborted' };

const MAX_RESPONSE_BYTES = 64 * 1024;
const MAX_ATTEMPT_RECORDS = 10_000;
/**
 * An idle connection is closed after this long: under the 5 s keep-alive timeout of a plain
 * Node server (Fastify keeps 72 s), so the sandbox never reuses one the receiver is closing.
 */
const IDLE_SOCKET_MS = 4_000;

/**
 * Posts signed, form-encoded webhooks the way Twilio does, retrying per the URL's connection
 * overrides, and keeps a record of every attempt (the newest MAX_ATTEMPT_RECORDS).
 */
export class WebhookSender {
  private attemptRecords: WebhookAttemptRecord[] = [];
  /**
   * Connections are kept alive between callbacks, as a busy receiver expects: a new TCP (and
   * TLS) connection per callback costs the receiver more than the callback itself under load.
   * Idle sockets don't keep the process alive; close() destroys them all.
   */
  private readonly agents = {
    'http:': new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS, scheduling: 'lifo' }),
    'https:': new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS, scheduling: 'lifo' }),
  };

  constructor(
    private readonly authToken: string,
    private readonly timers: SandboxTimers,
    private readonly logger: SandboxLogger,
  ) {}

  /** Every status callback / inbound webhook attempt, retries included, oldest first. */
  attempts(): WebhookAttemptRecord[] {
    return structuredClone(this.attemptRecords);
  }

  clearAttempts(): void {
    this.attemptRecords = [];
  }

  /** Closes every kept-alive connection (the sandbox is stopping). */
  close(): void {
    this.agents['http:'].destroy();
    this.agents['https:'].destroy();
  }

  async send(request: WebhookRequest): Promise<WebhookOutcome> {
    const overrides = parseConnectionOverrides(request.configuredUrl);
    let target: URL;
    try {
      target = new URL(overrides.requestUrl);
    } catch {
      this.logger.error(`[twilio-sandbox] ${request.kind} for ${request.messageSid}: invalid URL ${request.configuredUrl}`);
      return { delivered: false, httpStatus: null, body: '', attempts: 0 };
    }
    const body = new URLSearchParams(request.params).toString();
    const headers = {
      'Content-Type': 'application/x-www-form-urlencoded',
      'Content-Length': String(Buffer.byteLength(body)),
      'User-Agent': 'TwilioProxy/1.1',
      Accept: '*/*',
      'X-Twilio-Signature': getExpectedTwilioSignature(this.authToken, request.configuredUrl, request.params),
      // Twilio keeps the token across retries of one event, so receivers can drop repeats.
      'I-Twilio-Idempotency-Token': randomUUID(),
      'X-Home-Region': 'us1',
    };

    const startedAt = Date.now();
    const maxAttempts = 1 + overrides.retryCount;
    for (let attempt = 1; attempt <= maxAttempts && !this.timers.isStopped; attempt += 1) {
      const result = await this.attempt(target, body, headers, overrides.connectTimeoutMs, overrides.readTimeoutMs);
      if (result.kind === 'aborted') {
        break;
      }
      const answered = result.kind === 'response' ? result : null;
      this.recordAttempt({
        kind: request.kind,
        url: request.configuredUrl,
        messageSid: request.messageSid,
        status: request.status,
        attempt,
        sentAt: new Date().toISOString(),
        httpStatus: answered?.httpStatus ?? null,
        failure: result.kind === 'failure' ? `${result.failure}: ${result.detail}` : null,
      });
      const failure = result.kind === 'response' ? failureForStatus(result.httpStatus) : result.failure;
      if (failure === null) {
        return { delivered: true, httpStatus: answered?.httpStatus ?? null, body: answered?.body ?? '', attempts: attempt };
      }
      const retry =
        attempt < maxAttempts &&
        shouldRetry(failure, overrides.retryPolicies) &&
        Date.now() - startedAt < overrides.totalTimeoutMs;
      this.logger.warn(
        `[twilio-sandbox] ${request.kind} ${request.status ?? ''} for ${request.messageSid} to ${overrides.requestUrl} ` +
          `failed (${failure}${answered ? ` HTTP ${answered.httpStatus}` : ''}), attempt ${attempt}/${maxAttempts}` +
          (retry ? ', retrying' : ', giving up'),
      );
      if (!retry) {
        return { delivered: false, httpStatus: answered?.httpStatus ?? null, body: answered?.body ?? '', attempts: attempt };
      }
    }
    return { delivered: false, httpStatus: null, body: '', attempts: 0 };
  }

  private recordAttempt(record: WebhookAttemptRecord): void {
    this.attemptRecords.push(record);
    if (this.attemptRecords.length > MAX_ATTEMPT_RECORDS) {
      this.attemptRecords.shift();
    }
  }

  private attempt(
    target: URL,
    body: string,
    headers: Record<string, string>,
    connectTimeoutMs: number,
    readTimeoutMs: number,
  ): Promise<AttemptResult> {
    const { controller, release } = this.timers.abortController();
    const transport = target.protocol === 'https:' ? https : http;
    const agent = target.protocol === 'https:' ? this.agents['https:'] : this.agents['http:'];
    return new Promise<AttemptResult>((resolve) => {
      let settled = false;
      let readTimer: NodeJS.Timeout | undefined;
      const finish = (result: AttemptResult): void => {
        if (settled) {
          return;
        }
        settled = true;
        clearTimeout(connectTimer);
        clearTimeout(readTimer);
        release();
        resolve(result);
      };
      const request = transport.request(target, { method: 'POST', headers, agent, signal: controller.signal });
      const connectTimer = setTimeout(() => {
        request.destroy();
        finish({ kind: 'failure', failure: AttemptFailure.ConnectFailed, detail: `no connection within ${connectTimeoutMs} ms` });
      }, connectTimeoutMs);
      const connected = (): void => {
        clearTimeout(connectTimer);
        readTimer = setTimeout(() => {
          request.destroy();
          finish({ kind: 'failure', failure: AttemptFailure.ReadTimeout, detail: `no answer within ${readTimeoutMs} ms` });
        }, readTimeoutMs);
      };
      request.on('socket', (socket) => {
        // A kept-alive socket is connected already: the read timeout starts now.
        if (socket.connecting) socket.once('connect', connected);
        else connected();
      });
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_RESPONSE_BYTES) {
            chunks.push(chunk);
          }
        });
        response.on('end', () =>
          finish({ kind: 'response', httpStatus: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', (error) =>
          finish({ kind: 'failure', failure: AttemptFailure.ReadTimeout, detail: error.message }),
        );
      });
      request.on('error', (error) => {
        if (controller.signal.aborted) {
          finish({ kind: 'aborted' });
          return;
        }
        const connected = readTimer !== undefined;
        finish({
          kind: 'failure',
          failure: connected ? AttemptFailure.ReadTimeout : AttemptFailure.ConnectFailed,
          detail: error.message,
        });
      });
      request.end(body);
    });
  }
}
