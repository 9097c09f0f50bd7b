import { randomBytes, randomUUID } from 'node:crypto';
import { describeTwilioError } from '../twilio/twilio-error-codes';
import { RetrySkipReason } from './dto/retry.dto';
import { JobName } from './jobs/whatsapp-jobs';
import { EventSource } from './lifecycle/message-lifecycle.service';
import { MessageDirection, MessageStatus } from './message-status';
import { phoneOf } from './phone-number';
import { createWhatsAppTestKit, newRecipient, SENDER, settle, WhatsAppTestKit } from './testing/whatsapp-test-kit';

const MINUTE = 60_000;
const USER = '0b6f7f43-31e9-4b1e-8a3b-7c1d2e3f4a5b';

describe('RetryService', () => {
  let kit: WhatsAppTestKit;

  beforeEach(() => {
    kit = createWhatsAppTestKit();
  });

  async function failed(errorCode: number | null, over: { to?: string; status?: MessageStatus; createdAgo?: number } = {}): Promise<string> {
    const id = await kit.queued({ ...(over.to ? { to: over.to } : {}), status: over.status ?? MessageStatus.Failed, createdBy: USER, mediaUrls: ['https://example.com/a.png'] });
    kit.store.patch(id, { errorCode, failedAt: new Date(), ...(over.createdAgo ? { createdAt: new Date(Date.now() - over.createdAgo) } : {}) });
    return id;
  }

  function retriesOf(id: string) {
    return kit.store.allMessages().filter((m) => m.retryOf === id);
  }

  describe('retryFailed by ids', () => {
    it('queues a new message for each retryable failure and says why each other one was skipped', async () => {
      const optedOutNumber = newRecipient();
      kit.contacts.optOut(phoneOf(optedOutNumber));
      const retryable = await failed(30008);
      const withoutCode = await failed(null, { status: MessageStatus.Undelivered });
      const permanent = await failed(21211);
      const unlisted = await failed(12345);
      const retriedBefore = await failed(30008);
      await kit.queued({ retryOf: retriedBefore });
      const optedOut = await failed(30008, { to: optedOutNumber });
      const delivered = await kit.queued({ status: MessageStatus.Delivered });
      const [{ id: inbound }] = await kit.store.messages.insert(undefined, [
        { direction: MessageDirection.Inbound, from: newRecipient(), to: SENDER, body: 'hi', mediaUrls: [], status: MessageStatus.Received, messageSid: `SM${randomBytes(16).toString('hex')}` },
      ]);
      const missing = randomUUID();

      const answer = await kit.retries.retryFailed({ ids: [retryable, withoutCode, retryable, permanent, unlisted, retriedBefore, optedOut, delivered, inbound, missing] });

      expect(answer.success).toBe(true);
      expect(answer.retried).toBe(2);
      expect(answer.retries).toEqual([
        { id: retryable, retryId: retriesOf(retryable)[0].id },
        { id: withoutCode, retryId: retriesOf(withoutCode)[0].id },
      ]);
      const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
      expect([...answer.skipped].sort(byId)).toEqual(
        [
          { id: missing, reason: RetrySkipReason.NotFound },
          { id: inbound, reason: RetrySkipReason.Inbound, errorCode: null },
          { id: delivered, reason: RetrySkipReason.NotFailed, errorCode: null },
          { id: permanent, reason: RetrySkipReason.PermanentFailure, errorCode: 21211, hint: describeTwilioError(21211)!.hint },
          { id: unlisted, reason: RetrySkipReason.PermanentFailure, errorCode: 12345 },
          { id: retriedBefore, reason: RetrySkipReason.AlreadyRetried, errorCode: 30008, hint: describeTwilioError(30008)!.hint },
          { id: optedOut, reason: RetrySkipReason.RecipientOptedOut, errorCode: 30008, hint: describeTwilioError(30008)!.hint },
        ].sort(byId),
      );

      // The retry is a new queued message with the original's content; the original keeps its failure.
      const original = kit.store.row(retryable);
      const [retry] = retriesOf(retryable);
      expect(retry).toMatchObject({
        direction: MessageDirection.Outbound,
        status: MessageStatus.Queued,
        from: original.from,
        to: original.to,
        body: original.body,
        mediaUrls: original.mediaUrls,
        createdBy: USER,
        messageSid: null,
        attempts: 0,
        errorCode: null,
      });
      expect(retry.queuedAt).toBeInstanceOf(Date);
      expect(original).toMatchObject({ status: MessageStatus.Failed, errorCode: 30008 });
      expect(retriesOf(withoutCode)).toHaveLength(1);
      expect(retriesOf(retriedBefore)).toHaveLength(1);
      const jobs = kit.store.outboxJobs();
      expect(jobs.map((j) => [j.jobName, j.jobId, j.payload])).toEqual(answer.retries.map((r) => [JobName.SendMessage, `send-${r.retryId}`, { messageId: r.retryId, from: SENDER }]));
      for (const job of jobs) expect(job.availableAt.getTime()).toBeLessThanOrEqual(Date.now());
    });

    it('does not retry a message twice', async () => {
      const id = await failed(30008);
      expect((await kit.retries.retryFailed({ ids: [id] })).retried).toBe(1);

      const again = await kit.retries.retryFailed({ ids: [id] });

      expect(again).toMatchObject({ retried: 0, retries: [], skipped: [{ id, reason: RetrySkipReason.AlreadyRetried }] });
      expect(retriesOf(id)).toHaveLength(1);
      expect(kit.store.outboxJobs()).toHaveLength(1);
    });
  });

  describe('retryFailed over a window', () => {
    it('retries the failures created since the window began, with the given codes only when asked', async () => {
      const carrier = await failed(30008);
      const unreachable = await failed(30003);
      await failed(30008, { createdAgo: 2 * 24 * 60 * MINUTE });

      const onlyCarrier = await kit.retries.retryFailed({ errorCodes: [30008] });
      expect(onlyCarrier.retries.map((r) => r.id)).toEqual([carrier]);

      const rest = await kit.retries.retryFailed({});
      expect(rest.retries.map((r) => r.id)).toEqual([unreachable]);
      expect(rest.skipped).toEqual([]);
    });
  });

  describe('automatic retry of "retry once later" failures', () => {
    async function sent(): Promise<{ id: string; sid: string }> {
      const id = await kit.queued();
      const sid = `SM${randomBytes(16).toString('hex')}`;
      await kit.lifecycle.attachSid(kit.store.row(id), { sid, status: 'queued' });
      return { id, sid };
    }

    function undelivered(sid: string, errorCode: number) {
      return kit.lifecycle.applyStatusEvent({ messageSid: sid, status: 'undelivered', errorCode, errorMessage: 'failed', source: EventSource.Callback });
    }

    it('queues one new attempt WHATSAPP_RETRY_LATER_MS after a 30003, and none for the retry itself', async () => {
      const original = await sent();
      const before = Date.now();
      await undelivered(original.sid, 30003);
      await settle();
      const after = Date.now();

      const [retry] = retriesOf(original.id);
      expect(retry).toMatchObject({ status: MessageStatus.Queued, to: kit.store.row(original.id).to });
      const [job] = kit.store.outboxJobs();
      expect(job).toMatchObject({ jobId: `send-${retry.id}`, payload: { messageId: retry.id, from: SENDER } });
      const retryLaterMs = kit.config.whatsapp.retryLaterMs;
      expect(job.availableAt.getTime()).toBeGreaterThanOrEqual(before + retryLaterMs);
      expect(job.availableAt.getTime()).toBeLessThanOrEqual(after + retryLaterMs);

      // The retry fails the same way: no further automatic attempt.
      const retrySid = `SM${randomBytes(16).toString('hex')}`;
      await kit.lifecycle.attachSid(kit.store.row(retry.id), { sid: retrySid, status: 'queued' });
      await undelivered(retrySid, 30003);
      await settle();
      expect(retriesOf(retry.id)).toEqual([]);
      expect(kit.store.outboxJobs()).toHaveLength(1);
    });

    it('does not retry other failures automatically', async () => {
      const original = await sent();
      await undelivered(original.sid, 30008);
      await settle();

      expect(kit.store.row(original.id).status).toBe(MessageStatus.Undelivered);
      expect(retriesOf(original.id)).toEqual([]);
      expect(kit.store.outboxJobs()).toEqual([]);
    });
  });
});
