import http from 'node:http';
import { AddressInfo } from 'node:net';
import twilio from 'twilio';
import RequestClient from 'twilio/lib/base/RequestClient';
import { SandboxLogger } from '../sandbox.types';

export const ACCOUNT_SID = 'AC00000000000000000000000000000000';
export const AUTH_TOKEN = 'sandbox-auth-token-0000000000000';
export const API_KEY = { sid: 'SK00000000000000000000000000000001', secret: 'sandbox-api-key-secret' };
export const WHATSAPP_FROM = 'whatsapp:+14155238886';
export const MESSAGING_SERVICE_SID = 'MG00000000000000000000000000000001';

/** Sends the real client's requests to the sandbox instead of api.twilio.com / content.twilio.com. */
export class SandboxRequestClient extends RequestClient {
  constructor(
    private readonly sandboxBaseUrl: string,
    options: RequestClient.RequestClientOptions = {},
  ) {
    super({ autoRetry: false, ...options });
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    const uri = opts.uri
      .replace('https://api.twilio.com', this.sandboxBaseUrl)
      .replace('https://content.twilio.com', this.sandboxBaseUrl);
    return super.request({ ...opts, uri });
  }
}

export function sandboxClient(baseUrl: string, username = ACCOUNT_SID, password = AUTH_TOKEN): twilio.Twilio {
  return twilio(username, password, {
    httpClient: new SandboxRequestClient(baseUrl),
    ...(username.startsWith('SK') ? { accountSid: ACCOUNT_SID } : {}),
  });
}

export interface LoggedLine {
  level: 'log' | 'warn' | 'error';
  msg: string;
}

/** Keeps sandbox log lines for assertions instead of printing them into the test output. */
export function recordingLogger(): SandboxLogger & { lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  return {
    lines,
    log: (msg) => lines.push({ level: 'log', msg }),
    warn: (msg) => lines.push({ level: 'warn', msg }),
    error: (msg) => lines.push({ level: 'error', msg }),
  };
}

export function basicAuth(username = ACCOUNT_SID, password = AUTH_TOKEN): string {
  return 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64');
}

/** A create request over plain HTTP, for what the client library would refuse to send. */
export async function postMessage(
  baseUrl: string,
  params: Record<string, string | string[]>,
  init: { authorization?: string; accountSid?: string; signal?: AbortSignal } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      form.append(key, item);
    }
  }
  const response = await fetch(`${baseUrl}/2010-04-01/Accounts/${init.accountSid ?? ACCOUNT_SID}/Messages.json`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      ...(init.authorization === '' ? {} : { Authorization: init.authorization ?? basicAuth() }),
    },
    body: form,
    signal: init.signal,
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export async function controlRequest<T = unknown>(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const response = await fetch(`${baseUrl}/sandbox/control${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export async function waitFor<T>(
  probe: () => T | undefined | false | null,
  description: string,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false && value !== null) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface ReceivedWebhook {
  path: string;
  headers: http.IncomingHttpHeaders;
  params: Record<string, string>;
  receivedAt: number;
}

/** A tiny HTTP server standing in for the service's webhook endpoints. */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  /** Decides the HTTP status per request; 200 unless a test says otherwise. */
  respond: (hit: ReceivedWebhook) => number = () => 200;
  responseBody = '';
  /** TCP connections the sandbox opened to this receiver. */
  connections = 0;
  private server: http.Server | null = null;
  private port = 0;

  async start(): Promise<void> {
    this.server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const hit: ReceivedWebhook = {
          path: request.url ?? '',
          headers: request.headers,
          params: Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))),
          receivedAt: Date.now(),
        };
        this.received.push(hit);
        response.statusCode = this.respond(hit);
        response.setHeader('Content-Type', 'text/xml');
        response.end(this.responseBody);
      });
    });
    this.server.on('connection', () => this.connections++);
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  hitsFor(messageSid: string): ReceivedWebhook[] {
    return this.received.filter((hit) => hit.params.MessageSid === messageSid);
  }

  statusesFor(messageSid: string): string[] {
    return this.hitsFor(messageSid).map((hit) => hit.params.MessageStatus);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}
