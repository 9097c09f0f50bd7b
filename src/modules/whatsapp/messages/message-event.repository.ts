import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull } from 'typeorm';
import { MessageEvent } from '../entities/message-event.entity';
import { Tx } from './whatsapp-message.repository';

export interface NewMessageEvent {
  messageId: string | null;
  /** Null for our own events before Twilio had the message (a cancel). */
  messageSid: string | null;
  status: string;
  errorCode: number | null;
  errorMessage: string | null;
  source: string;
  tokenIndex: number | null;
  raw: Record<string, unknown>;
  receivedAt: Date;
  /** Stored as having changed its message (false unless given; see markApplied). */
  applied?: boolean;
}

/** Every statement on message_events: the status history Twilio reported, one row per (SID, status). */
@Injectable()
export class MessageEventRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Inserts the event unless (SID, status) was seen already; returns it, or null for a duplicate. */
  async insertUnlessSeen(tx: Tx, event: NewMessageEvent): Promise<MessageEvent | null> {
    const [row] = await this.insertManyUnlessSeen(tx, [event]);
    return row ?? null;
  }

  /**
   * Inserts the events whose (SID, status) was not seen before, in one statement; returns the
   * inserted ones (a repeat within `events` is inserted once).
   */
  async insertManyUnlessSeen(tx: Tx, events: NewMessageEvent[]): Promise<MessageEvent[]> {
    if (events.length === 0) return [];
    const rows: MessageEvent[] = await tx.query(
      `INSERT INTO message_events AS e ("messageId", "messageSid", status, "errorCode", "errorMessage", source, "tokenIndex", raw, "receivedAt", applied)
       SELECT r."messageId", r."messageSid", r.status, r."errorCode", r."errorMessage", r.source, r."tokenIndex", COALESCE(r.raw, '{}'), r."receivedAt",
              COALESCE(r.applied, false)
         FROM jsonb_to_recordset($1::jsonb) AS r("messageId" uuid, "messageSid" varchar, status varchar, "errorCode" integer,
              "errorMessage" text, source varchar, "tokenIndex" smallint, raw jsonb, "receivedAt" timestamptz, applied boolean)
       ON CONFLICT DO NOTHING
       RETURNING e.*`,
      [JSON.stringify(events)],
    );
    return rows;
  }

  /** Events stored for `messageSid` before any message had that SID, oldest first. */
  unattached(tx: Tx, messageSid: string): Promise<MessageEvent[]> {
    return tx.find(MessageEvent, { where: { messageSid, messageId: IsNull() }, order: { id: 'ASC' } });
  }

  async attach(tx: Tx, eventId: string, messageId: string): Promise<void> {
    await tx.update(MessageEvent, { id: eventId }, { messageId });
  }

  /** The events changed their message (or, with `applied` false, did not after all). */
  async markApplied(tx: Tx, eventIds: string[], applied = true): Promise<void> {
    if (eventIds.length === 0) return;
    await tx.query(`UPDATE message_events SET applied = $2 WHERE id = ANY($1::bigint[])`, [eventIds, applied]);
  }

  /** A message's history in the order it arrived. */
  forMessage(messageId: string): Promise<MessageEvent[]> {
    return this.dataSource.manager.find(MessageEvent, { where: { messageId }, order: { receivedAt: 'ASC', id: 'ASC' } });
  }
}
