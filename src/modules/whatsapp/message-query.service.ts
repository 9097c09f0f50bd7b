import { isUUID } from 'class-validator';
import { Injectable } from '@nestjs/common';
import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';
import { isCalendarDateTime } from '../../common/http/calendar-date-time.validator';
import { AuthenticatedUser } from '../auth/auth.types';
import { UserRole } from '../auth/entities/user.entity';
import { operatorHint } from '../twilio/twilio-error-codes';
import { DeliveryStatusDto, MessageEventDto } from './dto/delivery-status.dto';
import { ListMessagesQueryDto, MessagePageDto, MessageSummaryDto } from './dto/list-messages.dto';
import { WhatsAppMessage } from './entities/whatsapp-message.entity';
import { MessageEventRepository } from './messages/message-event.repository';
import { WhatsAppMessageRepository } from './messages/whatsapp-message.repository';
import { parseWhatsAppAddress } from './phone-number';

const DEFAULT_LIMIT = 50;

interface Cursor {
  c: string; // createdAt (millisecond precision in the table too)
  i: string; // id
}

function encodeCursor(m: WhatsAppMessage): string {
  return Buffer.from(JSON.stringify({ c: m.createdAt.toISOString(), i: m.id } satisfies Cursor)).toString('base64url');
}

function decodeCursor(raw: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Cursor;
    // Only what encodeCursor writes: a date Date.parse reads but Postgres does not would fail the query.
    if (isCalendarDateTime(c.c) && new Date(c.c).toISOString() === c.c && typeof c.i === 'string' && isUUID(c.i)) return c;
  } catch {
    // fall through
  }
  throw new DomainException(ErrorCode.ValidationFailed, 'cursor is not a cursor this API returned', { field: 'cursor' });
}

function iso(d: Date | null): string | null {
  return d ? new Date(d).toISOString() : null;
}

export function toSummary(m: WhatsAppMessage): MessageSummaryDto {
  return {
    id: m.id,
    messageSid: m.messageSid,
    direction: m.direction,
    from: m.from,
    to: m.to,
    body: m.body,
    mediaUrls: m.mediaUrls,
    contentSid: m.contentSid,
    status: m.status,
    errorCode: m.errorCode,
    errorMessage: m.errorMessage,
    profileName: m.profileName,
    retryOf: m.retryOf,
    clientReference: m.clientReference,
    metadata: m.metadata,
    attempts: m.attempts,
    scheduledAt: iso(m.scheduledAt),
    canceledAt: iso(m.canceledAt),
    createdAt: m.createdAt.toISOString(),
    updatedAt: m.updatedAt.toISOString(),
  };
}

/** Reads messages: one by id or SID, its status history, and newest-first pages. */
@Injectable()
export class MessageQueryService {
  constructor(
    private readonly messages: WhatsAppMessageRepository,
    private readonly messageEvents: MessageEventRepository,
  ) {}

  /**
   * A message by id or Twilio SID. With `viewer` a sender only finds the messages they sent (any
   * other answers 404, as if it did not exist); admins and code calls find every message.
   */
  async findByIdOrSid(idOrSid: string, viewer?: AuthenticatedUser): Promise<WhatsAppMessage> {
    const message = isUUID(idOrSid) ? await this.messages.findById(idOrSid) : await this.messages.findBySid(idOrSid);
    if (!message || (viewer && viewer.role !== UserRole.Admin && message.createdBy !== viewer.id)) {
      throw new DomainException(ErrorCode.MessageNotFound, `No message with id or SID ${idOrSid}`);
    }
    return message;
  }

  async getDeliveryStatus(idOrSid: string, viewer?: AuthenticatedUser): Promise<DeliveryStatusDto> {
    return MessageQueryService.deliveryStatusOf(await this.findByIdOrSid(idOrSid, viewer));
  }

  static deliveryStatusOf(m: WhatsAppMessage): DeliveryStatusDto {
    return {
      id: m.id,
      messageSid: m.messageSid,
      status: m.status,
      errorCode: m.errorCode,
      errorMessage: m.errorMessage,
      errorHint: operatorHint(m.errorCode) ?? null,
      attempts: m.attempts,
      clientReference: m.clientReference,
      metadata: m.metadata,
      scheduledAt: iso(m.scheduledAt),
      canceledAt: iso(m.canceledAt),
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
    const rows = await this.messageEvents.forMessage(m.id);
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

  /** Newest-first listing with keyset pagination. Senders see what they sent; admins see everything, inbound included. */
  async list(query: ListMessagesQueryDto, user: AuthenticatedUser): Promise<MessagePageDto> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    if (query.since && query.until && Date.parse(query.since) >= Date.parse(query.until)) {
      throw new DomainException(ErrorCode.ValidationFailed, 'until must be after since', { field: 'until' });
    }
    const cursor = query.cursor ? decodeCursor(query.cursor) : undefined;
    const rows = await this.messages.page({
      createdBy: user.role !== UserRole.Admin ? user.id : undefined,
      direction: query.direction,
      status: query.status,
      to: query.to ? parseWhatsAppAddress(query.to, 'to').address : undefined,
      from: query.from ? parseWhatsAppAddress(query.from, 'from').address : undefined,
      clientReference: query.clientReference,
      since: query.since ? new Date(query.since) : undefined,
      until: query.until ? new Date(query.until) : undefined,
      before: cursor ? { createdAt: cursor.c, id: cursor.i } : undefined,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    return { data: page.map(toSummary), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]) : null };
  }
}
