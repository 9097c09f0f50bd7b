import { MessageStatus } from '../message-status';

export enum StatusKind {
  /** On the way to the handset; moves forward by rank. */
  Progress = 'progress',
  /** failed / undelivered: final unless the message was already delivered. */
  Failure = 'failure',
  /** canceled: final; only possible before Twilio started sending. */
  Canceled = 'canceled',
}

/**
 * The lifecycle as data. A status only ever moves to a higher rank; failures and cancellation
 * are final. Ranks that tie (accepted/scheduled/queued) never replace each other.
 */
export const STATUS_TABLE: Readonly<Record<MessageStatus, { rank: number; kind: StatusKind }>> = {
  [MessageStatus.Receiving]: { rank: 1, kind: StatusKind.Progress },
  [MessageStatus.Received]: { rank: 2, kind: StatusKind.Progress },
  [MessageStatus.Scheduled]: { rank: 2, kind: StatusKind.Progress },
  [MessageStatus.Accepted]: { rank: 2, kind: StatusKind.Progress },
  [MessageStatus.Queued]: { rank: 2, kind: StatusKind.Progress },
  [MessageStatus.Sending]: { rank: 3, kind: StatusKind.Progress },
  [MessageStatus.Sent]: { rank: 4, kind: StatusKind.Progress },
  [MessageStatus.PartiallyDelivered]: { rank: 5, kind: StatusKind.Progress },
  [MessageStatus.Delivered]: { rank: 6, kind: StatusKind.Progress },
  [MessageStatus.Read]: { rank: 7, kind: StatusKind.Progress },
  [MessageStatus.Failed]: { rank: 8, kind: StatusKind.Failure },
  [MessageStatus.Undelivered]: { rank: 8, kind: StatusKind.Failure },
  [MessageStatus.Canceled]: { rank: 8, kind: StatusKind.Canceled },
};

/** Statuses a message can still be canceled from (Twilio cancels only scheduled/queued/accepted). */
const CANCELABLE: ReadonlySet<MessageStatus> = new Set([MessageStatus.Scheduled, MessageStatus.Accepted, MessageStatus.Queued]);

/** Statuses whose time the message row records. */
export type TimestampField = 'queuedAt' | 'sentAt' | 'deliveredAt' | 'readAt' | 'failedAt';
export const TIMESTAMP_OF: Partial<Record<MessageStatus, TimestampField>> = {
  [MessageStatus.Queued]: 'queuedAt',
  [MessageStatus.Sent]: 'sentAt',
  [MessageStatus.Delivered]: 'deliveredAt',
  [MessageStatus.Read]: 'readAt',
  [MessageStatus.Failed]: 'failedAt',
  [MessageStatus.Undelivered]: 'failedAt',
};

export interface TransitionDecision {
  /** The message's status after the event. */
  status: MessageStatus;
  statusChanged: boolean;
  /** Statuses the event proves were reached; their timestamps are filled when still empty. */
  reached: MessageStatus[];
}

const BEFORE_DELIVERY_RANK = STATUS_TABLE[MessageStatus.Sent].rank;
/** From here on something reached the handset. */
const ANY_DELIVERY_RANK = STATUS_TABLE[MessageStatus.PartiallyDelivered].rank;

export function isFinalStatus(status: MessageStatus): boolean {
  const { kind } = STATUS_TABLE[status];
  return kind !== StatusKind.Progress || status === MessageStatus.Read;
}

/** Decides what an incoming status does to a message whose status is `current`. */
export function decideTransition(current: MessageStatus, incoming: MessageStatus): TransitionDecision {
  const cur = STATUS_TABLE[current];
  const inc = STATUS_TABLE[incoming];
  const unchanged = (reached: MessageStatus[] = []): TransitionDecision => ({ status: current, statusChanged: false, reached });
  const moveTo = (reached: MessageStatus[]): TransitionDecision => ({ status: incoming, statusChanged: true, reached });

  if (incoming === current) return unchanged();

  if (cur.kind !== StatusKind.Progress) {
    // Final. A late event from before delivery (queued, sent) still tells when that stage happened;
    // nothing brings a failed or canceled message back to life.
    return unchanged(inc.kind === StatusKind.Progress && inc.rank <= BEFORE_DELIVERY_RANK ? [incoming] : []);
  }

  switch (inc.kind) {
    case StatusKind.Failure:
      // A failure reported after delivery does not erase the delivery.
      return cur.rank >= ANY_DELIVERY_RANK ? unchanged() : moveTo([incoming]);
    case StatusKind.Canceled:
      return CANCELABLE.has(current) ? moveTo([incoming]) : unchanged();
    case StatusKind.Progress: {
      // A delivery implies the send, and `read` the delivery, even when their callbacks are late or lost.
      const reached = [...(inc.rank > BEFORE_DELIVERY_RANK ? [MessageStatus.Sent] : []), ...(incoming === MessageStatus.Read ? [MessageStatus.Delivered] : []), incoming];
      return inc.rank > cur.rank ? moveTo(reached) : unchanged(reached);
    }
  }
}
