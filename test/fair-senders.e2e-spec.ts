import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import { SandboxRequestRecord } from '../libs/twilio-sandbox/sandbox.types';
import { QueueName } from '../src/modules/queue/queue.types';
import { JobName, sendJobId } from '../src/modules/whatsapp/jobs/whatsapp-jobs';
import { MessageDirection, MessageStatus } from '../src/modules/whatsapp/message-status';
import { WhatsAppMessageRepository } from '../src/modules/whatsapp/messages/whatsapp-message.repository';
import { ReconciliationService } from '../src/modules/whatsapp/reconciliation.service';
import { startTestApp, TestApp, waitFor } from './support/test-app';

/** Requests the sandbox received from one sender, in arrival order. */
function requestsFrom(t: TestApp, sender: string): SandboxRequestRecord[] {
  return t.sandbox.control.receivedRequests().filter((r) => r.params.From === sender);
}

/** The most requests of one sender that the sandbox received within one calendar second. */
function maxPerSecond(records: SandboxRequestRecord[]): number {
  const counts = new Map<number, number>();
  for (const r of records) {
    const second = Math.floor(Date.parse(r.receivedAt) / 1000);
    counts.set(second, (counts.get(second) ?? 0) + 1);
  }
  return Math.max(0, ...counts.values());
}

const recipient = (n: number) => `+1415557${String(n).padStart(4, '0')}`;

async function bulk(t: TestApp, from: string, count: number, first = 0): Promise<string[]> {
  const messages = Array.from({ length: count }, (_, i) => ({ to: recipient(first + i), message: `backlog ${first + i}`, from }));
  const res = await t.api('/api/v1/whatsapp/send/bulk', { body: { messages }, token: t.adminToken });
  expect(res.status).toBe(202);
  return (res.body.results as { id: string }[]).map((r) => r.id);
}

async function send(t: TestApp, body: Record<string, unknown>): Promise<{ status: number; id: string }> {
  const res = await t.api('/api/v1/whatsapp/send', { body, token: t.adminToken });
  return { status: res.status, id: res.body.id };
}

async function sentCount(t: TestApp, ids: string[]): Promise<number> {
  const [{ count }] = await t.query<{ count: number }>(`SELECT count(*)::int AS count FROM "WhatsAppMessage" WHERE id = ANY($1::uuid[]) AND "messageSid" IS NOT NULL`, [ids]);
  return count;
}

describe('fair senders (e2e)', () => {
  const BACKLOGGED = 'whatsapp:+14155230001';
  const LEGACY = 'whatsapp:+14155230002';
  const FAST = 'whatsapp:+14155230003';
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      TWILIO_WHATSAPP_FROM: [BACKLOGGED, LEGACY, FAST].join(','),
      TWILIO_MPS: '5',
      TWILIO_MPS_BY_SENDER: `${FAST}=40`,
      WHATSAPP_WORKERS: '4',
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a backlog of thousands on one sender does not hold up a message from another', async () => {
    for (let i = 0; i < 3; i++) await bulk(t, BACKLOGGED, 1000, i * 1000);
    // Every job is in BullMQ: the backlog waits there, not in the outbox.
    await waitFor(async () => (await t.query(`SELECT 1 FROM outbox LIMIT 1`)).length === 0, 'the outbox to be relayed', 30_000);

    const other = await send(t, { to: '+14155550900', message: 'not behind the backlog', from: FAST });
    expect(other.status).toBe(202);
    // A few seconds at most (the backlog alone needs 10 minutes at 5 a second).
    const [arrived] = await waitFor(async () => {
      const found = requestsFrom(t, FAST).filter((r) => r.params.To === 'whatsapp:+14155550900');
      return found.length > 0 ? found : undefined;
    }, 'the other sender’s message at Twilio', 10_000);

    // It overtook the backlog: most of the 3,000 were still waiting for their turn.
    const backlogSent = requestsFrom(t, BACKLOGGED);
    expect(backlogSent.filter((r) => r.receivedAt <= arrived.receivedAt).length).toBeLessThan(1000);
    expect(maxPerSecond(backlogSent)).toBeLessThanOrEqual(5);

    // Waiting that long for a turn is not being stalled: reconciliation gives them no second job.
    const report = await t.app.get(ReconciliationService).reconcileOnce(0);
    expect(report.requeued).toBe(0);
    expect(await t.query(`SELECT 1 FROM outbox LIMIT 1`)).toEqual([]);
  }, 90_000);

  it('holds each sender to its own rate: TWILIO_MPS_BY_SENDER for the one named, TWILIO_MPS for the others', async () => {
    const ids = await bulk(t, FAST, 120, 5000);
    await waitFor(async () => (await sentCount(t, ids)) === ids.length, 'the 120 messages sent', 30_000);

    const fast = requestsFrom(t, FAST).filter((r) => Math.floor(Number(r.params.To?.toString().slice(-4)) / 1000) === 5);
    expect(fast).toHaveLength(120);
    expect(maxPerSecond(fast)).toBeLessThanOrEqual(40);
    // Far beyond TWILIO_MPS=5: the override is what holds this sender back.
    expect(maxPerSecond(fast)).toBeGreaterThan(10);
    expect(maxPerSecond(requestsFrom(t, BACKLOGGED))).toBeLessThanOrEqual(5);

    const senders = await t.api('/api/v1/whatsapp/senders', { token: t.adminToken });
    expect(senders.body.map((s: { sender: string; mps: number }) => [s.sender, s.mps])).toEqual([
      [BACKLOGGED, 5],
      [LEGACY, 5],
      [FAST, 40],
    ]);
  }, 60_000);

  it('no worker sits out a throttled sender: jobs already waiting for it step aside, and another sender’s flow at full speed', async () => {
    // Jobs queued without their sender's turn (by an earlier version, or a BullMQ retry), all
    // in the waiting list ahead of the other sender's: four workers, 60 of them.
    const repository = t.app.get(WhatsAppMessageRepository);
    const legacy = await repository.insert(
      undefined,
      Array.from({ length: 60 }, (_, i) => ({
        direction: MessageDirection.Outbound,
        from: LEGACY,
        to: `whatsapp:${recipient(6000 + i)}`,
        body: `legacy ${i}`,
        mediaUrls: [],
        status: MessageStatus.Queued,
        queuedAt: new Date(),
      })),
    );
    const queue = t.app.get<Queue>(getQueueToken(QueueName.WhatsApp));
    await queue.addBulk(legacy.map((m) => ({ name: JobName.SendMessage, data: { messageId: m.id }, opts: { jobId: sendJobId(m.id), attempts: 5 } })));

    const ids = await bulk(t, FAST, 80, 7000);
    await waitFor(async () => (await sentCount(t, ids)) === ids.length, 'the other sender’s 80 messages sent', 30_000);

    const fast = requestsFrom(t, FAST).filter((r) => Math.floor(Number(r.params.To?.toString().slice(-4)) / 1000) === 7);
    const lastFast = fast[fast.length - 1].receivedAt;
    const legacySent = requestsFrom(t, LEGACY);
    // 80 at 40 a second take two seconds; meanwhile the throttled sender sent at its own 5 a
    // second, not 60 jobs' worth, and none of its jobs counted an attempt for waiting.
    expect(legacySent.filter((r) => r.receivedAt <= lastFast).length).toBeLessThan(60);
    expect(maxPerSecond(legacySent)).toBeLessThanOrEqual(5);
    expect(maxPerSecond(fast)).toBeLessThanOrEqual(40);
    const [{ attempts }] = await t.query<{ attempts: number }>(`SELECT max(attempts)::int AS attempts FROM "WhatsAppMessage" WHERE "from" = $1`, [LEGACY]);
    expect(attempts).toBeLessThanOrEqual(1);
    const failed = await queue.getFailedCount();
    expect(failed).toBe(0);
  }, 60_000);
});

describe('Twilio 429s (e2e)', () => {
  const SENDER = 'whatsapp:+14155231001';
  const OTHER = 'whatsapp:+14155231002';
  let t: TestApp;

  beforeAll(async () => {
    // One worker: a worker held by a 429'd message would show as the other sender waiting.
    t = await startTestApp({ TWILIO_WHATSAPP_FROM: `${SENDER},${OTHER}`, TWILIO_MPS: '50', WHATSAPP_WORKERS: '1' });
  });
  afterAll(async () => {
    await t?.close();
  });
  afterEach(() => t.sandbox.control.resetFaults());

  it('pauses the sender for Twilio’s Retry-After without holding the worker, and does not count the 429 as an attempt', async () => {
    t.sandbox.control.setFaults({ failNext: [{ httpStatus: 429, code: 20429, message: 'Too Many Requests', retryAfterSeconds: 3 }] });
    const refused = await send(t, { to: '+14155550801', message: 'refused once', from: SENDER });
    const [first] = await waitFor(async () => {
      const r = requestsFrom(t, SENDER).filter((x) => x.params.To === 'whatsapp:+14155550801');
      return r.length > 0 ? r : undefined;
    }, 'the refused request');
    expect(first.httpStatus).toBe(429);

    const other = await send(t, { to: '+14155550802', message: 'meanwhile', from: OTHER });
    await waitFor(async () => (await sentCount(t, [refused.id, other.id])) === 2, 'both messages sent', 20_000);

    const again = requestsFrom(t, SENDER).filter((x) => x.params.To === 'whatsapp:+14155550801');
    const otherAt = requestsFrom(t, OTHER).find((x) => x.params.To === 'whatsapp:+14155550802')!;
    expect(again.map((r) => r.outcome)).toEqual(['fault', 'created']);
    expect(Date.parse(again[1].receivedAt) - Date.parse(first.receivedAt)).toBeGreaterThanOrEqual(3_000);
    // The only worker was free for the other sender while the refused message waited.
    expect(otherAt.receivedAt < again[1].receivedAt).toBe(true);
    const [row] = await t.query(`SELECT attempts, "errorCode" FROM "WhatsAppMessage" WHERE id = $1`, [refused.id]);
    expect(row).toEqual({ attempts: 1, errorCode: 20429 });
  }, 40_000);

  it('answers an immediate send 202 while its sender is paused, and sends it when the pause is over', async () => {
    t.sandbox.control.setFaults({ failNext: [{ httpStatus: 429, code: 20429, retryAfterSeconds: 4 }] });
    const refused = await send(t, { to: '+14155550811', message: 'pauses the sender', from: SENDER });
    await waitFor(async () => requestsFrom(t, SENDER).some((x) => x.params.To === 'whatsapp:+14155550811'), 'the refused request');

    const immediate = await send(t, { to: '+14155550812', message: 'right now', from: SENDER, immediate: true });
    expect(immediate.status).toBe(202);
    await waitFor(async () => (await sentCount(t, [refused.id, immediate.id])) === 2, 'both sent after the pause', 20_000);
    const [row] = await t.query(`SELECT attempts, status FROM "WhatsAppMessage" WHERE id = $1`, [immediate.id]);
    expect(row.attempts).toBe(1);
  }, 40_000);

  it('keeps delivering when one create in five is refused with 429: each refusal costs its sender a slot, not a second, and no attempt', async () => {
    t.sandbox.control.setFaults({ rateLimitProbability: 0.2 });
    const messages = Array.from({ length: 100 }, (_, i) => ({ to: recipient(8000 + i), message: `busy ${i}`, from: SENDER }));
    const res = await t.api('/api/v1/whatsapp/send/bulk', { body: { messages }, token: t.adminToken });
    const ids = (res.body.results as { id: string }[]).map((r) => r.id);
    // At one second per 429 (about 25 of them) this took more than 25 seconds.
    await waitFor(async () => (await sentCount(t, ids)) === ids.length, 'all 100 sent', 15_000, 100);

    const requests = requestsFrom(t, SENDER).filter((r) => Number(r.params.To?.toString().slice(-4)) >= 8000);
    const refusals = requests.filter((r) => r.httpStatus === 429).length;
    expect(refusals).toBeGreaterThan(0);
    expect(requests).toHaveLength(100 + refusals);
    expect(maxPerSecond(requests)).toBeLessThanOrEqual(50);
    const rows = await t.query<{ attempts: number }>(`SELECT attempts FROM "WhatsAppMessage" WHERE id = ANY($1::uuid[])`, [ids]);
    expect(rows.every((r) => r.attempts === 1)).toBe(true);
  }, 40_000);
});
