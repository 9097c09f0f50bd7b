import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { randomUUID } from 'node:crypto';
import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';
import { DomainEvents, DomainEventType } from '../../common/events/domain-events';
import { AppConfig } from '../../config/configuration';
import { OutboxWriter } from '../../database/outbox/outbox.writer';
import { ContactPolicyService } from './contact-policy.service';
import { BulkItemErrorDto, BulkSendResponseDto, BulkSendResultDto } from './dto/bulk-send-response.dto';
import { toSendInput } from './dto/send-message.dto';
import { BulkMessageDto } from './dto/bulk-send.dto';
import { sendMessageJob } from './jobs/whatsapp-jobs';
import { MessageStatus } from './message-status';
import { WhatsAppMessageRepository } from './messages/whatsapp-message.repository';
import { prepareSend, PreparedSend, SenderSettings } from './send-preparation';

interface Candidate {
  index: number;
  prepared: PreparedSend;
}

function validationError(errors: ValidationError[]): BulkItemErrorDto {
  const messages = errors.flatMap((e) => Object.values(e.constraints ?? {}));
  return { code: ErrorCode.ValidationFailed, message: messages.join('; ') || 'invalid message', field: errors[0].property };
}

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
  ) {}

  async send(items: unknown[], userId: string): Promise<BulkSendResponseDto> {
    const results: BulkSendResultDto[] = items.map((_, index) => ({ index }));
    const candidates: Candidate[] = [];
    const senders = this.config.get('twilio', { infer: true });
    items.forEach((item, index) => {
      const checked = check(item, userId, senders);
      if ('error' in checked) results[index].error = checked.error;
      else candidates.push({ index, prepared: checked.prepared });
    });

    const refusals = await this.contactPolicy.refusals(candidates.map((c) => ({ phone: c.prepared.to.e164, isTemplate: c.prepared.isTemplate })));
    const accepted = candidates.filter((c, i) => {
      const refusal = refusals[i];
      if (refusal) results[c.index].error = { ...domainError(refusal), field: 'to' };
      return !refusal;
    });

    const now = new Date();
    // Ids made here, so results need not rely on the order of rows an INSERT returns.
    const rows = accepted.map((c) => ({ ...c.prepared.message, id: randomUUID(), queuedAt: now }));
    if (rows.length > 0) {
      await this.messages.transaction(async (tx) => {
        await this.messages.insert(tx, rows);
        await this.outbox.add(
          tx,
          rows.map((row) => sendMessageJob(row)),
        );
      });
    }

    accepted.forEach((c, i) => {
      results[c.index].id = rows[i].id;
      results[c.index].status = MessageStatus.Queued;
      this.domainEvents.publish({ type: DomainEventType.MessageAccepted, messageId: rows[i].id, from: rows[i].from, immediate: false });
    });
    return { success: true, accepted: rows.length, rejected: items.length - rows.length, results };
  }
}

/** The checks of a single send that need no database, with the same codes. */
function check(item: unknown, userId: string, senders: SenderSettings): { prepared: PreparedSend } | { error: BulkItemErrorDto } {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    return { error: { code: ErrorCode.ValidationFailed, message: 'each message must be an object' } };
  }
  const dto = plainToInstance(BulkMessageDto, item);
  const errors = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) return { error: validationError(errors) };
  try {
    return { prepared: prepareSend(toSendInput(dto, userId), senders) };
  } catch (err) {
    if (err instanceof DomainException) return { error: domainError(err) };
    throw err;
  }
}
