import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { OutboxJob, OutboxWriter } from '../../database/outbox/outbox.writer';
import { ContactPolicyService } from './contact-policy.service';
import { sendMessageJob } from './jobs/whatsapp-jobs';
import { WhatsAppMessageRepository } from './messages/whatsapp-message.repository';
import { PreparedSend } from './send-preparation';

/** Sends stored by one transaction at most. */
const MAX_BATCH = 200;
/** Transactions of accepted sends in flight at once per process. */
const MAX_IN_FLIGHT = 4;

export interface AcceptRequest {
  prepared: PreparedSend;
  /** Not relayed before this time (an immediate send's safety net). */
  availableAt?: Date;
}

interface Pending extends AcceptRequest {
  id: string;
  resolve: (id: string) => void;
  reject: (err: unknown) => void;
}

/**
 * Stores single sends with group commit: sends that arrive while earlier ones are being written
 * share one contact look-up, one insert of their rows, one insert of their outbox jobs and one
 * commit. A lone send is written at once (the next turn of the event loop), so latency does not
 * grow when the service is idle. Each caller is answered only after its row committed, or with
 * its own refusal (opt-out, 24-hour window); a batch the database refuses is retried send by
 * send, so one bad row cannot fail the others.
 */
@Injectable()
export class MessageAcceptor {
  private readonly logger = new Logger(MessageAcceptor.name);
  private waiting: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly messages: WhatsAppMessageRepository,
    private readonly outbox: OutboxWriter,
    private readonly contactPolicy: ContactPolicyService,
  ) {}

  /** Resolves with the stored message's id once it committed. */
  accept(request: AcceptRequest): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.waiting.push({ ...request, id: randomUUID(), resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= MAX_IN_FLIGHT || this.waiting.length === 0) return;
    this.scheduled = true;
    // Sends that arrive in the same turn of the event loop join the batch.
    setImmediate(() => {
      this.scheduled = false;
      while (this.inFlight < MAX_IN_FLIGHT && this.waiting.length > 0) {
        const batch = this.waiting.splice(0, MAX_BATCH);
        this.inFlight++;
        void this.write(batch).finally(() => {
          this.inFlight--;
          this.schedule();
        });
      }
    });
  }

  private async write(batch: Pending[]): Promise<void> {
    let allowed: Pending[];
    try {
      const refusals = await this.contactPolicy.refusals(batch.map((p) => ({ phone: p.prepared.to.e164, isTemplate: p.prepared.isTemplate })));
      allowed = batch.filter((p, i) => {
        if (refusals[i]) p.reject(refusals[i]);
        return !refusals[i];
      });
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    if (allowed.length === 0) return;
    try {
      await this.store(allowed);
      for (const p of allowed) p.resolve(p.id);
    } catch (err) {
      if (allowed.length === 1) {
        allowed[0].reject(err);
        return;
      }
      this.logger.warn(`A batch of ${allowed.length} sends could not be stored (${(err as Error).message}); storing them one by one`);
      for (const p of allowed) {
        await this.store([p]).then(
          () => p.resolve(p.id),
          (e: unknown) => p.reject(e),
        );
      }
    }
  }

  private store(batch: Pending[]): Promise<void> {
    const queuedAt = new Date();
    return this.messages.transaction(async (tx) => {
      await this.messages.insert(
        tx,
        batch.map((p) => ({ ...p.prepared.message, id: p.id, queuedAt })),
      );
      const jobs: OutboxJob[] = batch.map((p) => sendMessageJob(p.id, p.availableAt ? { availableAt: p.availableAt } : {}));
      await this.outbox.add(tx, jobs);
    });
  }
}
