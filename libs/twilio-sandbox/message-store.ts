import { SandboxMessage } from './sandbox.types';
import { SidPrefix } from './twilio-format';

export interface MessageListQuery {
  to?: string;
  from?: string;
  /** `DateSent`: the GMT day the message was sent (a full timestamp names its day, as the client sends Dates). */
  dateSent?: string;
  /** `DateSent<`: sent on or before. */
  dateSentBefore?: string;
  /** `DateSent>`: sent on or after. */
  dateSentAfter?: string;
  pageSize: number;
  page: number;
  pageToken?: string;
}

export interface MessagePage {
  messages: SandboxMessage[];
  /** Index of the first message of this page in the whole filtered list. */
  start: number;
  nextPageToken: string | null;
  previousPageToken: string | null;
}

interface StoredMessage {
  message: SandboxMessage;
  seq: number;
}

const DAY_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

interface DateBound {
  ms: number;
  /** Compare whole GMT days rather than instants. */
  byDay: boolean;
}

function parseDateBound(raw: string | undefined): DateBound | null {
  if (raw === undefined || raw.trim() === '') {
    return null;
  }
  const value = raw.trim();
  const ms = DAY_ONLY.test(value) ? Date.parse(`${value}T00:00:00Z`) : Date.parse(value);
  return Number.isNaN(ms) ? null : { ms, byDay: DAY_ONLY.test(value) };
}

function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/**
 * Messages newest first, as Twilio lists them. Page tokens name the message a
 * page continues from (`PA<sid>` = after it, `PB<sid>` = before it), like
 * Twilio's, so paging stays stable while new messages arrive.
 */
export class MessageStore {
  private readonly bySid = new Map<string, StoredMessage>();
  // Kept after deletes so a page token naming a deleted message still pages correctly.
  private readonly seqBySid = new Map<string, number>();
  private nextSeq = 1;
  private changes = 0;

  /** Moves on with every change to the stored messages, so a poller can tell "nothing new" cheaply. */
  get revision(): number {
    return this.changes;
  }

  /** For changes made to a stored message in place (its status moving on). */
  markChanged(): void {
    this.changes++;
  }

  add(message: SandboxMessage): void {
    const seq = this.nextSeq++;
    this.bySid.set(message.sid, { message, seq });
    this.seqBySid.set(message.sid, seq);
    this.changes++;
  }

  get(sid: string): SandboxMessage | undefined {
    return this.bySid.get(sid)?.message;
  }

  delete(sid: string): boolean {
    const deleted = this.bySid.delete(sid);
    if (deleted) {
      this.changes++;
    }
    return deleted;
  }

  clear(): void {
    this.bySid.clear();
    this.seqBySid.clear();
    this.changes++;
  }

  /** Oldest first: the order things happened, which is what inspection wants. */
  all(): SandboxMessage[] {
    return [...this.bySid.values()].sort((a, b) => a.seq - b.seq).map((stored) => stored.message);
  }

  list(query: MessageListQuery): MessagePage {
    const filtered = this.filtered(query);
    const token = this.parseToken(query.pageToken);
    let startIndex: number;
    if (token?.direction === SidPrefix.PageAfter) {
      startIndex = filtered.findIndex((stored) => stored.seq < token.seq);
      if (startIndex === -1) {
        startIndex = filtered.length;
      }
    } else if (token?.direction === SidPrefix.PageBefore) {
      const firstAfterToken = filtered.findIndex((stored) => stored.seq <= token.seq);
      const end = firstAfterToken === -1 ? filtered.length : firstAfterToken;
      startIndex = Math.max(0, end - query.pageSize);
    } else {
      startIndex = Math.min(filtered.length, query.page * query.pageSize);
    }
    const pageItems = filtered.slice(startIndex, startIndex + query.pageSize);
    const hasNext = startIndex + pageItems.length < filtered.length;
    const hasPrevious = startIndex > 0 && pageItems.length > 0;
    return {
      messages: pageItems.map((stored) => stored.message),
      start: startIndex,
      nextPageToken: hasNext ? SidPrefix.PageAfter + pageItems[pageItems.length - 1].message.sid : null,
      previousPageToken: hasPrevious ? SidPrefix.PageBefore + pageItems[0].message.sid : null,
    };
  }

  private filtered(query: MessageListQuery): StoredMessage[] {
    const exact = parseDateBound(query.dateSent);
    const before = parseDateBound(query.dateSentBefore);
    const after = parseDateBound(query.dateSentAfter);
    const filterByDate = exact !== null || before !== null || after !== null;
    return [...this.bySid.values()]
      .filter(({ message }) => {
        const resource = message.resource;
        if (query.to !== undefined && resource.to !== query.to) {
          return false;
        }
        if (query.from !== undefined && resource.from !== query.from) {
          return false;
        }
        if (!filterByDate) {
          return true;
        }
        if (resource.date_sent === null) {
          return false;
        }
        const sentMs = Date.parse(resource.date_sent);
        if (exact && dayOf(sentMs) !== dayOf(exact.ms)) {
          return false;
        }
        if (before && (before.byDay ? dayOf(sentMs) > dayOf(before.ms) : sentMs > before.ms)) {
          return false;
        }
        if (after && (after.byDay ? dayOf(sentMs) < dayOf(after.ms) : sentMs < after.ms)) {
          return false;
        }
        return true;
      })
      .sort((a, b) => b.seq - a.seq);
  }

  private parseToken(raw: string | undefined): { direction: SidPrefix; seq: number } | null {
    if (!raw) {
      return null;
    }
    const direction = raw.slice(0, 2) as SidPrefix;
    const seq = this.seqBySid.get(raw.slice(2));
    if ((direction !== SidPrefix.PageAfter && direction !== SidPrefix.PageBefore) || seq === undefined) {
      return null;
    }
    return { direction, seq };
  }
}
