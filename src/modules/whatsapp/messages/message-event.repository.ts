import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull } from 'typeorm';
import { MessageEvent } from '../entities/message-event.entity';
import { Tx } from './whatsapp-message.repository';

export interface NewMessageEvent {
  messageId: string | null;
  messageSid: string;
  status: string;
  errorCode: number | null;
  errorMessage: string | null;
  source: string;
  tokenIndex: number | null;
  raw: Record<string, unknown>;
  receivedAt: Date;
}

/** Every statement on message_events: the status history Twilio reported, one row per (SID, status). */
@Injectable()
export class MessageEventRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Inserts the event unless (SID, status) was seen already; returns it, or null for a duplicate. */
  async insertUnlessSeen(tx: Tx, event: NewMessageEvent): Promise<MessageEvent | null> {
    const result = await tx
      .createQueryBuilder()
      .insert()
      .into(MessageEvent)
      .values({ ...event, raw: event.raw as object })
      .orIgnore()
      .returning('*')
      .execute();
    const row = (result.raw as MessageEvent[])[0];
    return row ?? null;
  }

  /** Events stored for `messageSid` before any message had that SID, oldest first. */
  unattached(tx: Tx, messageSid: string): Promise<MessageEvent[]> {
    return tx.find(MessageEvent, { where: { messageSid, messageId: IsNull() }, order: { id: 'ASC' } });
  }

  async attach(tx: Tx, eventId: string, messageId: string): Promise<void> {
    await tx.update(MessageEvent, { id: eventId }, { messageId });
  }

  async markApplied(tx: Tx, eventId: string, messageId: string): Promise<void> {
    await tx.update(MessageEvent, { id: eventId }, { applied: true, messageId });
  }

  /** A message's history in the order it arrived. */
  forMessage(messageId: string): Promise<MessageEvent[]> {
    return this.dataSource.manager.find(MessageEvent, { where: { messageId }, order: { receivedAt: 'ASC', id: 'ASC' } });
  }
}
