import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedEvent {
  id: string;
  timestamp: string;
  type: string;
  data: Record<string, any>;
  headers: IncomingHttpHeaders;
  /** The status the receiver answered. */
  answered: number;
}

/**
 * A client's webhook endpoint: checks every request with a Standard Webhooks library (refusing
 * one that does not verify with 401) and answers what `respond` says.
 */
export class WebhookReceiver {
  readonly events: ReceivedEvent[] = [];
  /** Requests whose signature did not verify. */
  readonly refused: { headers: IncomingHttpHeaders; body: string; error: string }[] = [];
  secret?: string;
  respond: (event: Omit<ReceivedEvent, 'answered'>) => number = () => 204;
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let payload: { type: string; timestamp: string; data: Record<string, any> };
        try {
          if (!this.secret) throw new Error('the receiver has no secret yet');
          payload = new Webhook(this.secret).verify(body, req.headers as Record<string, string>) as typeof payload;
        } catch (err) {
          this.refused.push({ headers: req.headers, body, error: (err as Error).message });
          res.writeHead(401).end();
          return;
        }
        const event = { id: String(req.headers['webhook-id']), timestamp: payload.timestamp, type: payload.type, data: payload.data, headers: req.headers };
        const status = this.respond(event);
        this.events.push({ ...event, answered: status });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 300 ? 'receiver says no' : 'ok');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  /** Accepted (2xx) events about one message, in arrival order. */
  accepted(messageId: string): ReceivedEvent[] {
    return this.events.filter((e) => e.data.id === messageId && e.answered < 300);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
