import { isUUID } from 'class-validator';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';
import { AppConfig } from '../../config/configuration';
import { DomainEvents, DomainEventType } from '../../common/events/domain-events';
import { OutboxWriter } from '../../database/outbox/outbox.writer';
import { sendJobId, sendMessageJob } from '../queue/queue.types';
import { operatorHint } from '../twilio/twilio-error-codes';
import { DeliveryStatusDto, MessageEventDto } from './dto/delivery-status.dto';
import { MessageEvent } from './entities/message-event.entity';
import { WhatsAppMessage } from './entities/whatsapp-message.entity';
import { ContactPolicyService } from './contact-policy.service';
import { DispatchError, DispatchResult, MessageDispatchService } from './message-dispatch.service';
import { MessageDirection, MessageStatus } from './message-status';
import { parseWhatsAppAddress, WhatsAppAddress } from './phone-number';
import { AuthenticatedUser } from '../auth/auth.types';
import { UserRole } from '../auth/entities/user.entity';

export interface SendOptions {
  immediate?: boolean;
  mediaUrls?: string[];
  from?: string;
  contentSid?: string;
  contentVariables?: Record<string, string>;
  /** The API user sending it. */
  userId?: string;
}

export interface SendResult {
  success: true;
  id: string;
  messageSid: string | null;
  status: MessageStatus;
  /** 201 when sent inline, 202 when queued. */
  httpStatus: 201 | 202;
}

/** A send that passed every check that needs no database: recipient, sender, content. */
export interface PreparedSend {
  to: WhatsAppAddress;
  /** Approved templates may be sent outside the 24-hour window. */
  isTemplate: boolean;
  /** The row to store; the caller adds queuedAt. */
  message: Pick<WhatsAppMessage, 'direction' | 'from' | 'to' | 'body' | 'mediaUrls' | 'contentSid' | 'contentVariables' | 'status' | 'createdBy'>;
}

/**
 * An immediate send also leaves a delayed outbox job behind, so that a crash in the middle of
 * the inline call still gets the message sent (the job finds the SID and stops if it was).
 */
const IMMEDIATE_SAFETY_NET_MS = 120_000;

function iso(d: Date | null): string | null {
  return d ? new Date(d).toISOString() : null;
}

@Injectable()
export class WhatsAppService {
  private readonly logger = new Logger(WhatsAppService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRepository(WhatsAppMessage) private readonly messages: Repository<WhatsAppMessage>,
    @InjectRepository(MessageEvent) private readonly messageEvents: Repository<MessageEvent>,
    private readonly outbox: OutboxWriter,
    private readonly dispatcher: MessageDispatchService,
    private readonly config: ConfigService<AppConfig, true>,
    private readonly domainEvents: DomainEvents,
    private readonly contactPolicy: ContactPolicyService,
  ) {}

  /** Sends a WhatsApp message from code; same rules and result as POST /whatsapp/send. */
  sendWhatsAppMessage(to: string, body: string, options: SendOptions = {}): Promise<SendResult> {
    return this.send({ to, body, ...options });
  }

  async send(input: SendOptions & { to: string; body?: string }): Promise<SendResult> {
    const prepared = this.prepare(input);
    await this.contactPolicy.assertCanSend({ phone: prepared.to.e164, isTemplate: prepared.isTemplate });
    const from = prepared.message.from;
    const immediate = input.immediate === true;
    const now = new Date();

    const message = await this.dataSource.transaction(async (manager) => {
      const entity = manager.create(WhatsAppMessage, { ...prepared.message, queuedAt: now });
      const saved = await manager.save(entity);
      await this.outbox.add(manager, [
        sendMessageJob(saved.id, immediate ? { availableAt: new Date(now.getTime() + IMMEDIATE_SAFETY_NET_MS) } : {}),
      ]);
      return saved;
    });

    this.domainEvents.publish({ type: DomainEventType.MessageAccepted, messageId: message.id, from, immediate });
    if (!immediate) {
      return { success: true, id: message.id, messageSid: null, status: MessageStatus.Queued, httpStatus: 202 };
    }
    return this.sendInline(message);
  }

  /**
   * Checks a send without touching the database (recipient, sender, content) and builds the
   * row to store. The contact policy is left to the caller, so a bulk send can check all its
   * recipients in one query.
   */
  prepare(input: Omit<SendOptions, 'immediate'> & { to: string; body?: string }): PreparedSend {
    const to = parseWhatsAppAddress(input.to, 'to');
    const from = this.resolveSender(input.from);
    const body = input.body ?? null;
    if (!body && !input.contentSid && !(input.mediaUrls && input.mediaUrls.length > 0)) {
      throw new DomainException(ErrorCode.ValidationFailed, 'message is required (or contentSid for a template, or mediaUrl)', {
        field: 'message',
      });
    }
    return {
      to,
      isTemplate: !!input.contentSid,
      message: {
        direction: MessageDirection.Outbound,
        from,
        to: to.address,
        body,
        mediaUrls: input.mediaUrls ?? [],
        contentSid: input.contentSid ?? null,
        contentVariables: input.contentVariables ?? null,
        status: MessageStatus.Queued,
        createdBy: input.userId ?? null,
      },
    };
  }

  /**
   * Sends a stored message before answering. Once the row is committed no error escapes except
   * Twilio's definite rejection: anything else (Twilio unavailable, an unanswered request, a
   * database error after the call) leaves the message queued for the workers, answered 202.
   */
  private async sendInline(message: WhatsAppMessage): Promise<SendResult> {
    const maxAttempts = this.config.get('whatsapp', { infer: true }).maxAttempts;
    const queued: SendResult = { success: true, id: message.id, messageSid: null, status: MessageStatus.Queued, httpStatus: 202 };
    let result: DispatchResult;
    try {
      result = await this.dispatcher.dispatch(message.id, { attempt: 1, maxAttempts });
    } catch (err) {
      const rejected = err instanceof DispatchError && err.final && !err.ambiguous;
      if (!rejected) {
        this.logger.warn(`Immediate send of ${message.id} did not complete (${(err as Error).message}); queued for the workers`);
        // The workers take it now; should even this fail, the safety-net job runs in 2 minutes.
        await this.outbox.releaseNow(this.dataSource.manager, sendJobId(message.id)).catch(() => undefined);
        return queued;
      }
      await this.outbox.cancel(this.dataSource.manager, sendJobId(message.id)).catch(() => undefined);
      const code = err.cause.twilioCode;
      throw new DomainException(ErrorCode.TwilioRejected, `Twilio rejected the message: ${err.cause.message}`, {
        id: message.id,
        status: MessageStatus.Failed,
        twilioCode: code,
        hint: operatorHint(code) ?? err.cause.classification.hint ?? null,
      });
    }
    // The safety-net job is no longer needed (if dropping it fails, it finds the SID and stops).
    await this.outbox.cancel(this.dataSource.manager, sendJobId(message.id)).catch(() => undefined);
    if (!result.message.messageSid) return queued;
    return {
      success: true,
      id: message.id,
      messageSid: result.message.messageSid,
      // As Twilio answered (queued, or accepted for a messaging service).
      status: (result.snapshot?.status as MessageStatus | undefined) ?? result.message.status,
      httpStatus: 201,
    };
  }

  /** The sender to use: the given one if configured, else the default. */
  resolveSender(requested?: string): string {
    const { whatsappFrom: senders, messagingServiceSid } = this.config.get('twilio', { infer: true });
    // Without a WhatsApp sender the Messaging Service (MG...) picks one at Twilio; the row keeps its SID.
    if (!requested) return senders[0] ?? messagingServiceSid!;
    if (senders.length === 0) {
      throw new DomainException(ErrorCode.UnknownSender, `from is not accepted: messages go through the Messaging Service ${messagingServiceSid}, which picks the sender`, {
        field: 'from',
      });
    }
    const normalized = parseWhatsAppAddress(requested, 'from').address;
    if (!senders.includes(normalized)) {
      throw new DomainException(ErrorCode.UnknownSender, `from must be one of the configured senders: ${senders.join(', ')}`, {
        field: 'from',
      });
    }
    return normalized;
  }

  /**
   * A message by id or Twilio SID. With `viewer` a sender only finds the messages they sent (any
   * other answers 404, as if it did not exist); admins and code calls find every message.
   */
  async findByIdOrSid(idOrSid: string, viewer?: AuthenticatedUser): Promise<WhatsAppMessage> {
    const where = isUUID(idOrSid) ? { id: idOrSid } : { messageSid: idOrSid };
    const message = await this.messages.findOne({ where });
    if (!message || (viewer && viewer.role !== UserRole.Admin && message.createdBy !== viewer.id)) {
      throw new DomainException(ErrorCode.MessageNotFound, `No message with id or SID ${idOrSid}`);
    }
    return message;
  }

  async getDeliveryStatus(idOrSid: string, viewer?: AuthenticatedUser): Promise<DeliveryStatusDto> {
    const m = await this.findByIdOrSid(idOrSid, viewer);
    return {
      id: m.id,
      messageSid: m.messageSid,
      status: m.status,
      errorCode: m.errorCode,
      errorMessage: m.errorMessage,
      errorHint: operatorHint(m.errorCode) ?? null,
      attempts: m.attempts,
      timestamps: {
        queued: iso(m.queuedAt),
        sent: iso(m.sentAt),
        delivered: iso(m.deliveredAt),
        read: iso(m.readAt),
        failed: iso(m.failedAt),
      },
      metrics: { deliveryTimeMs: m.deliveryTimeMs },
    };
  }

  async listEvents(idOrSid: string, viewer?: AuthenticatedUser): Promise<MessageEventDto[]> {
    const m = await this.findByIdOrSid(idOrSid, viewer);
    const rows = await this.messageEvents.find({ where: { messageId: m.id }, order: { receivedAt: 'ASC', id: 'ASC' } });
    return rows.map((e) => ({
      id: e.id,
      messageSid: e.messageSid,
      status: e.status,
      errorCode: e.errorCode,
      errorMessage: e.errorMessage,
      source: e.source,
      applied: e.applied,
      receivedAt: e.receivedAt.toISOString(),
      raw: e.raw,
    }));
  }
}
