import { Logger } from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { runMigrationsLocked } from '../src/database/database.module';
import { OutboxSignal } from '../src/database/outbox/outbox-signal';
import { OutboxWriter } from '../src/database/outbox/outbox.writer';
import { typeOrmOptions } from '../src/database/typeorm-options';
import { MessageEvent } from '../src/modules/whatsapp/entities/message-event.entity';
import { WhatsAppMessage } from '../src/modules/whatsapp/entities/whatsapp-message.entity';
import { sendMessageJob } from '../src/modules/whatsapp/jobs/whatsapp-jobs';
import { MessageDirection, MessageStatus } from '../src/modules/whatsapp/message-status';
import { MessageEventRepository, NewMessageEvent } from '../src/modules/whatsapp/messages/message-event.repository';
import {
  InMemoryMessageStore,
  MessageEventRepositoryApi,
  OutboxWriterApi,
  WhatsAppMessageRepositoryApi,
} from '../src/modules/whatsapp/messages/testing/in-memory-message-store';
import { NewMessage, WhatsAppMessageRepository } from '../src/modules/whatsapp/messages/whatsapp-message.repository';
import { createTestDatabase } from './support/test-app';

class QuietLogger extends Logger {
  override log(): void {}
}

/** One backend under contract: the repositories, and direct access to give rows a past. */
interface Harness {
  messages: WhatsAppMessageRepositoryApi;
  events: MessageEventRepositoryApi;
  outbox: OutboxWriterApi;
  /** Sets columns as a psql UPDATE would (updatedAt only when given). */
  patch(id: string, columns: Partial<WhatsAppMessage>): Promise<void>;
  /** Every stored event, in insertion order. */
  allEvents(): Promise<MessageEvent[]>;
  /** Stores a contacts row (`phone` is the contact key) as the inbound path writes it. */
  putContact(phone: string, optedOutAt: Date | null): Promise<void>;
}

interface Backend {
  start(): Promise<void>;
  /** Empty tables for the next test. */
  fresh(): Promise<Harness>;
  stop(): Promise<void>;
}

function postgresBackend(): Backend {
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let ds: DataSource | undefined;
  return {
    async start() {
      db = await createTestDatabase();
      ds = await new DataSource(typeOrmOptions({ url: db.url, poolMin: 0, poolMax: 4, migrationsRun: false })).initialize();
      await runMigrationsLocked(ds, new QuietLogger());
    },
    async fresh() {
      const source = ds!;
      await source.query('TRUNCATE "WhatsAppMessage", message_events, outbox, contacts');
      return {
        messages: new WhatsAppMessageRepository(source),
        events: new MessageEventRepository(source),
        outbox: new OutboxWriter(source, new OutboxSignal(source)),
        async patch(id, columns) {
          const entries = Object.entries(columns);
          const sets = entries.map(([column], i) => `"${column}" = $${i + 2}`).join(', ');
          await source.query(`UPDATE "WhatsAppMessage" SET ${sets} WHERE id = $1`, [id, ...entries.map(([, value]) => value)]);
        },
        allEvents: () => source.getRepository(MessageEvent).find({ order: { id: 'ASC' } }),
        async putContact(phone, optedOutAt) {
          await source.query(`INSERT INTO contacts (phone, "optedOutAt") VALUES ($1, $2)`, [phone, optedOutAt]);
        },
      };
    },
    async stop() {
      await ds?.destroy();
      await db?.drop();
    },
  };
}

function inMemoryBackend(): Backend {
  return {
    async start() {},
    async fresh() {
      const store = new InMemoryMessageStore();
      return {
        messages: store.messages,
        events: store.events,
        outbox: store.outbox,
        async patch(id, columns) {
          store.patch(id, columns);
        },
        allEvents: async () => store.allEvents(),
        async putContact(phone, optedOutAt) {
          store.putContact(phone, { optedOutAt });
        },
      };
    },
    async stop() {},
  };
}

const SENDER = 'whatsapp:+14155238886';
const OTHER_SENDER = 'whatsapp:+14155238887';
const HOUR = 3_600_000;
/** Slack for comparing a time the database took (now()) with the test's clock. */
const CLOCK_SLACK_MS = 1_000;

let numbers = 0;
function recipient(): string {
  numbers += 1;
  return `whatsapp:+1415555${String(1000 + numbers).padStart(4, '0')}`;
}

function sid(): string {
  return `SM${randomBytes(16).toString('hex')}`;
}

function ago(ms: number): Date {
  return new Date(Date.now() - ms);
}

function outbound(over: Partial<NewMessage> = {}): NewMessage {
  return {
    direction: MessageDirection.Outbound,
    from: SENDER,
    to: recipient(),
    body: 'Your order has shipped',
    mediaUrls: [],
    status: MessageStatus.Queued,
    queuedAt: new Date(),
    ...over,
  };
}

function event(messageSid: string, status: string, over: Partial<NewMessageEvent> = {}): NewMessageEvent {
  return {
    messageId: null,
    messageSid,
    status,
    errorCode: null,
    errorMessage: null,
    source: 'callback',
    tokenIndex: 0,
    raw: { MessageStatus: status },
    receivedAt: new Date(),
    ...over,
  };
}

/** Expects `actual` to be a time the backend took between `from` and `to` (plus `offsetMs`). */
function expectTakenBetween(actual: Date | null, from: number, to: number, offsetMs = 0): void {
  expect(actual).toBeInstanceOf(Date);
  expect(actual!.getTime()).toBeGreaterThanOrEqual(from + offsetMs - CLOCK_SLACK_MS);
  expect(actual!.getTime()).toBeLessThanOrEqual(to + offsetMs + CLOCK_SLACK_MS);
}

const ids = (rows: { id: string }[]): string[] => rows.map((r) => r.id);
const sorted = (values: Iterable<string>): string[] => [...values].sort();

describe.each([
  ['postgres', postgresBackend()],
  ['in-memory', inMemoryBackend()],
])('message repositories contract (%s)', (name, backend) => {
  let h: Harness;

  beforeAll(() => backend.start());
  afterAll(() => backend.stop());
  beforeEach(async () => {
    h = await backend.fresh();
  });

  async function add(over: Partial<NewMessage> = {}): Promise<string> {
    const [row] = await h.messages.insert(undefined, [outbound(over)]);
    return row.id;
  }

  async function stored(id: string): Promise<WhatsAppMessage> {
    const row = await h.messages.findById(id);
    if (!row) throw new Error(`message ${id} is not stored`);
    return row;
  }

  /** The send's answer: Twilio took the message as `messageSid` and says it is queued. */
  async function attachSid(id: string, messageSid: string): Promise<void> {
    await h.messages.attachSid(id, messageSid, MessageStatus.Queued);
  }

  describe('insert', () => {
    it('stores a row with its defaults, in the shape findById returns', async () => {
      const queuedAt = new Date('2026-11-28T10:00:00.000Z');
      const before = Date.now();
      const inserted = await h.messages.insert(undefined, [
        outbound({ to: 'whatsapp:+14155550001', body: null, contentSid: 'HX0123456789abcdef0123456789abcdef', contentVariables: { '1': 'Ada' }, queuedAt, createdBy: '0b6f7f43-31e9-4b1e-8a3b-7c1d2e3f4a5b' }),
      ]);
      const after = Date.now();

      expect(inserted).toEqual([{ id: expect.any(String), retryOf: null }]);
      const row = await stored(inserted[0].id);
      expect(row).toEqual({
        id: inserted[0].id,
        messageSid: null,
        direction: MessageDirection.Outbound,
        from: SENDER,
        to: 'whatsapp:+14155550001',
        body: null,
        mediaUrls: [],
        mediaContentTypes: [],
        contentSid: 'HX0123456789abcdef0123456789abcdef',
        contentVariables: { '1': 'Ada' },
        profileName: null,
        waId: null,
        metadata: null,
        clientReference: null,
        retryOf: null,
        status: MessageStatus.Queued,
        errorCode: null,
        errorMessage: null,
        attempts: 0,
        lastAttemptAt: null,
        ambiguousAttemptAt: null,
        sendingUntil: null,
        createdBy: '0b6f7f43-31e9-4b1e-8a3b-7c1d2e3f4a5b',
        queuedAt,
        scheduledAt: null,
        canceledAt: null,
        sentAt: null,
        deliveredAt: null,
        readAt: null,
        failedAt: null,
        deliveryTimeMs: null,
        createdAt: expect.any(Date),
        updatedAt: row.createdAt,
      });
      expectTakenBetween(row.createdAt, before, after);
    });

    it('keeps the inbound columns (SID, media types, profile, metadata) and the given id', async () => {
      const id = randomUUID();
      const messageSid = sid();
      await h.messages.insert(undefined, [
        {
          id,
          direction: MessageDirection.Inbound,
          from: 'whatsapp:+14155550002',
          to: SENDER,
          body: 'hi',
          mediaUrls: ['https://example.com/a.jpg'],
          mediaContentTypes: ['image/jpeg'],
          status: MessageStatus.Received,
          messageSid,
          profileName: 'Ada',
          waId: '14155550002',
          metadata: { ButtonPayload: 'yes' },
        },
      ]);
      expect(await stored(id)).toMatchObject({
        id,
        messageSid,
        direction: MessageDirection.Inbound,
        mediaUrls: ['https://example.com/a.jpg'],
        mediaContentTypes: ['image/jpeg'],
        profileName: 'Ada',
        waId: '14155550002',
        metadata: { ButtonPayload: 'yes' },
        queuedAt: null,
        createdBy: null,
      });
      expect((await h.messages.findBySid(messageSid))?.id).toBe(id);
    });

    it("keeps an outbound message's client reference and flat metadata as given, value types included", async () => {
      const metadata = { orderId: 'A-1001', attempt: 2, priority: true, note: null, price: 12.5, text: 'ünïcödé "quoted"' };
      const id = await add({ clientReference: 'order-1001', metadata });
      expect(await stored(id)).toMatchObject({ clientReference: 'order-1001', metadata });
    });

    it('refuses a client reference longer than its 128-character column, storing none of the rows', async () => {
      const fine = randomUUID();
      await expect(h.messages.insert(undefined, [outbound({ id: fine }), outbound({ clientReference: 'r'.repeat(129) })])).rejects.toThrow(
        'value too long for type character varying(128)',
      );
      expect(await h.messages.findById(fine)).toBeNull();
      expect((await stored(await add({ clientReference: 'r'.repeat(128) }))).clientReference).toHaveLength(128);
    });

    it('skips rows whose id, SID or retryOf is taken (also within one statement) and returns only the inserted ones', async () => {
      const inboundSid = sid();
      const existing = randomUUID();
      const original = await add({ id: existing });
      await h.messages.insert(undefined, [outbound({ direction: MessageDirection.Inbound, status: MessageStatus.Received, messageSid: inboundSid })]);

      const sameSid = randomUUID();
      const firstRetry = randomUUID();
      const secondRetry = randomUUID();
      const unrelated = randomUUID();
      const inserted = await h.messages.insert(undefined, [
        outbound({ id: sameSid, direction: MessageDirection.Inbound, status: MessageStatus.Received, messageSid: inboundSid }),
        outbound({ id: firstRetry, retryOf: original }),
        outbound({ id: secondRetry, retryOf: original }),
        outbound({ id: existing, body: 'a different row with a taken id' }),
        outbound({ id: unrelated }),
      ]);

      expect(inserted).toEqual([
        { id: firstRetry, retryOf: original },
        { id: unrelated, retryOf: null },
      ]);
      expect(await h.messages.findById(sameSid)).toBeNull();
      expect(await h.messages.findById(secondRetry)).toBeNull();
      expect((await stored(existing)).body).toBe('Your order has shipped');
      expect(await h.messages.insert(undefined, [])).toEqual([]);
    });

    it('stores none of the rows when one lacks a required column', async () => {
      const fine = randomUUID();
      await expect(h.messages.insert(undefined, [outbound({ id: fine }), { ...outbound(), to: undefined as unknown as string }])).rejects.toThrow(
        'null value in column "to" of relation "WhatsAppMessage" violates not-null constraint',
      );
      expect(await h.messages.findById(fine)).toBeNull();
    });

    it('insertWithJobs stores rows and their outbox jobs in one statement: both, or neither', async () => {
      const [a, b] = [randomUUID(), randomUUID()];
      const jobsFor = (...ids: string[]) => h.outbox.insertStatement(ids.map((id) => sendMessageJob({ id, from: SENDER })), 2);
      await h.messages.insertWithJobs([outbound({ id: a }), outbound({ id: b })], jobsFor(a, b));
      expect((await stored(a)).status).toBe(MessageStatus.Queued);
      expect((await stored(b)).status).toBe(MessageStatus.Queued);
      // Both have their send job: neither is among the unsent messages without one.
      expect(await h.messages.unsentWithoutOutboxJob(null, 10)).toEqual([]);

      // A job the outbox refuses (no queue) stores none of the rows either.
      const c = randomUUID();
      const refused = jobsFor(c);
      refused.jobs = refused.jobs.map((j) => ({ ...j, queue: null as unknown as string }));
      refused.params = [JSON.stringify(refused.jobs)];
      await expect(h.messages.insertWithJobs([outbound({ id: c })], refused)).rejects.toThrow(/null value in column "queue"/);
      expect(await h.messages.findById(c)).toBeNull();
    });

    it('rolls back the inserts of a transaction whose work fails', async () => {
      const id = randomUUID();
      const failure = new Error('the outbox write failed');
      await expect(
        h.messages.transaction(async (tx) => {
          await h.messages.insert(tx, [outbound({ id })]);
          await h.events.insertUnlessSeen(tx, event(sid(), 'queued', { messageId: id }));
          throw failure;
        }),
      ).rejects.toBe(failure);
      expect(await h.messages.findById(id)).toBeNull();
      expect(await h.allEvents()).toEqual([]);
    });
  });

  describe('claim', () => {
    it('counts the attempt, leases the message, and marks it as possibly at Twilio', async () => {
      const id = await add();
      const before = Date.now();
      const claim = await h.messages.claim(id, 60_000);
      const after = Date.now();

      expect(claim?.hadUnansweredAttempt).toBe(false);
      const row = await stored(id);
      expect(claim?.message).toEqual(row);
      expect(row.attempts).toBe(1);
      expectTakenBetween(row.lastAttemptAt, before, after);
      expect(row.ambiguousAttemptAt).toEqual(row.lastAttemptAt);
      expectTakenBetween(row.sendingUntil, before, after, 60_000);
    });

    it('is refused while another attempt holds the lease, and allowed once it ran out, reporting the unanswered attempt', async () => {
      const id = await add();
      await h.messages.claim(id, 60_000);
      expect(await h.messages.claim(id, 60_000)).toBeNull();
      expect((await stored(id)).attempts).toBe(1);

      const firstAttempt = ago(5 * 60_000);
      await h.patch(id, { sendingUntil: ago(1_000), ambiguousAttemptAt: firstAttempt });
      const claim = await h.messages.claim(id, 60_000);

      expect(claim?.hadUnansweredAttempt).toBe(true);
      expect(claim?.message.attempts).toBe(2);
      // The mark keeps the start of the earliest unanswered attempt.
      expect(claim?.message.ambiguousAttemptAt).toEqual(firstAttempt);
      expect((await stored(id)).sendingUntil!.getTime()).toBeGreaterThan(Date.now() + 50_000);
    });

    it('is refused for a message with a SID, one no longer queued, and one that does not exist', async () => {
      const withSid = await add({ messageSid: sid() });
      const failed = await add({ status: MessageStatus.Failed });
      const accepted = await add({ status: MessageStatus.Accepted });

      expect(await h.messages.claim(withSid, 60_000)).toBeNull();
      expect(await h.messages.claim(failed, 60_000)).toBeNull();
      expect(await h.messages.claim(accepted, 60_000)).toBeNull();
      expect(await h.messages.claim(randomUUID(), 60_000)).toBeNull();
      for (const id of [withSid, failed, accepted]) expect(await stored(id)).toMatchObject({ attempts: 0, sendingUntil: null, ambiguousAttemptAt: null });
    });

    it('takes a scheduled message only from its time on, making it queued then', async () => {
      const later = await add({ status: MessageStatus.Scheduled, queuedAt: null, scheduledAt: new Date(Date.now() + 60_000) });
      const due = await add({ status: MessageStatus.Scheduled, queuedAt: null, scheduledAt: ago(1_000) });

      expect(await h.messages.claim(later, 60_000)).toBeNull();
      expect(await stored(later)).toMatchObject({ status: MessageStatus.Scheduled, attempts: 0, queuedAt: null });
      const before = Date.now();
      const claim = await h.messages.claim(due, 60_000);
      const after = Date.now();
      expect(claim?.message).toMatchObject({ status: MessageStatus.Queued, attempts: 1 });
      expectTakenBetween((await stored(due)).queuedAt, before, after);
      // Not before its time in the sweeps either; from then on like any unsent message.
      expect(ids(await h.messages.unsentWithoutOutboxJob(null, 10))).toEqual([due]);
      expect(ids(await h.messages.findStalled(new Date(), 10))).toEqual([]);
    });

    it('reports no unanswered attempt after the previous one was refused by Twilio', async () => {
      const id = await add();
      await h.messages.claim(id, 60_000);
      await h.messages.recordFailure(id, { errorCode: 20503, errorMessage: 'Service unavailable', ambiguousSince: null, busyUntil: null, failedAt: null });

      const claim = await h.messages.claim(id, 60_000);
      expect(claim?.hadUnansweredAttempt).toBe(false);
      expect(claim?.message.attempts).toBe(2);
    });

    it('tells whether the recipient opted out, under the contact key (Mexican +521 and Brazilian numbers without the ninth digit)', async () => {
      await h.putContact('+525512345678', ago(HOUR));
      await h.putContact('+5511987654321', ago(HOUR));
      await h.putContact('+14155550777', null); // wrote START again
      const optedOut = async (to: string) => (await h.messages.claim(await add({ to }), 60_000))?.optedOut;

      // As WhatsApp writes them: +521 for a Mexican mobile, no ninth digit for an older Brazilian one.
      expect(await optedOut('whatsapp:+5215512345678')).toBe(true);
      expect(await optedOut('whatsapp:+525512345678')).toBe(true);
      expect(await optedOut('whatsapp:+551187654321')).toBe(true);
      expect(await optedOut('WhatsApp:+5511987654321')).toBe(true);
      expect(await optedOut('whatsapp:+14155550777')).toBe(false);
      expect(await optedOut('whatsapp:+551137654321')).toBe(false); // a landline: no ninth digit to add
      expect(await optedOut(recipient())).toBe(false);
    });

    it('answers claims made at the same moment each on its own: the same message twice goes to the first only', async () => {
      // Submitted in one turn, so on Postgres they share one statement (one batch).
      const ids = await Promise.all(Array.from({ length: 10 }, () => add()));
      const held = await add();
      await h.messages.claim(held, 60_000);
      const leases = ids.map((_, i) => 30_000 + i * 1_000);
      const before = Date.now();
      const claims = await Promise.all([
        ...ids.map((id, i) => h.messages.claim(id, leases[i])),
        h.messages.claim(ids[3], 60_000),
        h.messages.claim(held, 60_000),
        h.messages.claim(randomUUID(), 60_000),
      ]);
      const after = Date.now();

      for (const [i, id] of ids.entries()) {
        const row = await stored(id);
        expect(claims[i]?.message).toEqual(row);
        expect(row.attempts).toBe(1);
        expectTakenBetween(row.sendingUntil, before, after, leases[i]);
      }
      expect(claims.slice(10)).toEqual([null, null, null]);
      expect((await stored(held)).attempts).toBe(1);
    });
  });

  describe('cancel', () => {
    it('cancels a queued or scheduled message no attempt holds, and nothing at Twilio, being sent, or in doubt', async () => {
      const queued = await add();
      const scheduled = await add({ status: MessageStatus.Scheduled, queuedAt: null, scheduledAt: new Date(Date.now() + 60_000) });
      const withSid = await add({ messageSid: sid() });
      const held = await add();
      await h.messages.claim(held, 60_000);
      const inDoubt = await add();
      await h.patch(inDoubt, { ambiguousAttemptAt: ago(60_000), sendingUntil: null });
      const failed = await add({ status: MessageStatus.Failed });
      const inbound = await add({ direction: MessageDirection.Inbound, status: MessageStatus.Received, messageSid: sid() });

      for (const id of [queued, scheduled]) {
        const before = Date.now();
        const canceled = await h.messages.transaction((tx) => h.messages.cancel(tx, id));
        const after = Date.now();
        expect(canceled).toEqual(await stored(id));
        expect(canceled).toMatchObject({ status: MessageStatus.Canceled, attempts: 0 });
        expectTakenBetween(canceled!.canceledAt, before, after);
        // Canceled for good: no claim, no second cancel.
        expect(await h.messages.claim(id, 60_000)).toBeNull();
        expect(await h.messages.transaction((tx) => h.messages.cancel(tx, id))).toBeNull();
      }
      for (const id of [withSid, held, inDoubt, failed, inbound, randomUUID()]) {
        expect(await h.messages.transaction((tx) => h.messages.cancel(tx, id))).toBeNull();
      }
      for (const id of [withSid, held, inDoubt, failed, inbound]) expect((await stored(id)).canceledAt).toBeNull();
    });
  });

  describe('leases', () => {
    it('renewLease restarts the lease of the current attempt only, while the message is unsent', async () => {
      const id = await add();
      await h.messages.claim(id, 60_000);
      await h.patch(id, { sendingUntil: ago(1_000) });

      expect(await h.messages.renewLease(id, 2, 60_000)).toBe(false);
      expect((await stored(id)).sendingUntil!.getTime()).toBeLessThan(Date.now());

      const before = Date.now();
      expect(await h.messages.renewLease(id, 1, 90_000)).toBe(true);
      const after = Date.now();
      const row = await stored(id);
      expectTakenBetween(row.sendingUntil, before, after, 90_000);
      expectTakenBetween(row.lastAttemptAt, before, after);

      await attachSid(id, sid());
      expect(await h.messages.renewLease(id, 1, 60_000)).toBe(false);
    });

    it('returnClaim undoes the current attempt (count, lease, mark), keeps a given error, and leaves other attempts and sent messages alone', async () => {
      const id = await add();
      await h.messages.claim(id, 60_000);
      await h.messages.returnClaim(id, 1, null);
      expect(await stored(id)).toMatchObject({ attempts: 0, sendingUntil: null, ambiguousAttemptAt: null, errorCode: null, errorMessage: null });

      await h.messages.claim(id, 60_000);
      await h.messages.returnClaim(id, 1, { errorCode: 20429, errorMessage: 'Too Many Requests' });
      expect(await stored(id)).toMatchObject({ attempts: 0, sendingUntil: null, ambiguousAttemptAt: null, errorCode: 20429, errorMessage: 'Too Many Requests' });

      await h.messages.claim(id, 60_000);
      await h.messages.returnClaim(id, 2, null); // not the current attempt
      expect(await stored(id)).toMatchObject({ attempts: 1, ambiguousAttemptAt: expect.any(Date) });

      await attachSid(id, sid());
      await h.messages.returnClaim(id, 1, null); // sent meanwhile
      expect((await stored(id)).attempts).toBe(1);
    });

    it('releaseLease frees the lease of the current attempt and keeps the mark; an older attempt cannot free it', async () => {
      const id = await add();
      await h.messages.claim(id, 60_000);
      await h.patch(id, { sendingUntil: ago(1_000) });
      await h.messages.claim(id, 60_000);

      await h.messages.releaseLease(id, 1);
      expect((await stored(id)).sendingUntil!.getTime()).toBeGreaterThan(Date.now());

      await h.messages.releaseLease(id, 2);
      const row = await stored(id);
      expect(row.sendingUntil).toBeNull();
      expect(row.ambiguousAttemptAt).not.toBeNull();
      expect(row.attempts).toBe(2);
    });
  });

  describe('attempt outcomes', () => {
    it('recordFailure records a retryable failure, keeping or clearing the mark and lease as told', async () => {
      const id = await add();
      await h.messages.claim(id, 60_000);

      expect(await h.messages.recordFailure(id, { errorCode: 20503, errorMessage: 'Service unavailable', ambiguousSince: null, busyUntil: null, failedAt: null })).toBe(true);
      expect(await stored(id)).toMatchObject({
        status: MessageStatus.Queued,
        errorCode: 20503,
        errorMessage: 'Service unavailable',
        ambiguousAttemptAt: null,
        sendingUntil: null,
        failedAt: null,
      });

      const since = ago(60_000);
      const busyUntil = new Date(Date.now() + 15_000);
      expect(await h.messages.recordFailure(id, { errorCode: null, errorMessage: 'timeout of 15000ms exceeded', ambiguousSince: since, busyUntil, failedAt: null })).toBe(true);
      expect(await stored(id)).toMatchObject({ status: MessageStatus.Queued, errorCode: null, ambiguousAttemptAt: since, sendingUntil: busyUntil });
    });

    it('recordFailure with failedAt fails the message, and then changes it no more', async () => {
      const id = await add();
      await h.messages.claim(id, 60_000);
      const failedAt = ago(1_000);

      expect(await h.messages.recordFailure(id, { errorCode: 21211, errorMessage: 'Invalid To', ambiguousSince: null, busyUntil: null, failedAt })).toBe(true);
      expect(await stored(id)).toMatchObject({ status: MessageStatus.Failed, failedAt, errorCode: 21211, errorMessage: 'Invalid To', sendingUntil: null });

      expect(await h.messages.recordFailure(id, { errorCode: 20503, errorMessage: 'later', ambiguousSince: null, busyUntil: null, failedAt: new Date() })).toBe(false);
      expect(await stored(id)).toMatchObject({ errorCode: 21211, failedAt });
    });

    it('recordFailure never overwrites a message that got its SID', async () => {
      const id = await add();
      await h.messages.claim(id, 60_000);
      const messageSid = sid();
      await attachSid(id, messageSid);

      expect(await h.messages.recordFailure(id, { errorCode: 20500, errorMessage: 'late failure', ambiguousSince: null, busyUntil: null, failedAt: new Date() })).toBe(false);
      expect(await stored(id)).toMatchObject({ messageSid, status: MessageStatus.Queued, errorCode: null, errorMessage: null, failedAt: null });
    });

    it('markUndecided notes why and frees the lease, keeping the mark, unless a later attempt took the message', async () => {
      const undecided = await add();
      await h.messages.claim(undecided, 60_000);
      await h.messages.markUndecided(undecided, 1, 'Check the Twilio message log');
      const row = await stored(undecided);
      expect(row).toMatchObject({ errorMessage: 'Check the Twilio message log', sendingUntil: null, status: MessageStatus.Queued, attempts: 1 });
      expect(row.ambiguousAttemptAt).not.toBeNull();

      // An older attempt (or a reconciliation pass that read the row before a new claim) changes nothing.
      await h.patch(undecided, { sendingUntil: ago(1_000) });
      const claim = await h.messages.claim(undecided, 60_000);
      await h.messages.markUndecided(undecided, 1, 'stale note');
      expect(await stored(undecided)).toMatchObject({ errorMessage: 'Check the Twilio message log', sendingUntil: claim!.message.sendingUntil, attempts: 2 });
    });

    it('sidsTaken tells which SIDs belong to a message', async () => {
      const [a, b] = [sid(), sid()];
      await add({ messageSid: a });
      await add({ messageSid: b });
      expect(sorted(await h.messages.sidsTaken([a, sid(), b]))).toEqual(sorted([a, b]));
      expect(await h.messages.sidsTaken([])).toEqual(new Set());
    });
  });

  describe('unansweredLookalikes', () => {
    it('lists unanswered unsent messages from the sender to the number since a time, oldest attempt first, by text when given', async () => {
      const to = recipient();
      const since = ago(HOUR);
      const at = (minutes: number) => new Date(since.getTime() + minutes * 60_000);
      const marked = async (minutes: number, over: Partial<NewMessage> = {}, columns: Partial<WhatsAppMessage> = {}) => {
        const id = await add({ to, body: 'hi', ...over });
        await h.patch(id, { ambiguousAttemptAt: at(minutes), ...columns });
        return id;
      };
      const second = await marked(20);
      const first = await marked(10);
      const template = await marked(15, { contentSid: 'HX0123456789abcdef0123456789abcdef' });
      const otherText = await marked(30, { body: 'bye' });
      await marked(-5); // before `since`
      await marked(5, { messageSid: sid() }); // answered
      await marked(5, { status: MessageStatus.Failed });
      await marked(5, { from: OTHER_SENDER });
      await marked(5, { to: recipient() });
      await add({ to, body: 'hi' }); // never attempted

      expect(await h.messages.unansweredLookalikes({ to, from: SENDER, since, body: 'hi' })).toEqual([first, second]);
      expect(await h.messages.unansweredLookalikes({ to, from: SENDER, since, body: null })).toEqual([first, template, second, otherText]);
    });
  });

  describe('attachSid', () => {
    it('stores the SID, settles the attempt, and records the answer’s status when it is the message’s own', async () => {
      const id = await add();
      await h.messages.claim(id, 60_000);
      await h.patch(id, { updatedAt: ago(HOUR) });
      const messageSid = sid();

      const before = Date.now();
      const result = await h.messages.attachSid(id, messageSid, 'queued');
      const after = Date.now();

      expect(result).toEqual({ attached: true, existingSid: messageSid, statusRecorded: true, earlyEvents: false });
      const row = await stored(id);
      expect(row).toMatchObject({ messageSid, status: MessageStatus.Queued, ambiguousAttemptAt: null, sendingUntil: null, attempts: 1 });
      expectTakenBetween(row.updatedAt, before, after);
      const [recorded, ...more] = await h.allEvents();
      expect(more).toEqual([]);
      expect(recorded).toEqual({
        id: expect.any(String),
        messageId: id,
        messageSid,
        status: 'queued',
        errorCode: null,
        errorMessage: null,
        source: 'api',
        tokenIndex: null,
        applied: false,
        raw: {},
        receivedAt: expect.any(Date),
      });
      expectTakenBetween(recorded.receivedAt, before, after);

      // The same answer again (a retried call) records nothing twice.
      expect(await h.messages.attachSid(id, messageSid, 'queued')).toEqual({ attached: true, existingSid: messageSid, statusRecorded: true, earlyEvents: false });
      expect(await h.allEvents()).toHaveLength(1);
    });

    it('records no event when the answer’s status is not the message’s own (the caller applies it)', async () => {
      const id = await add();
      await h.messages.claim(id, 60_000);
      const messageSid = sid();

      expect(await h.messages.attachSid(id, messageSid, 'accepted')).toEqual({ attached: true, existingSid: messageSid, statusRecorded: false, earlyEvents: false });
      expect(await stored(id)).toMatchObject({ messageSid, status: MessageStatus.Queued, ambiguousAttemptAt: null, sendingUntil: null });
      expect(await h.allEvents()).toEqual([]);
    });

    it('keeps the SID a message already has and reports it, settling the attempt all the same', async () => {
      const first = sid();
      const id = await add({ messageSid: first });
      await h.patch(id, { ambiguousAttemptAt: ago(60_000), sendingUntil: new Date(Date.now() + 60_000) });
      const second = sid();

      expect(await h.messages.attachSid(id, second, 'queued')).toEqual({ attached: false, existingSid: first, statusRecorded: false, earlyEvents: false });
      expect(await stored(id)).toMatchObject({ messageSid: first, ambiguousAttemptAt: null, sendingUntil: null });
      expect(await h.messages.findBySid(second)).toBeNull();
      expect(await h.allEvents()).toEqual([]);
    });

    it('reports callbacks stored for the SID before it was attached, and leaves them to be applied', async () => {
      const messageSid = sid();
      const id = await add();
      const other = await add({ messageSid: sid() });
      await h.messages.transaction(async (tx) => {
        await h.events.insertManyUnlessSeen(tx, [event(messageSid, 'sent'), event(messageSid, 'delivered')]);
        await h.events.insertManyUnlessSeen(tx, [event((await stored(other)).messageSid!, 'sent', { messageId: other })]);
      });

      expect(await h.messages.attachSid(id, messageSid, 'queued')).toEqual({ attached: true, existingSid: messageSid, statusRecorded: true, earlyEvents: true });
      expect((await h.allEvents()).map((e) => [e.messageSid === messageSid, e.status, e.messageId, e.applied])).toEqual([
        [true, 'sent', null, false],
        [true, 'delivered', null, false],
        [false, 'sent', other, false],
        [true, 'queued', id, false],
      ]);

      // Only unattached callbacks of this SID count.
      const later = await add();
      expect((await h.messages.attachSid(later, sid(), 'queued')).earlyEvents).toBe(false);
    });

    it('refuses a SID another message has, and a message that does not exist', async () => {
      const messageSid = sid();
      const a = await add({ messageSid });
      const b = await add();
      const markedAt = ago(HOUR);
      await h.patch(b, { updatedAt: markedAt, ambiguousAttemptAt: markedAt });

      await expect(h.messages.attachSid(b, messageSid, 'queued')).rejects.toThrow(/UQ_WhatsAppMessage_messageSid/);
      const row = await stored(b);
      expect(row).toMatchObject({ messageSid: null, ambiguousAttemptAt: markedAt });
      expect(row.updatedAt.getTime()).toBeLessThan(Date.now() - HOUR / 2);
      expect((await h.messages.findBySid(messageSid))?.id).toBe(a);

      await expect(h.messages.attachSid(randomUUID(), sid(), 'queued')).rejects.toThrow(/does not exist/);
      expect(await h.allEvents()).toEqual([]);
    });

    it('answers attachments made at the same moment each with its own outcome; one that fails fails alone', async () => {
      // Submitted in one turn, so on Postgres they share one statement (one batch).
      const ids = await Promise.all(Array.from({ length: 12 }, () => add()));
      const sids = ids.map(() => sid());
      const kept = sid();
      const alreadyAttached = await add({ messageSid: kept });
      const missing = randomUUID();
      const results = await Promise.allSettled([
        ...ids.map((id, i) => h.messages.attachSid(id, sids[i], i % 2 === 0 ? 'queued' : 'accepted')),
        h.messages.attachSid(alreadyAttached, sid(), 'queued'),
        h.messages.attachSid(missing, sid(), 'queued'),
      ]);

      expect(results.slice(0, 12)).toEqual(
        ids.map((_, i) => ({ status: 'fulfilled', value: { attached: true, existingSid: sids[i], statusRecorded: i % 2 === 0, earlyEvents: false } })),
      );
      expect(results[12]).toEqual({ status: 'fulfilled', value: { attached: false, existingSid: kept, statusRecorded: false, earlyEvents: false } });
      expect(results[13]).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: expect.stringMatching(/does not exist/) }) });
      for (const [i, id] of ids.entries()) expect((await stored(id)).messageSid).toBe(sids[i]);
      expect((await h.allEvents()).map((e) => e.messageSid).sort()).toEqual(sids.filter((_, i) => i % 2 === 0).sort());
    });
  });

  describe('status lifecycle writes', () => {
    it('recordProgress writes the status columns of several messages as given, and moves their updatedAt', async () => {
      const a = await add({ messageSid: sid(), queuedAt: ago(3 * 60_000) });
      const b = await add({ messageSid: sid() });
      const untouched = await add({ messageSid: sid() });
      for (const id of [a, b, untouched]) await h.patch(id, { updatedAt: ago(HOUR) });
      await h.patch(a, { readAt: ago(HOUR) });
      const sentAt = ago(2 * 60_000);
      const deliveredAt = ago(60_000);
      const failedAt = ago(30_000);

      const before = Date.now();
      await h.messages.transaction(async (tx) => {
        const [ma, mb] = await h.messages.findBySidsForUpdate(tx, [(await stored(a)).messageSid!, (await stored(b)).messageSid!]).then((rows) =>
          [a, b].map((id) => rows.find((r) => r.id === id)!),
        );
        Object.assign(ma, { status: MessageStatus.Delivered, sentAt, deliveredAt, deliveryTimeMs: 60_000 });
        Object.assign(mb, { status: MessageStatus.Undelivered, failedAt, errorCode: 30003, errorMessage: 'Unreachable destination handset' });
        // A column the message object lacks is written as NULL.
        delete (ma as Partial<WhatsAppMessage>).readAt;
        await h.messages.recordProgress(tx, [ma, mb]);
        await h.messages.recordProgress(tx, []);
      });
      const after = Date.now();

      const rowA = await stored(a);
      expect(rowA).toMatchObject({ status: MessageStatus.Delivered, sentAt, deliveredAt, readAt: null, deliveryTimeMs: 60_000, errorCode: null, failedAt: null });
      expect(rowA.queuedAt!.getTime()).toBeLessThan(sentAt.getTime());
      expectTakenBetween(rowA.updatedAt, before, after);
      const rowB = await stored(b);
      expect(rowB).toMatchObject({ status: MessageStatus.Undelivered, failedAt, errorCode: 30003, errorMessage: 'Unreachable destination handset', sentAt: null });
      expectTakenBetween(rowB.updatedAt, before, after);
      expect((await stored(untouched)).updatedAt.getTime()).toBeLessThan(Date.now() - HOUR / 2);
    });

    it('lockSidsAndFindForUpdate finds what lockSids then findBySidsForUpdate find (several SIDs in id order, unknown ones left out)', async () => {
      const [s1, s2, s3] = [sid(), sid(), sid()];
      const ids = [await add({ messageSid: s1 }), await add({ messageSid: s2 }), await add({ messageSid: s3 })];
      await add({ messageSid: sid() });
      const read = await h.messages.transaction(async (tx) => ({
        all: await h.messages.lockSidsAndFindForUpdate(tx, [s3, sid(), s1, s2, s1]),
        none: await h.messages.lockSidsAndFindForUpdate(tx, []),
      }));
      expect(read.all).toEqual(await Promise.all(sorted(ids).map(stored)));
      expect(read.none).toEqual([]);
    });

    if (name === 'postgres') {
      it('lockSidsAndFindForUpdate finds a message whose SID was attached while it waited for the SID lock', async () => {
        const s = sid();
        const id = await add();
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        let locked!: () => void;
        const lockTaken = new Promise<void>((resolve) => (locked = resolve));
        // An attach in progress: the SID's lock held, the SID written, not committed yet.
        const attach = h.messages.transaction(async (tx) => {
          await h.messages.lockSid(tx, s);
          await tx.query(`UPDATE "WhatsAppMessage" SET "messageSid" = $1 WHERE id = $2`, [s, id]);
          locked();
          await held;
        });
        await lockTaken;
        const finding = h.messages.transaction((tx) => h.messages.lockSidsAndFindForUpdate(tx, [s]));
        // Let the finder start its statement (and wait for the lock) before the attach commits.
        await new Promise((resolve) => setTimeout(resolve, 200));
        release();
        await attach;
        expect((await finding).map((m) => [m.id, m.messageSid])).toEqual([[id, s]]);
      });
    }

    it('findByIdForUpdate, findBySidForUpdate and findBySidsForUpdate read in the transaction (several SIDs in id order)', async () => {
      const [s1, s2] = [sid(), sid()];
      const one = await add({ messageSid: s1 });
      const two = await add({ messageSid: s2 });
      await add({ messageSid: sid() });

      const read = await h.messages.transaction(async (tx) => {
        await h.messages.lockSids(tx, [s2, s1, s2]);
        await h.messages.lockSids(tx, []);
        await h.messages.lockSid(tx, s1);
        return {
          byId: await h.messages.findByIdForUpdate(tx, one),
          bySid: await h.messages.findBySidForUpdate(tx, s1),
          bySids: await h.messages.findBySidsForUpdate(tx, [s2, sid(), s1, s2]),
          none: await h.messages.findBySidsForUpdate(tx, []),
          missing: await h.messages.findByIdForUpdate(tx, randomUUID()),
        };
      });

      expect(read.byId).toEqual(await stored(one));
      expect(read.bySid).toEqual(await stored(one));
      expect(read.bySids).toEqual(await Promise.all(sorted([one, two]).map(stored)));
      expect(read.none).toEqual([]);
      expect(read.missing).toBeNull();
    });
  });

  describe('reconciliation queries', () => {
    it('findStuckAtTwilio selects outbound messages Twilio has, short of a final status and not updated since the cutoff, least recently updated first', async () => {
      const stuck = async (status: MessageStatus, updatedAgo: number, over: Partial<NewMessage> = {}) => {
        const id = await add({ messageSid: sid(), status, ...over });
        await h.patch(id, { updatedAt: ago(updatedAgo) });
        return id;
      };
      const queued = await stuck(MessageStatus.Queued, 2 * HOUR);
      const sent = await stuck(MessageStatus.Sent, 3 * HOUR);
      const accepted = await stuck(MessageStatus.Accepted, 1.5 * HOUR);
      await stuck(MessageStatus.Delivered, 4 * HOUR);
      await stuck(MessageStatus.Failed, 4 * HOUR);
      await stuck(MessageStatus.Sent, 60_000); // moved recently
      await stuck(MessageStatus.Received, 4 * HOUR, { direction: MessageDirection.Inbound });
      const noSid = await add();
      await h.patch(noSid, { updatedAt: ago(4 * HOUR) });

      const cutoff = ago(HOUR);
      expect(ids(await h.messages.findStuckAtTwilio(cutoff, 10))).toEqual([sent, queued, accepted]);
      expect(ids(await h.messages.findStuckAtTwilio(cutoff, 1))).toEqual([sent]);

      await h.messages.touch(sent);
      expect(ids(await h.messages.findStuckAtTwilio(cutoff, 10))).toEqual([queued, accepted]);
    });

    it('findDeliveredUnread selects recent delivered messages, not updated since the cutoff, once their age has doubled since the last look', async () => {
      const delivered = async (deliveredAgo: number, lookedAgo: number, over: Partial<NewMessage> = {}, status = MessageStatus.Delivered) => {
        const id = await add({ messageSid: sid(), status, ...over });
        await h.patch(id, { createdAt: ago(deliveredAgo + 60_000), deliveredAt: ago(deliveredAgo), updatedAt: ago(lookedAgo) });
        return id;
      };
      const due = await delivered(2 * HOUR, 2 * HOUR); // never looked at since its delivery
      const doubled = await delivered(4 * HOUR, 3 * HOUR); // looked at when 1 h old, now 4 h
      await delivered(3 * HOUR, 1.2 * HOUR); // looked at when 1.8 h old: not yet 3.6 h
      await delivered(2 * HOUR, 30 * 60_000); // updated after the cutoff
      await delivered(30 * HOUR, 30 * HOUR); // older than the window
      await delivered(2 * HOUR, 2 * HOUR, {}, MessageStatus.Read);
      await delivered(2 * HOUR, 2 * HOUR, { direction: MessageDirection.Inbound });

      const cutoff = ago(HOUR);
      expect(ids(await h.messages.findDeliveredUnread(24 * HOUR, cutoff, 10))).toEqual([doubled, due]);
      expect(ids(await h.messages.findDeliveredUnread(24 * HOUR, cutoff, 1))).toEqual([doubled]);
      await h.messages.touch(doubled);
      expect(ids(await h.messages.findDeliveredUnread(24 * HOUR, cutoff, 10))).toEqual([due]);
    });

    it('findUnanswered selects unsent marked messages last attempted before the cutoff that no attempt holds, least recently looked at first', async () => {
      const unanswered = async (lastAttemptAgo: number, columns: Partial<WhatsAppMessage> = {}, over: Partial<NewMessage> = {}) => {
        const id = await add(over);
        await h.patch(id, { attempts: 3, lastAttemptAt: ago(lastAttemptAgo), ambiguousAttemptAt: ago(lastAttemptAgo), updatedAt: ago(lastAttemptAgo), ...columns });
        return id;
      };
      const expired = await unanswered(2 * HOUR, { sendingUntil: ago(HOUR) });
      const older = await unanswered(3 * HOUR);
      // Attempted after the others, but looked at longer ago than any.
      const lookedAtLongAgo = await unanswered(1.5 * HOUR, { updatedAt: ago(4 * HOUR) });
      await unanswered(4 * HOUR, { sendingUntil: new Date(Date.now() + 60_000) }); // leased
      await unanswered(4 * HOUR, { ambiguousAttemptAt: null }); // answered
      await unanswered(60_000, { updatedAt: ago(5 * HOUR) }); // attempted recently
      await unanswered(4 * HOUR, {}, { messageSid: sid() });
      await unanswered(4 * HOUR, {}, { status: MessageStatus.Failed });

      expect(ids(await h.messages.findUnanswered(ago(HOUR), 10))).toEqual([lookedAtLongAgo, older, expired]);
      expect(ids(await h.messages.findUnanswered(ago(HOUR), 1))).toEqual([lookedAtLongAgo]);

      // A pass that could not settle it puts it at the back.
      await h.messages.touch(lookedAtLongAgo);
      expect(ids(await h.messages.findUnanswered(ago(HOUR), 10))).toEqual([older, expired, lookedAtLongAgo]);

      await h.messages.recordFailure(older, { errorCode: 20503, errorMessage: 'Service unavailable', ambiguousSince: null, busyUntil: null, failedAt: null });
      expect(ids(await h.messages.findUnanswered(ago(HOUR), 10))).toEqual([expired, lookedAtLongAgo]);
    });

    it('failUnanswered fails the message only if no attempt started since and none holds it', async () => {
      const id = await add();
      await h.patch(id, { attempts: 10, lastAttemptAt: ago(2 * HOUR), ambiguousAttemptAt: ago(2 * HOUR), sendingUntil: new Date(Date.now() + 60_000) });
      const failedAt = new Date();

      expect(await h.messages.failUnanswered(id, 10, 'No answer (not found at Twilio afterwards)', failedAt)).toBe(false);
      await h.patch(id, { sendingUntil: ago(1_000) });
      expect(await h.messages.failUnanswered(id, 9, 'No answer (not found at Twilio afterwards)', failedAt)).toBe(false);
      expect((await stored(id)).status).toBe(MessageStatus.Queued);

      expect(await h.messages.failUnanswered(id, 10, 'No answer (not found at Twilio afterwards)', failedAt)).toBe(true);
      expect(await stored(id)).toMatchObject({ status: MessageStatus.Failed, failedAt, ambiguousAttemptAt: null, errorMessage: 'No answer (not found at Twilio afterwards)' });

      const withSid = await add({ messageSid: sid() });
      await h.patch(withSid, { attempts: 1, lastAttemptAt: ago(2 * HOUR), ambiguousAttemptAt: ago(2 * HOUR) });
      expect(await h.messages.failUnanswered(withSid, 1, 'x', failedAt)).toBe(false);
    });

    it('findStalled selects unmarked unsent outbound messages idle since the cutoff with no job in the outbox, oldest first', async () => {
      const stalled = async (createdAgo: number, columns: Partial<WhatsAppMessage> = {}, over: Partial<NewMessage> = {}) => {
        const id = await add(over);
        await h.patch(id, { createdAt: ago(createdAgo), ...columns });
        return id;
      };
      const neverAttempted = await stalled(2 * HOUR);
      const attemptedLongAgo = await stalled(3 * HOUR, { attempts: 2, lastAttemptAt: ago(2 * HOUR) });
      await stalled(3 * HOUR, { attempts: 2, lastAttemptAt: ago(60_000) }); // attempted recently
      await stalled(3 * HOUR, { ambiguousAttemptAt: ago(2 * HOUR), lastAttemptAt: ago(2 * HOUR) }); // unanswered: looked up instead
      await stalled(3 * HOUR, {}, { status: MessageStatus.Failed });
      await stalled(3 * HOUR, {}, { messageSid: sid() });
      await stalled(3 * HOUR, {}, { direction: MessageDirection.Inbound });
      const withJob = await stalled(3 * HOUR);
      await h.messages.transaction((tx) => h.outbox.add(tx, [sendMessageJob({ id: withJob, from: 'whatsapp:+14155238886' })]));

      expect(ids(await h.messages.findStalled(ago(HOUR), 10))).toEqual([attemptedLongAgo, neverAttempted]);
      expect(ids(await h.messages.findStalled(ago(HOUR), 1))).toEqual([attemptedLongAgo]);
    });

    it('unsentWithoutOutboxJob pages the unsent outbound messages with no job in the outbox, however recent', async () => {
      const unsent = [await add(), await add(), await add()];
      await h.patch(unsent[1], { attempts: 3, lastAttemptAt: ago(1_000), ambiguousAttemptAt: ago(1_000), sendingUntil: new Date(Date.now() + HOUR) });
      await add({ status: MessageStatus.Failed });
      await add({ messageSid: sid() });
      await add({ direction: MessageDirection.Inbound });
      const withJob = await add();
      await h.messages.transaction((tx) => h.outbox.add(tx, [sendMessageJob({ id: withJob, from: 'whatsapp:+14155238886' })]));

      const all = [...unsent].sort();
      const page = async (after: string | null, limit: number) => (await h.messages.unsentWithoutOutboxJob(after, limit)).map((m) => m.id);
      expect(await page(null, 10)).toEqual(all);
      expect(await page(null, 2)).toEqual(all.slice(0, 2));
      expect(await page(all[1], 2)).toEqual(all.slice(2));
      const [first] = await h.messages.unsentWithoutOutboxJob(null, 1);
      expect(first.from).toBe((await stored(first.id)).from);
    });

    it('takeForRequeue takes an idle unsent message unless an attempt started since the cutoff or holds it', async () => {
      const id = await add();
      await h.patch(id, { attempts: 2, createdAt: ago(3 * HOUR), lastAttemptAt: ago(2 * HOUR), ambiguousAttemptAt: ago(2 * HOUR), updatedAt: ago(2 * HOUR) });
      const take = (attempts: number, clear: boolean) => h.messages.transaction((tx) => h.messages.takeForRequeue(tx, id, attempts, ago(HOUR), clear));

      expect(await take(1, true)).toBe(false);
      await h.patch(id, { sendingUntil: new Date(Date.now() + 60_000) });
      expect(await take(2, true)).toBe(false);
      await h.patch(id, { sendingUntil: ago(1_000) });

      expect(await take(2, false)).toBe(true);
      let row = await stored(id);
      expect(row.ambiguousAttemptAt).not.toBeNull();
      expect(row.updatedAt.getTime()).toBeGreaterThan(Date.now() - 60_000);

      expect(await take(2, true)).toBe(true);
      row = await stored(id);
      expect(row.ambiguousAttemptAt).toBeNull();
      expect(row.attempts).toBe(2);

      await h.patch(id, { lastAttemptAt: ago(60_000) });
      expect(await take(2, true)).toBe(false);

      const withSid = await add({ messageSid: sid() });
      await h.patch(withSid, { createdAt: ago(3 * HOUR) });
      expect(await h.messages.transaction((tx) => h.messages.takeForRequeue(tx, withSid, 0, ago(HOUR), false))).toBe(false);
    });

    it('findUnretriedFailures selects original outbound failures with the codes, failed between the two times, with no retry', async () => {
      const failure = async (failedAgo: number, over: Partial<NewMessage> = {}, errorCode = 30003) => {
        const id = await add({ status: MessageStatus.Failed, ...over });
        await h.patch(id, { errorCode, failedAt: ago(failedAgo) });
        return id;
      };
      const missed = await failure(2 * HOUR);
      const undelivered = await failure(3 * HOUR, { status: MessageStatus.Undelivered });
      const retried = await failure(2 * HOUR);
      await add({ retryOf: retried });
      await failure(2 * HOUR, { retryOf: randomUUID() }); // a retry itself
      await failure(2 * HOUR, {}, 30008);
      await failure(60_000); // too recent
      await failure(30 * HOUR); // too old
      await failure(2 * HOUR, { status: MessageStatus.Delivered });

      const found = await h.messages.findUnretriedFailures([30003, 30005], ago(24 * HOUR), ago(HOUR), 10);
      expect(sorted(ids(found))).toEqual(sorted([missed, undelivered]));
      expect(await h.messages.findUnretriedFailures([30003], ago(24 * HOUR), ago(HOUR), 1)).toHaveLength(1);
    });

    it('idsWithEarlyEvents lists messages with a SID that have events stored before the SID was attached', async () => {
      const early = sid();
      const attached = sid();
      const withEarly = await add({ messageSid: early });
      const withAttached = await add({ messageSid: attached });
      await h.messages.transaction(async (tx) => {
        await h.events.insertUnlessSeen(tx, event(early, 'sent'));
        await h.events.insertUnlessSeen(tx, event(early, 'delivered'));
        await h.events.insertUnlessSeen(tx, event(attached, 'sent', { messageId: withAttached }));
        await h.events.insertUnlessSeen(tx, event(sid(), 'sent')); // no message has it (yet)
      });

      expect(await h.messages.idsWithEarlyEvents(10)).toEqual([withEarly]);
    });
  });

  describe('retry queries', () => {
    it('findRetryableFailures lists outbound failures since a time with no retry, oldest first, filtered by codes when given', async () => {
      const failure = async (createdAgo: number, errorCode: number | null, over: Partial<NewMessage> = {}) => {
        const id = await add({ status: MessageStatus.Failed, ...over });
        await h.patch(id, { errorCode, createdAt: ago(createdAgo) });
        return id;
      };
      const a = await failure(3 * HOUR, 30008);
      const b = await failure(2 * HOUR, 30003, { status: MessageStatus.Undelivered });
      const c = await failure(1 * HOUR, null);
      const retried = await failure(2.5 * HOUR, 30008);
      await add({ retryOf: retried });
      await failure(30 * HOUR, 30008); // before `since`
      await failure(2 * HOUR, 30008, { status: MessageStatus.Sent });
      await failure(2 * HOUR, 30008, { direction: MessageDirection.Inbound });

      const since = ago(24 * HOUR);
      expect(ids(await h.messages.findRetryableFailures({ since, limit: 10 }))).toEqual([a, b, c]);
      expect(ids(await h.messages.findRetryableFailures({ since, errorCodes: [], limit: 10 }))).toEqual([a, b, c]);
      expect(ids(await h.messages.findRetryableFailures({ since, errorCodes: [30003, 30008], limit: 10 }))).toEqual([a, b]);
      expect(ids(await h.messages.findRetryableFailures({ since, limit: 2 }))).toEqual([a, b]);
    });

    it('retriedAmong and findByIds', async () => {
      const retried = await add({ status: MessageStatus.Failed });
      const notRetried = await add({ status: MessageStatus.Failed });
      await add({ retryOf: retried });

      expect(await h.messages.retriedAmong([retried, notRetried, randomUUID()])).toEqual(new Set([retried]));
      expect(await h.messages.retriedAmong([])).toEqual(new Set());
      expect(sorted(ids(await h.messages.findByIds([retried, notRetried, randomUUID()])))).toEqual(sorted([retried, notRetried]));
      expect(await h.messages.findByIds([])).toEqual([]);
    });
  });

  describe('reading', () => {
    it('unsentBacklogBySender counts unsent outbound messages per sender', async () => {
      await add();
      await add();
      await add({ from: OTHER_SENDER });
      await add({ messageSid: sid() });
      await add({ status: MessageStatus.Failed });
      expect(await h.messages.unsentBacklogBySender()).toEqual(
        new Map([
          [SENDER, 2],
          [OTHER_SENDER, 1],
        ]),
      );
    });

    it('page returns newest first by (createdAt, id), with filters and a keyset cursor', async () => {
      const createdAt = ago(HOUR);
      const made: string[] = [];
      for (let i = 0; i < 4; i++) {
        const id = await add({ to: 'whatsapp:+14155550100' });
        // Two share a creation time, so the id decides between them.
        await h.patch(id, { createdAt: i < 2 ? createdAt : new Date(createdAt.getTime() + i * 1000) });
        made.push(id);
      }
      await add({ to: 'whatsapp:+14155550199' });
      const tied = made.slice(0, 2).sort().reverse();
      const expected = [made[3], made[2], ...tied];

      const first = await h.messages.page({ to: 'whatsapp:+14155550100', limit: 3 });
      expect(ids(first)).toEqual(expected.slice(0, 3));
      const last = first[2];
      const rest = await h.messages.page({ to: 'whatsapp:+14155550100', limit: 3, before: { createdAt: last.createdAt.toISOString(), id: last.id } });
      expect(ids(rest)).toEqual(expected.slice(3));
      expect(ids(await h.messages.page({ status: MessageStatus.Queued, since: createdAt, until: new Date(createdAt.getTime() + 2500), limit: 10 }))).toEqual([made[2], ...tied]);
    });

    it('page filters by client reference exactly (case and all), with the other filters and the cursor', async () => {
      const older = await add({ clientReference: 'order-7' });
      await h.patch(older, { createdAt: ago(HOUR) });
      const newer = await add({ clientReference: 'order-7', createdBy: '0b6f7f43-31e9-4b1e-8a3b-7c1d2e3f4a5b' });
      await add({ clientReference: 'ORDER-7' });
      await add({ clientReference: 'order-70' });
      await add();

      const all = await h.messages.page({ clientReference: 'order-7', limit: 10 });
      expect(ids(all)).toEqual([newer, older]);
      expect(ids(await h.messages.page({ clientReference: 'order-7', limit: 1, before: { createdAt: all[0].createdAt.toISOString(), id: all[0].id } }))).toEqual([older]);
      expect(ids(await h.messages.page({ clientReference: 'order-7', createdBy: '0b6f7f43-31e9-4b1e-8a3b-7c1d2e3f4a5b', limit: 10 }))).toEqual([newer]);
      expect(await h.messages.page({ clientReference: 'order-', limit: 10 })).toEqual([]);
    });
  });

  describe('message events', () => {
    it('insertUnlessSeen stores one event per (SID, status) and returns it, or null for a duplicate', async () => {
      const messageSid = sid();
      const receivedAt = ago(1_000);
      const { first, duplicate, next } = await h.messages.transaction(async (tx) => ({
        first: await h.events.insertUnlessSeen(tx, event(messageSid, 'sent', { receivedAt, errorCode: 30003, errorMessage: 'Unreachable' })),
        duplicate: await h.events.insertUnlessSeen(tx, event(messageSid, 'sent', { source: 'reconcile', messageId: randomUUID() })),
        next: await h.events.insertUnlessSeen(tx, event(messageSid, 'delivered')),
      }));

      expect(first).toEqual({
        id: expect.any(String),
        messageId: null,
        messageSid,
        status: 'sent',
        errorCode: 30003,
        errorMessage: 'Unreachable',
        source: 'callback',
        tokenIndex: 0,
        applied: false,
        raw: { MessageStatus: 'sent' },
        receivedAt,
      });
      expect(duplicate).toBeNull();
      expect(next?.status).toBe('delivered');
      expect((await h.allEvents()).map((e) => [e.status, e.source])).toEqual([
        ['sent', 'callback'],
        ['delivered', 'callback'],
      ]);
    });

    it('insertManyUnlessSeen stores the events whose (SID, status) is new, a repeat within the call once, and returns the stored ones', async () => {
      const [a, b] = [sid(), sid()];
      const id = await add({ messageSid: a });
      const receivedAt = ago(5_000);
      await h.messages.transaction((tx) => h.events.insertManyUnlessSeen(tx, [event(a, 'sent')]));

      const inserted = await h.messages.transaction((tx) =>
        h.events.insertManyUnlessSeen(tx, [
          event(a, 'sent', { source: 'reconcile' }), // seen before
          event(a, 'delivered', { messageId: id, receivedAt, errorCode: 30003, errorMessage: 'x', tokenIndex: 1 }),
          event(b, 'sent'),
          event(a, 'delivered', { source: 'reconcile' }), // a repeat within the call
          event(b, 'sent', { raw: { again: true } }),
          event(b, 'delivered'),
        ]),
      );

      expect(inserted.map((e) => [e.messageSid, e.status, e.source])).toEqual([
        [a, 'delivered', 'callback'],
        [b, 'sent', 'callback'],
        [b, 'delivered', 'callback'],
      ]);
      expect(inserted[0]).toEqual({
        id: expect.any(String),
        messageId: id,
        messageSid: a,
        status: 'delivered',
        errorCode: 30003,
        errorMessage: 'x',
        source: 'callback',
        tokenIndex: 1,
        applied: false,
        raw: { MessageStatus: 'delivered' },
        receivedAt,
      });
      expect((await h.allEvents()).map((e) => [e.messageSid, e.status, e.source])).toEqual([
        [a, 'sent', 'callback'],
        [a, 'delivered', 'callback'],
        [b, 'sent', 'callback'],
        [b, 'delivered', 'callback'],
      ]);
      expect(await h.messages.transaction((tx) => h.events.insertManyUnlessSeen(tx, []))).toEqual([]);
    });

    it('unattached lists events stored before their SID was known in arrival order; attach links them, markApplied marks several', async () => {
      const messageSid = sid();
      const id = await add({ messageSid });
      const [sent, delivered, other] = await h.messages.transaction(async (tx) => [
        await h.events.insertUnlessSeen(tx, event(messageSid, 'sent', { receivedAt: ago(2_000) })),
        await h.events.insertUnlessSeen(tx, event(messageSid, 'delivered', { receivedAt: ago(3_000) })),
        await h.events.insertUnlessSeen(tx, event(sid(), 'sent')),
      ]);

      const orphans = await h.messages.transaction((tx) => h.events.unattached(tx, messageSid));
      expect(ids(orphans)).toEqual([sent!.id, delivered!.id]);

      await h.messages.transaction(async (tx) => {
        await h.events.attach(tx, sent!.id, id);
        await h.events.attach(tx, delivered!.id, id);
        await h.events.markApplied(tx, [delivered!.id, other!.id]);
        await h.events.markApplied(tx, []);
      });
      expect(await h.messages.transaction((tx) => h.events.unattached(tx, messageSid))).toEqual([]);
      const history = await h.events.forMessage(id);
      // Ordered by the time each status was reached, not by arrival.
      expect(history.map((e) => [e.id, e.status, e.messageId, e.applied])).toEqual([
        [delivered!.id, 'delivered', id, true],
        [sent!.id, 'sent', id, false],
      ]);
      expect((await h.allEvents()).find((e) => e.id === other!.id)).toMatchObject({ messageId: null, applied: true });
    });
  });
});
