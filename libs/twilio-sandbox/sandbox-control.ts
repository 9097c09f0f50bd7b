import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { ContentLibrary, ContentRequestRecord } from './content-library';
import { SandboxTemplate } from './content-templates';
import { DeliverySimulation } from './delivery-simulation';
import { FaultInjector } from './fault-injector';
import { InboundMessages } from './inbound-messages';
import { MessageStore } from './message-store';
import { RequestLog } from './request-log';
import {
  SandboxFaults,
  SandboxMessage,
  SandboxRequestRecord,
  SandboxRequestStats,
  WebhookAttemptRecord,
} from './sandbox.types';
import { WebhookSender } from './webhook-sender';

export interface SandboxControlDeps {
  store: MessageStore;
  requestLog: RequestLog;
  faults: FaultInjector;
  webhooks: WebhookSender;
  delivery: DeliverySimulation;
  inbound: InboundMessages;
  templates: ContentLibrary;
}

/**
 * What a test or a demo steers and inspects: the faults, what the sandbox received,
 * holds and posted (always copies), and a reset to a fresh sandbox.
 */
export class SandboxControl {
  private readonly instanceId = randomBytes(4).toString('hex');

  constructor(private readonly deps: SandboxControlDeps) {}

  faults(): SandboxFaults {
    return this.deps.faults.current();
  }

  /** Merges a partial fault set; unknown keys or bad values throw a SandboxControlError. */
  setFaults(faults: Partial<SandboxFaults>): SandboxFaults {
    return this.deps.faults.set(faults);
  }

  resetFaults(): void {
    this.deps.faults.reset();
  }

  /** Every Messages create request received: params as posted, time, resulting SID or error. */
  receivedRequests(): SandboxRequestRecord[] {
    return this.deps.requestLog.all();
  }

  /** Counts per number and sender and per-second rates, as `GET /sandbox/control/requests` answers. */
  requestStats(): SandboxRequestStats {
    return this.deps.requestLog.stats();
  }

  /** The account's Content API templates, oldest first. */
  templates(): SandboxTemplate[] {
    return structuredClone([...this.deps.templates.all()]);
  }

  /** Adds a template (see NewTemplateInput); bad input throws a SandboxControlError. */
  addTemplate(input: unknown): SandboxTemplate {
    return this.deps.templates.add(input);
  }

  removeTemplate(sid: string): boolean {
    return this.deps.templates.remove(sid);
  }

  /** Every Content API request received, listings and fetches alike. */
  contentRequests(): ContentRequestRecord[] {
    return this.deps.templates.receivedRequests();
  }

  /** Every status callback / inbound webhook attempt, retries included. */
  webhookAttempts(): WebhookAttemptRecord[] {
    return this.deps.webhooks.attempts();
  }

  /** Every message held, oldest first. */
  messages(): SandboxMessage[] {
    return structuredClone(this.deps.store.all());
  }

  /**
   * The same list as messages(), as the text of one JSON array, written a slice of messages at a
   * time as the client reads it. A copy of every message and then its whole JSON text at once
   * took the sandbox's memory from 290 to 400 MB for one listing of 20,000 messages. Each
   * message is written as it is when its slice is written (a status may have moved on since the
   * listing began, which the next listing's ETag then shows).
   */
  messagesJson(): Readable {
    return Readable.from(jsonArray(this.deps.store.all()), { objectMode: false });
  }

  message(sid: string): SandboxMessage | undefined {
    const message = this.deps.store.get(sid);
    return message ? structuredClone(message) : undefined;
  }

  /**
   * A weak ETag for the message list. The instance part keeps a page that outlived a restarted
   * sandbox from matching the new one's revision counter.
   */
  messagesEtag(): string {
    return `W/"${this.instanceId}-${this.deps.store.revision}"`;
  }

  /** Back to a fresh sandbox: no messages, records, faults, fates or session windows, the demo templates only; the server keeps running. */
  reset(): void {
    this.deps.delivery.reset();
    this.deps.store.clear();
    this.deps.requestLog.clear();
    this.deps.faults.reset();
    this.deps.inbound.reset();
    this.deps.webhooks.clearAttempts();
    this.deps.templates.reset();
  }
}

const MESSAGES_PER_CHUNK = 200;

function* jsonArray(items: readonly unknown[]): Generator<string> {
  yield '[';
  for (let i = 0; i < items.length; i += MESSAGES_PER_CHUNK) {
    const slice = items
      .slice(i, i + MESSAGES_PER_CHUNK)
      .map((item) => JSON.stringify(item))
      .join(',');
    yield i === 0 ? slice : `,${slice}`;
  }
  yield ']';
}
