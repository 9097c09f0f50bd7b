import { createHash } from 'node:crypto';
import twilio from 'twilio';

export enum CallbackStatus {
  Sent = 'sent',
  Delivered = 'delivered',
  Read = 'read',
}

const IN_ORDER = [CallbackStatus.Sent, CallbackStatus.Delivered, CallbackStatus.Read];

export interface PlannedCallback {
  message: number;
  status: CallbackStatus;
  /** A second delivery of a callback already planned (Twilio retries and duplicates). */
  repeat: boolean;
}

export interface CallbackPlan {
  items: PlannedCallback[];
  messages: number;
  repeats: number;
  /** Messages whose callbacks arrive with two neighbouring statuses swapped (delivered before sent, read before delivered). */
  outOfOrder: number;
}

export interface PlanShape {
  /** Messages per round; a message's three statuses are a round apart, as Twilio's are seconds apart. */
  blockSize: number;
  /** Share of callbacks delivered twice. */
  repeatShare: number;
  /** Share of messages with two statuses swapped. */
  outOfOrderShare: number;
  seed: number;
}

export const DEFAULT_PLAN_SHAPE: PlanShape = { blockSize: 100, repeatShare: 0.1, outOfOrderShare: 0.05, seed: 20261128 };

/** mulberry32: the same plan on every run, for the service and its floor alike. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], rnd: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * Status callbacks for `messages` messages in the order they are to be posted. Round r carries the
 * first status of block r, the second of block r - 1 and the third of block r - 2, shuffled, so
 * every status is in the mix at any time and a message's callbacks never race each other;
 * repeats land in the round after their original.
 */
export function planCallbacks(messages: number, shape: PlanShape = DEFAULT_PLAN_SHAPE): CallbackPlan {
  const rnd = random(shape.seed);
  const orders: CallbackStatus[][] = [];
  let outOfOrder = 0;
  for (let m = 0; m < messages; m++) {
    const order = [...IN_ORDER];
    if (rnd() < shape.outOfOrderShare) {
      const k = rnd() < 0.5 ? 0 : 1;
      [order[k], order[k + 1]] = [order[k + 1], order[k]];
      outOfOrder++;
    }
    orders.push(order);
  }
  const blocks = Math.ceil(messages / shape.blockSize);
  const items: PlannedCallback[] = [];
  let carried: PlannedCallback[] = [];
  let repeats = 0;
  for (let round = 0; round < blocks + 2 || carried.length > 0; round++) {
    const current: PlannedCallback[] = carried;
    carried = [];
    for (let stage = 0; stage < 3; stage++) {
      const block = round - stage;
      if (block < 0 || block >= blocks) continue;
      for (let m = block * shape.blockSize; m < Math.min(messages, (block + 1) * shape.blockSize); m++) {
        const item = { message: m, status: orders[m][stage], repeat: false };
        current.push(item);
        if (rnd() < shape.repeatShare) {
          carried.push({ ...item, repeat: true });
          repeats++;
        }
      }
    }
    items.push(...shuffle(current, rnd));
  }
  return { items, messages, repeats, outOfOrder };
}

/** Callbacks per message in a plan: 3 plus the repeats. */
export const CALLBACKS_PER_MESSAGE = 3 * (1 + DEFAULT_PLAN_SHAPE.repeatShare);

export function messageSid(sidSeed: string, message: number): string {
  return `SM${createHash('md5').update(`${sidSeed}${message}`).digest('hex')}`;
}

/** A valid US number per message (area code 415, exchanges 200-999). */
export function recipient(message: number): string {
  return `+1415${2_000_000 + message}`;
}

/** YYMMDDhhmm in UTC, as Twilio's RawDlrDoneDate. */
function rawDlrDoneDate(at: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(at.getUTCFullYear() % 100)}${two(at.getUTCMonth() + 1)}${two(at.getUTCDate())}${two(at.getUTCHours())}${two(at.getUTCMinutes())}`;
}

export interface CallbackAccount {
  accountSid: string;
  authToken: string;
  sidSeed: string;
  senders: string[];
  channelInstallSid: string;
}

/** The form fields Twilio posts for a WhatsApp message's status. */
export function callbackParams(account: CallbackAccount, message: number, status: CallbackStatus, at = new Date()): Record<string, string> {
  const sid = messageSid(account.sidSeed, message);
  const to = recipient(message);
  const params: Record<string, string> = {
    AccountSid: account.accountSid,
    ApiVersion: '2010-04-01',
    From: account.senders[message % account.senders.length],
    To: `whatsapp:${to}`,
    MessageSid: sid,
    SmsSid: sid,
    MessageStatus: status,
    SmsStatus: status,
    ChannelPrefix: 'whatsapp',
    ChannelToAddress: to,
    ChannelInstallSid: account.channelInstallSid,
    StructuredMessage: 'false',
  };
  if (status === CallbackStatus.Delivered) {
    params.EventType = 'DELIVERED';
    params.RawDlrDoneDate = rawDlrDoneDate(at);
  }
  if (status === CallbackStatus.Read) params.EventType = 'READ';
  return params;
}

/** Body and headers of one signed callback to `url` (the exact URL the receiver validates against). */
export function signedCallback(account: CallbackAccount, url: string, item: PlannedCallback): { body: string; headers: Record<string, string> } {
  const params = callbackParams(account, item.message, item.status);
  return {
    body: new URLSearchParams(params).toString(),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilio.getExpectedTwilioSignature(account.authToken, url, params),
      'i-twilio-idempotency-token': `${params.MessageSid}-${item.status}`,
      'user-agent': 'TwilioProxy/1.1',
    },
  };
}
