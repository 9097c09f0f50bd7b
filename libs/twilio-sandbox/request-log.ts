import {
  CreateRequestOutcome,
  PostedParams,
  RateSummary,
  SandboxRequestRecord,
  SandboxRequestStats,
} from './sandbox.types';
import { firstValue, toIsoSecond } from './twilio-format';

interface SentEvent {
  sender: string;
  atMs: number;
}

function summariseRate(timesMs: number[]): RateSummary {
  const counts = new Map<number, number>();
  for (const ms of timesMs) {
    const second = Math.floor(ms / 1000);
    counts.set(second, (counts.get(second) ?? 0) + 1);
  }
  const perSecond = [...counts.entries()]
    .sort(([a], [b]) => a - b)
    .map(([second, count]) => ({ second: toIsoSecond(new Date(second * 1000)), count }));
  return { perSecond, maxPerSecond: perSecond.reduce((max, entry) => Math.max(max, entry.count), 0) };
}

function increment(counts: Record<string, number>, key: string | undefined): void {
  if (key !== undefined) {
    counts[key] = (counts[key] ?? 0) + 1;
  }
}

/** What the sandbox was asked to send, and when messages actually left the queue. */
export class RequestLog {
  private records: SandboxRequestRecord[] = [];
  private sentEvents: SentEvent[] = [];
  private nextId = 1;

  begin(accountSid: string, params: PostedParams, authUser: string | null = null): SandboxRequestRecord {
    const record: SandboxRequestRecord = {
      id: this.nextId++,
      receivedAt: new Date().toISOString(),
      accountSid,
      authUser,
      params: structuredClone(params),
      outcome: CreateRequestOutcome.Created,
      httpStatus: null,
      sid: null,
      errorCode: null,
      errorMessage: null,
    };
    this.records.push(record);
    return record;
  }

  /** `atMs` is the slot the sender's rate limit gave the message, not when the timer happened to fire. */
  recordSent(sender: string, atMs: number): void {
    this.sentEvents.push({ sender, atMs });
  }

  all(): SandboxRequestRecord[] {
    return structuredClone(this.records);
  }

  clear(): void {
    this.records = [];
    this.sentEvents = [];
  }

  stats(): SandboxRequestStats {
    const byOutcome: Record<string, number> = {};
    const byNumber: Record<string, number> = {};
    const bySender: Record<string, number> = {};
    for (const record of this.records) {
      increment(byOutcome, record.outcome);
      increment(byNumber, firstValue(record.params.To));
      increment(bySender, firstValue(record.params.From) ?? firstValue(record.params.MessagingServiceSid));
    }
    const sentBySender: Record<string, RateSummary> = {};
    for (const sender of new Set(this.sentEvents.map((event) => event.sender))) {
      sentBySender[sender] = summariseRate(
        this.sentEvents.filter((event) => event.sender === sender).map((event) => event.atMs),
      );
    }
    return {
      total: this.records.length,
      byOutcome,
      byNumber,
      bySender,
      ...summariseRate(this.records.map((record) => Date.parse(record.receivedAt))),
      sent: { ...summariseRate(this.sentEvents.map((event) => event.atMs)), bySender: sentBySender },
      records: this.all(),
    };
  }
}
