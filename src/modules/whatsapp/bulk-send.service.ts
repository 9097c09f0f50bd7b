import { HttpStatus, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { randomUUID } from 'node:crypto';
import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';
import { DomainEvents, DomainEventType } from '../../common/events/domain-events';
import { AppConfig } from '../../config/configuration';
import { OutboxWriter } from '../../database/outbox/outbox.writer';
import { TemplateCatalog } from '../templates/template-catalog.service';
import { ContactPolicyService } from './contact-policy.service';
import { BulkItemErrorDto, BulkSendResponseDto, BulkSendResultDto } from './dto/bulk-send-response.dto';
import { toSendInput } from './dto/send-message.dto';
import { BulkMessageDto } from './dto/bulk-send.dto';
import { sendMessageJob } from './jobs/whatsapp-jobs';
import { MessageStatus } from './message-status';
import { WhatsAppMessageRepository } from './messages/whatsapp-message.repository';
import { prepareSend, PreparedSend, ScheduleRules, SenderSettings } from './send-preparation';
import { resolveSendAt } from './send-schedule';
import { IdempotencyClaim } from './idempotency/idempotency-claim';
import { IdempotencyKeyRepository } from './idempotency/idempotency-key.repository';

interface Candidate {
  index: number;
  prepared: PreparedSend;
}

function validationError(errors: ValidationError[]): BulkItemErrorDto {
  const messages = errors.flatMap((e) => Object.values(e.constraints ?? {}));
  return { code: ErrorCode.ValidationFailed, message: messages.join('; ') || 'invalid message', field: errors[0].property };
}

const CHECK_SLICE = 100;

function domainError(err: DomainException): BulkItemErrorDto {
  const field = err.details?.field;
  return { code: err.code, message: err.message, ...(typeof field === 'string' ? { field } : {}) };
}

/**
 * Many messages in one request, each held to the rules of a single send. Invalid messages are
 * reported by index and the valid ones stored; the database work is a fixed number of round
 * trips whatever the count: one contact look-up, one insert of the messages and one of their
 * outbox jobs, in one transaction.
 */
@Injectable()
export class BulkSendService {
  constructor(
    private readonly messages: WhatsAppMessageRepository,
    private readonly config: ConfigService<AppConfig, true>,
    private readonly contactPolicy: ContactPolicyService,
    private readonly outbox: OutboxWriter,
    private readonly domainEvents: DomainEvents,
    private readonly idempotencyKeys: IdempotencyKeyRepository,
    private readonly templates: TemplateCatalog,
  ) {}

  /**
   * With the request's Idempotency-Key claim, its answer commits with the messages. `sendAt`
   * schedules every message that has none of its own; out of range, it refuses the whole batch.
   */
  async send(items: unknown[], userId: string, claim?: IdempotencyClaim, sendAt?: string): Promise<BulkSendResponseDto> {
    const results: BulkSendResultDto[] = items.map((_, index) => ({ index }));
    const candidates: Candidate[] = [];
    const senders = this.config.get('twilio', { infer: true });
    // Every sendAt of the batch is measured against the same accept time.
    const schedule: ScheduleRules = { now: new Date(), minLeadMs: this.config.get('whatsapp', { infer: true }).scheduleMinLeadMs };
    if (sendAt !== undefined) resolveSendAt(sendAt, schedule.now, schedule.minLeadMs);
    for (const [index, item] of items.entries()) {
      // Checking 1,000 items takes a few hundred milliseconds of CPU: other requests (and the
      // liveness probe) get their turn between slices instead of waiting for all of it.
      if (index > 0 && index % CHECK_SLICE === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const checked = check(item, userId, senders, schedule, sendAt);
      if ('error' in checked) results[index].error = checked.error;
      else candidates.push({ index, prepared: checked.prepared });
    }

    const templateErrors = await Promise.all(candidates.map((c) => this.templateError(c.prepared)));
    const checked = candidates.filter((c, i) => {
      const error = templateErrors[i];
      if (error) results[c.index].error = error;
      return !error;
    });

    const refusals = await this.contactPolicy.refusals(checked.map((c) => ({ phone: c.prepared.to.e164, isTemplate: c.prepared.isTemplate })));
    const accepted = checked.filter((c, i) => {
      const refusal = refusals[i];
      if (refusal) results[c.index].error = { ...domainError(refusal), field: 'to' };
      return !refusal;
    });

    const now = new Date();
    // Ids made here, so results need not rely on the order of rows an INSERT returns.
    // A scheduled message is queued when it is due (the claim records it).
    const rows = accepted.map((c) => ({ ...c.prepared.message, id: randomUUID(), queuedAt: c.prepared.scheduledAt ? null : now }));
    accepted.forEach((c, i) => {
      results[c.index].id = rows[i].id;
      const scheduledAt = c.prepared.scheduledAt;
      results[c.index].status = scheduledAt ? MessageStatus.Scheduled : MessageStatus.Queued;
      if (scheduledAt) results[c.index].scheduledAt = scheduledAt.toISOString();
    });
    const answer: BulkSendResponseDto = { success: true, accepted: rows.length, rejected: items.length - rows.length, results };
    if (rows.length > 0) {
      await this.messages.transaction(async (tx) => {
        await this.messages.insert(tx, rows);
        await this.outbox.add(
          tx,
          // A scheduled send's job stays in the outbox (Postgres) until its time.
          rows.map((row, i) => sendMessageJob(row, accepted[i].prepared.scheduledAt ? { availableAt: accepted[i].prepared.scheduledAt } : {})),
        );
        if (claim) await this.idempotencyKeys.bindMessages(tx, [{ claimId: claim.id, messageId: null, answer: { status: HttpStatus.ACCEPTED, body: answer } }]);
      });
      if (claim) claim.answered = true;
    }

    for (const row of rows) this.domainEvents.publish({ type: DomainEventType.MessageAccepted, messageId: row.id, from: row.from, immediate: false });
    return answer;
  }

  /** The item's error when its template refuses its contentVariables (one Content API listing for the whole request at most). */
  private async templateError({ message }: PreparedSend): Promise<BulkItemErrorDto | undefined> {
    if (!message.contentSid) return undefined;
    try {
      await this.templates.check(message.contentSid, message.contentVariables);
      return undefined;
    } catch (err) {
      if (!(err instanceof DomainException)) throw err;
      const { field: _field, ...details } = err.details ?? {};
      return { ...domainError(err), details };
    }
  }
}

/** The checks of a single send that need no database, with the same codes. */
function check(item: unknown, userId: string, senders: SenderSettings, schedule: ScheduleRules, batchSendAt?: string): { prepared: PreparedSend } | { error: BulkItemErrorDto } {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    return { error: { code: ErrorCode.ValidationFailed, message: 'each message must be an object' } };
  }
  const dto = plainToInstance(BulkMessageDto, item);
  const errors = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) return { error: validationError(errors) };
  try {
    const input = toSendInput(dto, userId);
    return { prepared: prepareSend({ ...input, sendAt: input.sendAt ?? batchSendAt }, senders, schedule) };
  } catch (err) {
    if (err instanceof DomainException) return { error: domainError(err) };
    throw err;
  }
}
