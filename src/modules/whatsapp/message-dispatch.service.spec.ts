import { DomainEventType } from '../../common/events/domain-events';
import { twilioErrors } from '../twilio/testing/fake-twilio-messaging-client';
import { LOOKUP_PAGE_SIZE, TwilioMessagingClient } from '../twilio/twilio-messaging.client';
import { DEFAULT_STATUS_CALLBACK_OVERRIDES } from '../../config/connection-overrides';
import { TwilioErrorCode } from '../twilio/twilio-error-codes';
import { EventSource } from './lifecycle/message-lifecycle.service';
import { DispatchError, DispatchOutcome, WORKER_SLOT_WAIT_MS } from './message-dispatch.service';
import { MessageStatus } from './message-status';
import { phoneOf } from './phone-number';
import { createWhatsAppTestKit, newRecipient, SENDER, STATUS_CALLBACK_URL, WhatsAppTestKit } from './testing/whatsapp-test-kit';

const attempt = (n: number) => ({ attempt: n, maxAttempts: 5 });
/** Two Twilio timeouts (15 s by default) and 30 s of slack. */
const LEASE_MS = 60_000;
const TIMEOUT_MS = 15_000;
const SLACK_MS = 1_000;

async function dispatchError(promise: Promise<unknown>): Promise<DispatchError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof DispatchError)) throw new Error(`expected a DispatchError, got ${String(err)}`);
  return err;
}

describe('MessageDispatchService', () => {
  let kit: WhatsAppTestKit;

  beforeEach(() => {
    kit = createWhatsAppTestKit();
  });

  /** Time passes until nothing holds the message any more (a lease or Twilio's busy window ran out). */
  function leaseRunsOut(id: string): void {
    kit.store.patch(id, { sendingUntil: new Date(Date.now() - 1_000) });
  }

  it('sends the message once and attaches the SID Twilio gave it', async () => {
    const to = newRecipient();
    const id = await kit.queued({ to, body: 'Your order has shipped', mediaUrls: ['https://example.com/receipt.pdf'] });

    const result = await kit.dispatcher.dispatch(id, attempt(1));

    const [atTwilio] = kit.twilio.log;
    expect(result.outcome).toBe(DispatchOutcome.Sent);
    expect(result.snapshot?.sid).toBe(atTwilio.sid);
    expect(result.message).toMatchObject({ id, messageSid: atTwilio.sid, status: MessageStatus.Queued });
    expect(kit.twilio.calls).toEqual([
      { operation: 'wait', sender: SENDER, maxWaitMs: WORKER_SLOT_WAIT_MS },
      {
        operation: 'create',
        request: { to, from: SENDER, body: 'Your order has shipped', mediaUrls: ['https://example.com/receipt.pdf'], statusCallback: `${STATUS_CALLBACK_URL}#${DEFAULT_STATUS_CALLBACK_OVERRIDES}` },
      },
    ]);
    expect(kit.store.row(id)).toMatchObject({
      messageSid: atTwilio.sid,
      status: MessageStatus.Queued,
      attempts: 1,
      ambiguousAttemptAt: null,
      sendingUntil: null,
      errorCode: null,
    });
    expect(kit.store.allEvents().map((e) => [e.messageSid, e.status, e.source, e.messageId])).toEqual([[atTwilio.sid, 'queued', EventSource.Api, id]]);
  });

  it('sends through the Messaging Service when the row names one instead of a number', async () => {
    const service = `MG${'0123456789abcdef'.repeat(2)}`;
    const id = await kit.queued({ from: service });

    const result = await kit.dispatcher.dispatch(id, attempt(1));

    expect(kit.twilio.creates()).toEqual([expect.objectContaining({ messagingServiceSid: service })]);
    expect(kit.twilio.creates()[0].from).toBeUndefined();
    expect(result.snapshot?.status).toBe('accepted');
    expect(kit.store.row(id)).toMatchObject({ messageSid: result.snapshot?.sid, status: MessageStatus.Queued });
  });

  it('skips a message that already has its SID, without a second request to Twilio', async () => {
    const id = await kit.queued();
    const sent = await kit.dispatcher.dispatch(id, attempt(1));
    const callsAfterSend = kit.twilio.calls.length;

    const again = await kit.dispatcher.dispatch(id, attempt(1));

    expect(again.outcome).toBe(DispatchOutcome.Skipped);
    expect(again.message.messageSid).toBe(sent.message.messageSid);
    expect(kit.twilio.calls).toHaveLength(callsAfterSend);
    expect(kit.twilio.creates()).toHaveLength(1);
    expect(kit.store.row(id).attempts).toBe(1);
  });

  it('defers a scheduled message to its time, and sends it once it is due, recording when it was queued', async () => {
    const scheduledAt = new Date(Date.now() + 60_000);
    const id = await kit.queued({ status: MessageStatus.Scheduled, queuedAt: null, scheduledAt });

    const early = await kit.dispatcher.dispatch(id, attempt(1));
    expect(early.outcome).toBe(DispatchOutcome.Deferred);
    expect(early.retryAt).toEqual(scheduledAt);
    expect(kit.twilio.calls).toEqual([]);
    expect(kit.store.row(id)).toMatchObject({ status: MessageStatus.Scheduled, attempts: 0, queuedAt: null });

    kit.store.patch(id, { scheduledAt: new Date(Date.now() - 1) });
    const due = await kit.dispatcher.dispatch(id, attempt(1));
    expect(due.outcome).toBe(DispatchOutcome.Sent);
    expect(kit.twilio.creates()).toHaveLength(1);
    expect(kit.store.row(id)).toMatchObject({ status: MessageStatus.Queued, attempts: 1 });
    expect(kit.store.row(id).queuedAt).toBeInstanceOf(Date);
  });

  it('skips a canceled message without calling Twilio', async () => {
    const id = await kit.queued();
    await kit.store.messages.transaction((tx) => kit.store.messages.cancel(tx, id));

    const result = await kit.dispatcher.dispatch(id, attempt(1));

    expect(result.outcome).toBe(DispatchOutcome.Skipped);
    expect(kit.twilio.calls).toEqual([]);
    expect(kit.store.row(id)).toMatchObject({ status: MessageStatus.Canceled, attempts: 0 });
  });

  it('defers a message another attempt holds until that lease ends', async () => {
    const id = await kit.queued();
    const other = await kit.store.messages.claim(id, LEASE_MS);

    const result = await kit.dispatcher.dispatch(id, attempt(1));

    expect(result.outcome).toBe(DispatchOutcome.Deferred);
    expect(result.retryAt).toEqual(other!.message.sendingUntil);
    expect(kit.twilio.calls).toEqual([]);
    expect(kit.store.row(id).attempts).toBe(1);
  });

  it('does not send again an earlier attempt that reached Twilio unanswered: it finds it and attaches its SID', async () => {
    const id = await kit.queued();
    kit.twilio.loseNextCreateAnswer();
    const lost = await dispatchError(kit.dispatcher.dispatch(id, attempt(1)));
    expect(lost).toMatchObject({ ambiguous: true, final: false });
    leaseRunsOut(id);

    const result = await kit.dispatcher.dispatch(id, attempt(2));

    const [atTwilio] = kit.twilio.log;
    expect(result.outcome).toBe(DispatchOutcome.Recovered);
    expect(result.snapshot?.sid).toBe(atTwilio.sid);
    expect(kit.twilio.operations()).toEqual(['wait', 'create', 'list']);
    expect(kit.twilio.calls[2]).toEqual({ operation: 'list', to: kit.store.row(id).to, from: SENDER });
    expect(kit.store.row(id)).toMatchObject({ messageSid: atTwilio.sid, status: MessageStatus.Queued, attempts: 2, ambiguousAttemptAt: null, sendingUntil: null });
  });

  it('finds an unanswered attempt behind more newer messages to the number than one page holds', async () => {
    const id = await kit.queued({ body: 'the one that timed out' });
    kit.twilio.loseNextCreateAnswer();
    await dispatchError(kit.dispatcher.dispatch(id, attempt(1)));
    const [lost] = kit.twilio.log;
    for (let i = 0; i < 2 * LOOKUP_PAGE_SIZE + 5; i++) kit.twilio.addToLog({ to: lost.to, from: SENDER, body: `later ${i}` });
    leaseRunsOut(id);

    const result = await kit.dispatcher.dispatch(id, attempt(2));

    expect(result.outcome).toBe(DispatchOutcome.Recovered);
    expect(kit.store.row(id).messageSid).toBe(lost.sid);
    expect(kit.twilio.creates()).toHaveLength(1);
  });

  it('does not decide when the look-up could not page back to the attempt: queued with a note, not sent again', async () => {
    const id = await kit.queued({ body: 'buried' });
    kit.twilio.dropNextCreate();
    await dispatchError(kit.dispatcher.dispatch(id, attempt(1)));
    const to = kit.store.row(id).to;
    kit.twilio.lookupMaxPages = 1;
    for (let i = 0; i < LOOKUP_PAGE_SIZE + 1; i++) kit.twilio.addToLog({ to, from: SENDER, body: `later ${i}` });
    leaseRunsOut(id);

    const result = await kit.dispatcher.dispatch(id, attempt(2));

    expect(result.outcome).toBe(DispatchOutcome.Undecided);
    expect(kit.store.row(id)).toMatchObject({ status: MessageStatus.Queued, messageSid: null, errorMessage: expect.stringContaining('more messages to') });
    expect(kit.twilio.creates()).toHaveLength(1);
  });

  it('leaves a timed-out send queued and marked, busy until Twilio must be done with it, then looks before sending again', async () => {
    const id = await kit.queued();
    kit.twilio.dropNextCreate();
    const before = Date.now();
    const timedOut = await dispatchError(kit.dispatcher.dispatch(id, attempt(1)));
    const after = Date.now();

    expect(timedOut).toMatchObject({ ambiguous: true, final: false });
    const row = kit.store.row(id);
    expect(row).toMatchObject({ status: MessageStatus.Queued, messageSid: null, errorCode: null, errorMessage: 'timeout of 15000ms exceeded', failedAt: null });
    // Marked from the claim; the attempt's time is when its request left.
    expect(row.ambiguousAttemptAt!.getTime()).toBeLessThanOrEqual(row.lastAttemptAt!.getTime());
    expect(row.ambiguousAttemptAt!.getTime()).toBeGreaterThanOrEqual(before);
    expect(row.sendingUntil!.getTime()).toBeGreaterThanOrEqual(before + TIMEOUT_MS - SLACK_MS);
    expect(row.sendingUntil!.getTime()).toBeLessThanOrEqual(after + TIMEOUT_MS + SLACK_MS);

    const tooEarly = await kit.dispatcher.dispatch(id, attempt(2));
    expect(tooEarly).toMatchObject({ outcome: DispatchOutcome.Deferred, retryAt: row.sendingUntil });
    expect(kit.twilio.operations()).toEqual(['wait', 'create']);

    leaseRunsOut(id);
    const sent = await kit.dispatcher.dispatch(id, attempt(2));
    expect(sent.outcome).toBe(DispatchOutcome.Sent);
    expect(kit.twilio.operations()).toEqual(['wait', 'create', 'list', 'wait', 'create']);
    expect(kit.store.row(id)).toMatchObject({ messageSid: sent.snapshot?.sid, ambiguousAttemptAt: null, sendingUntil: null });
  });

  it('fails a message whose recipient opted out since it was accepted, without calling Twilio', async () => {
    const to = newRecipient();
    const id = await kit.queued({ to });
    kit.contacts.optOut(phoneOf(to));

    const err = await dispatchError(kit.dispatcher.dispatch(id, attempt(1)));

    expect(err).toMatchObject({ final: true, ambiguous: false });
    expect(err.cause.twilioCode).toBe(TwilioErrorCode.UnsubscribedRecipient);
    expect(kit.twilio.calls).toEqual([]);
    const row = kit.store.row(id);
    expect(row).toMatchObject({ status: MessageStatus.Failed, errorCode: 21610, ambiguousAttemptAt: null, sendingUntil: null });
    expect(row.failedAt).toBeInstanceOf(Date);
    expect(kit.published).toEqual([
      expect.objectContaining({ type: DomainEventType.MessageStatusApplied, messageId: id, previousStatus: MessageStatus.Queued, status: MessageStatus.Failed, statusChanged: true, errorCode: 21610 }),
    ]);
  });

  it('finds the opt-out of a Mexican or Brazilian recipient whose STOP came from the other spelling of the number', async () => {
    // WhatsApp writes from +521 (Mexico) and without the ninth digit (older Brazilian mobiles).
    const mexican = await kit.queued({ to: 'whatsapp:+525512345678' });
    kit.contacts.optOut('+5215512345678');
    const brazilian = await kit.queued({ to: 'whatsapp:+5511987654321' });
    kit.contacts.optOut('+551187654321');
    const other = await kit.queued({ to: 'whatsapp:+5511987654322' });

    for (const id of [mexican, brazilian]) {
      const err = await dispatchError(kit.dispatcher.dispatch(id, attempt(1)));
      expect(err.cause.twilioCode).toBe(TwilioErrorCode.UnsubscribedRecipient);
      expect(kit.store.row(id)).toMatchObject({ status: MessageStatus.Failed, errorCode: 21610 });
    }
    expect((await kit.dispatcher.dispatch(other, attempt(1))).outcome).toBe(DispatchOutcome.Sent);
    expect(kit.twilio.creates().map((c) => c.to)).toEqual(['whatsapp:+5511987654322']);
  });

  describe('for the sender’s rate', () => {
    it('sends nothing when the sender’s slot is further away than a worker waits, gives the claim back and names the message’s turn', async () => {
      const id = await kit.queued();
      kit.twilio.nextSlotInMs = WORKER_SLOT_WAIT_MS + 1;
      kit.twilio.nextTurnInMs = 4_000;
      const before = Date.now();

      const result = await kit.dispatcher.dispatch(id, attempt(1));

      expect(result.outcome).toBe(DispatchOutcome.RateLimited);
      expect(result.retryAt!.getTime()).toBeGreaterThanOrEqual(before + 4_000);
      expect(kit.twilio.operations()).toEqual(['wait', 'turn']);
      expect(kit.store.row(id)).toMatchObject({ status: MessageStatus.Queued, attempts: 0, sendingUntil: null, ambiguousAttemptAt: null, errorCode: null });
    });

    it('waits longer for the slot when the caller allows it (an immediate send)', async () => {
      const id = await kit.queued();
      kit.twilio.nextSlotInMs = 1_500;

      const result = await kit.dispatcher.dispatch(id, { ...attempt(1), maxSlotWaitMs: 2_000 });

      expect(result.outcome).toBe(DispatchOutcome.Sent);
      expect(kit.twilio.calls[0]).toEqual({ operation: 'wait', sender: SENDER, maxWaitMs: 2_000 });
    });

    it('takes a 429 as no attempt: the message keeps Twilio’s answer as its last error and waits for the turn Twilio’s pause gives it', async () => {
      const id = await kit.queued();
      kit.twilio.nextTurnInMs = 700;
      kit.twilio.refuseNextCreate(twilioErrors.answered(20429, 429, 'Too Many Requests'));
      const before = Date.now();

      const result = await kit.dispatcher.dispatch(id, attempt(5));

      expect(result.outcome).toBe(DispatchOutcome.RateLimited);
      expect(result.retryAt!.getTime()).toBeGreaterThanOrEqual(before + 700);
      expect(kit.store.row(id)).toMatchObject({ status: MessageStatus.Queued, attempts: 0, sendingUntil: null, ambiguousAttemptAt: null, errorCode: 20429, errorMessage: 'Too Many Requests', failedAt: null });
      expect(kit.published).toEqual([]);

      const sent = await kit.dispatcher.dispatch(id, attempt(5));
      expect(sent.outcome).toBe(DispatchOutcome.Sent);
      expect(kit.store.row(id).attempts).toBe(1);
    });

    it('clears the mark of an unanswered attempt when the look-up found nothing and the send was then refused for the rate', async () => {
      const id = await kit.queued();
      kit.twilio.dropNextCreate();
      await dispatchError(kit.dispatcher.dispatch(id, attempt(1)));
      leaseRunsOut(id);
      kit.twilio.refuseNextCreate(twilioErrors.answered(20429, 429, 'Too Many Requests'));

      const result = await kit.dispatcher.dispatch(id, attempt(2));

      expect(result.outcome).toBe(DispatchOutcome.RateLimited);
      expect(kit.twilio.operations()).toEqual(['wait', 'create', 'list', 'wait', 'create']);
      expect(kit.store.row(id)).toMatchObject({ attempts: 1, ambiguousAttemptAt: null, sendingUntil: null });
    });
  });

  it('fails the message at once on a permanent error, with Twilio’s code', async () => {
    const id = await kit.queued();
    kit.twilio.refuseNextCreate(twilioErrors.answered(21211, 400, "The 'To' number is not a valid phone number."));

    const err = await dispatchError(kit.dispatcher.dispatch(id, attempt(1)));

    expect(err).toMatchObject({ final: true, ambiguous: false, message: "21211: The 'To' number is not a valid phone number." });
    expect(kit.store.row(id)).toMatchObject({ status: MessageStatus.Failed, errorCode: 21211, errorMessage: "The 'To' number is not a valid phone number.", messageSid: null, sendingUntil: null });
    expect(kit.published.map((e) => [e.status, e.errorCode])).toEqual([[MessageStatus.Failed, 21211]]);
  });

  it('keeps a message queued on a retryable error before the last attempt, free for the next attempt at once', async () => {
    const id = await kit.queued();
    kit.twilio.refuseNextCreate(twilioErrors.answered(20503, 503, 'Service Unavailable'));

    const err = await dispatchError(kit.dispatcher.dispatch(id, attempt(1)));

    expect(err).toMatchObject({ final: false, ambiguous: false });
    expect(kit.store.row(id)).toMatchObject({ status: MessageStatus.Queued, errorCode: 20503, ambiguousAttemptAt: null, sendingUntil: null, failedAt: null });
    expect(kit.published).toEqual([]);

    // Twilio refused it, so the next attempt sends without looking it up.
    await kit.dispatcher.dispatch(id, attempt(2));
    expect(kit.twilio.operations()).toEqual(['wait', 'create', 'wait', 'create']);
  });

  it('retries a send that never reached Twilio (connection refused) without looking it up first, and sends it once', async () => {
    const id = await kit.queued();
    kit.twilio.dropNextCreate(TwilioMessagingClient.toRequestError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 10.0.0.1:443' }));

    const err = await dispatchError(kit.dispatcher.dispatch(id, attempt(1)));

    expect(err).toMatchObject({ final: false, ambiguous: false });
    expect(kit.store.row(id)).toMatchObject({ status: MessageStatus.Queued, messageSid: null, ambiguousAttemptAt: null, sendingUntil: null, failedAt: null });

    const sent = await kit.dispatcher.dispatch(id, attempt(2));
    expect(sent.outcome).toBe(DispatchOutcome.Sent);
    // Nothing can be at Twilio, so no look-up: the second create is the only message there.
    expect(kit.twilio.operations()).toEqual(['wait', 'create', 'wait', 'create']);
    expect(kit.twilio.log).toHaveLength(1);
  });

  it('ends with the last attempt: a 503 fails the message, a 500 (maybe created) leaves it queued for reconciliation', async () => {
    const refused = await kit.queued();
    kit.twilio.refuseNextCreate(twilioErrors.answered(20503, 503, 'Service Unavailable'));
    expect(await dispatchError(kit.dispatcher.dispatch(refused, attempt(5)))).toMatchObject({ final: true, ambiguous: false });
    expect(kit.store.row(refused)).toMatchObject({ status: MessageStatus.Failed, errorCode: 20503 });

    const maybeCreated = await kit.queued();
    kit.twilio.refuseNextCreate(twilioErrors.answered(20500, 500, 'Internal Server Error'));
    expect(await dispatchError(kit.dispatcher.dispatch(maybeCreated, attempt(5)))).toMatchObject({ final: true, ambiguous: true });
    const row = kit.store.row(maybeCreated);
    expect(row).toMatchObject({ status: MessageStatus.Queued, errorCode: 20500, failedAt: null, sendingUntil: null });
    expect(row.ambiguousAttemptAt).not.toBeNull();

    expect(kit.published.map((e) => [e.messageId, e.status])).toEqual([[refused, MessageStatus.Failed]]);
  });

  it('frees the lease on its own failure but keeps the mark, so the next attempt finds what Twilio accepted', async () => {
    const id = await kit.queued();
    const dbDown = new Error('Connection terminated unexpectedly');
    kit.store.failNext('attachSid', dbDown);

    await expect(kit.dispatcher.dispatch(id, attempt(1))).rejects.toBe(dbDown);

    const row = kit.store.row(id);
    expect(row).toMatchObject({ status: MessageStatus.Queued, messageSid: null, sendingUntil: null, attempts: 1 });
    expect(row.ambiguousAttemptAt).not.toBeNull();
    expect(kit.store.allEvents()).toEqual([]);

    const result = await kit.dispatcher.dispatch(id, attempt(2));
    expect(result.outcome).toBe(DispatchOutcome.Recovered);
    expect(kit.twilio.creates()).toHaveLength(1);
    expect(kit.store.row(id).messageSid).toBe(kit.twilio.log[0].sid);
  });

  describe('after a wait for the sender’s rate limit', () => {
    // Only the clock is faked: the lifecycle's batches still run on setImmediate.
    beforeEach(() => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'queueMicrotask', 'hrtime', 'performance'] });
    });
    afterEach(() => {
      jest.useRealTimers();
    });

    /** The rate-limit wait lasts `ms`, during which `meanwhile` happens. */
    function waitLasts(ms: number, meanwhile: () => Promise<void> = async () => undefined): void {
      kit.twilio.duringWaitForSlot = async () => {
        kit.twilio.duringWaitForSlot = undefined;
        jest.setSystemTime(Date.now() + ms);
        await meanwhile();
      };
    }

    it('sends under the claim’s lease after a short wait, without renewing it', async () => {
      const id = await kit.queued();
      const claimedAt = Date.now();
      waitLasts(5_000);
      let leaseWhenSent: Date | null = null;
      kit.twilio.onCreate = async () => {
        leaseWhenSent = kit.store.row(id).sendingUntil;
      };

      const result = await kit.dispatcher.dispatch(id, attempt(1));

      expect(result.outcome).toBe(DispatchOutcome.Sent);
      expect(leaseWhenSent).toEqual(new Date(claimedAt + LEASE_MS));
      expect(kit.store.row(id).lastAttemptAt).toEqual(new Date(claimedAt));
    });

    it('renews the lease when the request leaves after a long wait that outlasted it', async () => {
      const id = await kit.queued();
      const claimedAt = Date.now();
      waitLasts(LEASE_MS + 5_000, async () => leaseRunsOut(id));
      let leaseWhenSent: Date | null = null;
      kit.twilio.onCreate = async () => {
        leaseWhenSent = kit.store.row(id).sendingUntil;
      };

      const result = await kit.dispatcher.dispatch(id, attempt(1));

      expect(result.outcome).toBe(DispatchOutcome.Sent);
      expect(leaseWhenSent).toEqual(new Date(claimedAt + LEASE_MS + 5_000 + LEASE_MS));
    });

    it('skips a message another attempt took and sent during its wait', async () => {
      const id = await kit.queued();
      let other: DispatchOutcome | undefined;
      waitLasts(LEASE_MS + 5_000, async () => {
        leaseRunsOut(id);
        other = (await kit.dispatcher.dispatch(id, attempt(1))).outcome;
      });

      const result = await kit.dispatcher.dispatch(id, attempt(1));

      expect(other).toBe(DispatchOutcome.Sent);
      expect(result.outcome).toBe(DispatchOutcome.Skipped);
      expect(kit.twilio.creates()).toHaveLength(1);
      expect(kit.store.row(id)).toMatchObject({ messageSid: kit.twilio.log[0].sid, attempts: 2 });
    });

    it('defers a message another attempt took during its wait and still holds', async () => {
      const id = await kit.queued();
      let otherLease: Date | null = null;
      waitLasts(LEASE_MS + 5_000, async () => {
        leaseRunsOut(id);
        otherLease = (await kit.store.messages.claim(id, LEASE_MS))!.message.sendingUntil;
      });

      const result = await kit.dispatcher.dispatch(id, attempt(1));

      expect(result).toMatchObject({ outcome: DispatchOutcome.Deferred, retryAt: otherLease });
      expect(kit.twilio.creates()).toEqual([]);
    });
  });

  it('leaves look-alike template sends queued with a note when which one reached Twilio cannot be told', async () => {
    const to = newRecipient();
    const template = { to, body: null, contentSid: 'HX0123456789abcdef0123456789abcdef' };
    const first = await kit.queued({ ...template, contentVariables: { '1': 'Ada' } });
    const second = await kit.queued({ ...template, contentVariables: { '1': 'Grace' } });
    kit.twilio.loseNextCreateAnswer();
    await dispatchError(kit.dispatcher.dispatch(first, attempt(1)));
    kit.twilio.dropNextCreate();
    await dispatchError(kit.dispatcher.dispatch(second, attempt(1)));
    leaseRunsOut(first);
    leaseRunsOut(second);

    const result = await kit.dispatcher.dispatch(first, attempt(2));

    expect(result.outcome).toBe(DispatchOutcome.Undecided);
    expect(result.message.errorMessage).toContain(`Cannot tell whether message ${first} reached Twilio: 2 unanswered messages`);
    const row = kit.store.row(first);
    expect(row).toMatchObject({ status: MessageStatus.Queued, messageSid: null, sendingUntil: null, errorMessage: result.message.errorMessage });
    expect(row.ambiguousAttemptAt).not.toBeNull();
    expect(kit.twilio.creates()).toHaveLength(2);

    // Not sent blindly later either.
    expect((await kit.dispatcher.dispatch(first, attempt(3))).outcome).toBe(DispatchOutcome.Undecided);
    expect(kit.twilio.creates()).toHaveLength(2);
  });

  it('pairs identical unanswered texts with Twilio’s messages in order, and sends the one Twilio does not have', async () => {
    const to = newRecipient();
    const first = await kit.queued({ to, body: 'Your code is 1234' });
    const second = await kit.queued({ to, body: 'Your code is 1234' });
    kit.twilio.loseNextCreateAnswer();
    await dispatchError(kit.dispatcher.dispatch(first, attempt(1)));
    kit.twilio.dropNextCreate();
    await dispatchError(kit.dispatcher.dispatch(second, attempt(1)));
    leaseRunsOut(first);
    leaseRunsOut(second);

    expect((await kit.dispatcher.dispatch(first, attempt(2))).outcome).toBe(DispatchOutcome.Recovered);
    expect((await kit.dispatcher.dispatch(second, attempt(2))).outcome).toBe(DispatchOutcome.Sent);

    expect(kit.twilio.creates()).toHaveLength(3);
    expect(new Set([kit.store.row(first).messageSid, kit.store.row(second).messageSid])).toEqual(new Set(kit.twilio.log.map((m) => m.sid)));
  });

  it('does not take an older message with the same text, or one of our other messages, for the unanswered attempt', async () => {
    const to = newRecipient();
    const body = 'Your code is 1234';
    kit.twilio.addToLog({ to, from: SENDER, body, dateCreated: new Date(Date.now() - 60 * 60_000) });
    const id = await kit.queued({ to, body });
    kit.twilio.dropNextCreate();
    await dispatchError(kit.dispatcher.dispatch(id, attempt(1)));
    // Another of our messages with the same text went through meanwhile.
    const other = await kit.queued({ to, body });
    const otherSent = await kit.dispatcher.dispatch(other, attempt(1));
    leaseRunsOut(id);

    const result = await kit.dispatcher.dispatch(id, attempt(2));

    expect(result.outcome).toBe(DispatchOutcome.Sent);
    expect(result.snapshot?.sid).not.toBe(otherSent.snapshot?.sid);
    expect(kit.twilio.log).toHaveLength(3);
  });

  it('keeps looking for an earlier unanswered attempt when the look-up itself is refused, instead of sending blind next time', async () => {
    const id = await kit.queued();
    kit.twilio.loseNextCreateAnswer();
    await dispatchError(kit.dispatcher.dispatch(id, attempt(1)));
    leaseRunsOut(id);
    kit.twilio.failNextList(twilioErrors.answered(20429, 429, 'Too Many Requests'));

    const err = await dispatchError(kit.dispatcher.dispatch(id, attempt(2)));

    expect(err.final).toBe(false);
    const row = kit.store.row(id);
    expect(row).toMatchObject({ status: MessageStatus.Queued, messageSid: null, failedAt: null });
    expect(row.ambiguousAttemptAt).not.toBeNull();

    leaseRunsOut(id);
    const result = await kit.dispatcher.dispatch(id, attempt(3));
    expect(result.outcome).toBe(DispatchOutcome.Recovered);
    expect(kit.twilio.creates()).toHaveLength(1);
  });

  it('does not fail a message on a guess when the look-up fails on the last attempt: it stays queued for reconciliation', async () => {
    const id = await kit.queued();
    kit.twilio.loseNextCreateAnswer();
    await dispatchError(kit.dispatcher.dispatch(id, attempt(4)));
    leaseRunsOut(id);
    kit.twilio.failNextList(twilioErrors.answered(20003, 401, 'Authenticate'));

    const err = await dispatchError(kit.dispatcher.dispatch(id, attempt(5)));

    expect(err).toMatchObject({ final: true, ambiguous: true });
    const row = kit.store.row(id);
    expect(row).toMatchObject({ status: MessageStatus.Queued, failedAt: null });
    expect(row.ambiguousAttemptAt).not.toBeNull();
    expect(kit.published).toEqual([]);
    expect(kit.twilio.creates()).toHaveLength(1);
  });
});
