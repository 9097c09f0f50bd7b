import { randomUUID } from 'node:crypto';
import { sleep } from '../../../bench/support/infra';
import { ProcessStack, uniqueBody } from '../../support/process-stack';

export interface ClientLoadSpec {
  label: string;
  messages: number;
  /** Clients sending at once. */
  clients: number;
  /** A client gives a message up after this long without an answer that settles it. */
  giveUpAfterMs?: number;
  /** Every send goes out twice at once, as from a client that timed out and retried at once. */
  doubled?: boolean;
}

interface Send {
  key: string;
  to: string;
  body: string;
}

/**
 * Clients as the API asks them to behave: every message carries an Idempotency-Key, and a send
 * that got no answer (the service was killed, timed out) or a retryable one (5xx, 429, 409 while
 * the first request is still in progress) is sent again with the same key until it is accepted.
 */
export class ClientLoad {
  /** Idempotency-Key -> the message id the service answered. */
  readonly accepted = new Map<string, string>();
  /** Messages the service refused for good (a 4xx other than 409/429). */
  readonly refused: string[] = [];
  retries = 0;
  /** Keys that, sent again once accepted, answered another message id. */
  readonly replayMismatches: string[] = [];
  private readonly sends: Send[];
  private running?: Promise<void>;

  constructor(
    private readonly stack: ProcessStack,
    private readonly spec: ClientLoadSpec,
  ) {
    this.sends = Array.from({ length: spec.messages }, (_, i) => ({
      key: randomUUID(),
      to: `+1415${String(5_000_000 + i).padStart(7, '0')}`,
      body: uniqueBody(spec.label, i),
    }));
  }

  get bodies(): string[] {
    return this.sends.map((s) => s.body);
  }

  start(): this {
    const queue = [...this.sends];
    const client = async (): Promise<void> => {
      for (let send = queue.shift(); send; send = queue.shift()) await this.deliver(send);
    };
    this.running = Promise.all(Array.from({ length: this.spec.clients }, client)).then(() => undefined);
    return this;
  }

  /** Resolves once every message was accepted or refused (or given up). */
  async done(): Promise<void> {
    await this.running;
  }

  /** Sends every accepted message once more with its key, as a client whose answer was lost would. */
  async replayAll(): Promise<void> {
    for (const send of this.sends) {
      const id = this.accepted.get(send.key);
      if (!id) continue;
      const again = await this.attempt(send);
      if (again.kind === 'accepted' && again.id !== id) this.replayMismatches.push(send.key);
    }
  }

  private async deliver(send: Send): Promise<void> {
    const deadline = Date.now() + (this.spec.giveUpAfterMs ?? 100_000);
    for (;;) {
      const outcomes = await Promise.all(this.spec.doubled ? [this.attempt(send), this.attempt(send)] : [this.attempt(send)]);
      const ids = new Set(outcomes.flatMap((o) => (o.kind === 'accepted' ? [o.id] : [])));
      if (ids.size > 1) this.replayMismatches.push(send.key);
      const outcome = outcomes.find((o) => o.kind === 'accepted') ?? outcomes[0];
      if (outcome.kind === 'accepted') {
        this.accepted.set(send.key, outcome.id);
        return;
      }
      if (outcome.kind === 'refused' || Date.now() > deadline) {
        this.refused.push(`${send.key}: ${outcome.detail}`);
        return;
      }
      this.retries++;
      await sleep(250);
    }
  }

  private async attempt(send: Send): Promise<{ kind: 'accepted'; id: string } | { kind: 'retry' | 'refused'; detail: string }> {
    try {
      const res = await this.stack.api<{ id?: string; code?: string }>('/api/v1/whatsapp/send', {
        body: { to: send.to, message: send.body },
        headers: { 'Idempotency-Key': send.key },
        timeoutMs: 5000,
      });
      if (res.status >= 200 && res.status < 300 && res.body.id) return { kind: 'accepted', id: res.body.id };
      const retryable = res.status >= 500 || res.status === 429 || res.status === 409;
      return { kind: retryable ? 'retry' : 'refused', detail: `HTTP ${res.status} ${res.body.code ?? ''}` };
    } catch (err) {
      return { kind: 'retry', detail: (err as Error).message };
    }
  }
}
