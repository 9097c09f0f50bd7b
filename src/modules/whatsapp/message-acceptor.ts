import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ItemOutcome, MicroBatcher } from '../../common/batching/micro-batcher';
import { OutboxWriter } from '../../database/outbox/outbox.writer';
import { ContactPolicyService } from './contact-policy.service';
import { sendMessageJob } from './jobs/whatsapp-jobs';
import { WhatsAppMessageRepository } from './messages/whatsapp-message.repository';
import { PreparedSend } from './send-preparation';
import { IdempotencyKeyRepository } from './idempotency/idempotency-key.repository';
import { sendAnswerFor } from './send-answer';

export interface AcceptRequest {
  prepared: PreparedSend;
  /** Not relayed before this time (an immediate send's safety net, a scheduled send's time). */
  availableAt?: Date;
  /**
   * The request's Idempotency-Key claim: it records the message in the message's transaction,
   * and with `answerQueued` also the answer (a queued send's answer is known once it is stored).
   */
  idempotency?: { claimId: string; answerQueued: boolean };
}

type Accepted = AcceptRequest & { id: string };

/**
 * Stores single sends with group commit: sends that arrive while earlier ones are being written
 * share one contact look-up and one statement that inserts their rows and their outbox jobs
 * (with Idempotency-Keys among them, one transaction that also records the keys; see
 * MicroBatcher: a lone send is written at once). Each caller is answered only after
 * its row committed, or with its own refusal (opt-out, 24-hour window); a batch the database
 * refuses is retried send by send, so one bad row cannot fail the others.
 */
@Injectable()
export class MessageAcceptor {
  private readonly batcher = new MicroBatcher<AcceptRequest, string>({ maxBatch: 200, maxInFlight: 4, isolateFailures: true }, (batch) =>
    this.write(batch),
  );

  constructor(
    private readonly messages: WhatsAppMessageRepository,
    private readonly outbox: OutboxWriter,
    private readonly contactPolicy: ContactPolicyService,
    private readonly idempotencyKeys: IdempotencyKeyRepository,
  ) {}

  /** Resolves with the stored message's id once it committed. */
  accept(request: AcceptRequest): Promise<string> {
    return this.batcher.submit(request);
  }

  private async write(batch: AcceptRequest[]): Promise<ItemOutcome<string>[]> {
    const refusals = await this.contactPolicy.refusals(batch.map((r) => ({ phone: r.prepared.to.e164, isTemplate: r.prepared.isTemplate })));
    const outcomes: ItemOutcome<string>[] = refusals.map((refusal) => (refusal ? { ok: false, error: refusal } : { ok: true, value: '' }));
    const allowed: (Accepted & { index: number })[] = [];
    batch.forEach((r, index) => {
      if (!refusals[index]) allowed.push({ ...r, id: randomUUID(), index });
    });
    if (allowed.length === 0) return outcomes;
    await this.store(allowed);
    for (const a of allowed) outcomes[a.index] = { ok: true, value: a.id };
    return outcomes;
  }

  private async store(batch: Accepted[]): Promise<void> {
    const queuedAt = new Date();
    // A scheduled message is queued when it is due (the claim records it).
    const rows = batch.map((a) => ({ ...a.prepared.message, id: a.id, queuedAt: a.prepared.scheduledAt ? null : queuedAt }));
    const jobs = batch.map((a) => sendMessageJob({ id: a.id, from: a.prepared.message.from }, a.availableAt ? { availableAt: a.availableAt } : {}));
    const bindings = batch.flatMap(({ id, idempotency, prepared }) =>
      idempotency
        ? [
            {
              claimId: idempotency.claimId,
              messageId: id,
              answer: idempotency.answerQueued ? sendAnswerFor({ id, messageSid: null, status: prepared.message.status, scheduledAt: prepared.scheduledAt }) : undefined,
            },
          ]
        : [],
    );
    if (bindings.length === 0) {
      // The rows and their jobs in one statement, atomic on its own: no BEGIN and COMMIT round trips.
      await this.messages.insertWithJobs(rows, this.outbox.insertStatement(jobs, 2));
      this.outbox.written();
      return;
    }
    await this.messages.transaction(async (tx) => {
      await this.messages.insert(tx, rows);
      await this.outbox.add(tx, jobs);
      await this.idempotencyKeys.bindMessages(tx, bindings);
    });
  }
}
