import { isUUID } from 'class-validator';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';
import { AuthenticatedUser } from '../auth/auth.types';
import { UserRole } from '../auth/entities/user.entity';
import { ListMessagesQueryDto, MessagePageDto, MessageSummaryDto } from './dto/list-messages.dto';
import { WhatsAppMessage } from './entities/whatsapp-message.entity';
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
    if (typeof c.c === 'string' && typeof c.i === 'string' && isUUID(c.i) && !Number.isNaN(Date.parse(c.c))) return c;
  } catch {
    // fall through
  }
  throw new DomainException(ErrorCode.ValidationFailed, 'cursor is not a cursor this API returned', { field: 'cursor' });
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
    attempts: m.attempts,
    createdAt: m.createdAt.toISOString(),
    updatedAt: m.updatedAt.toISOString(),
  };
}

/** Newest-first listing with keyset pagination: stable and cheap however deep the page. */
@Injectable()
export class MessageQueryService {
  constructor(@InjectRepository(WhatsAppMessage) private readonly messages: Repository<WhatsAppMessage>) {}

  async list(query: ListMessagesQueryDto, user: AuthenticatedUser): Promise<MessagePageDto> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const qb = this.messages.createQueryBuilder('m');
    // Senders see what they sent; admins see everything, inbound included.
    if (user.role !== UserRole.Admin) qb.andWhere('m.createdBy = :userId', { userId: user.id });
    if (query.direction) qb.andWhere('m.direction = :direction', { direction: query.direction });
    if (query.status) qb.andWhere('m.status = :status', { status: query.status });
    if (query.to) qb.andWhere('m.to = :to', { to: parseWhatsAppAddress(query.to, 'to').address });
    if (query.from) qb.andWhere('m.from = :from', { from: parseWhatsAppAddress(query.from, 'from').address });
    if (query.since) qb.andWhere('m.createdAt >= :since', { since: new Date(query.since) });
    if (query.until) qb.andWhere('m.createdAt < :until', { until: new Date(query.until) });
    if (query.since && query.until && Date.parse(query.since) >= Date.parse(query.until)) {
      throw new DomainException(ErrorCode.ValidationFailed, 'until must be after since', { field: 'until' });
    }
    if (query.cursor) {
      const c = decodeCursor(query.cursor);
      qb.andWhere(`(m."createdAt", m.id) < (:cc::timestamptz, :ci::uuid)`, { cc: c.c, ci: c.i });
    }
    const rows = await qb
      .orderBy('m.createdAt', 'DESC')
      .addOrderBy('m.id', 'DESC')
      .limit(limit + 1)
      .getMany();
    const page = rows.slice(0, limit);
    return { data: page.map(toSummary), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]) : null };
  }
}
