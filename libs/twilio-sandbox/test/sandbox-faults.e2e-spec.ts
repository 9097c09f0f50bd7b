import twilio from 'twilio';
import { SandboxFaults, SandboxRequestStats, TwilioSandbox } from '../twilio-sandbox';
import {
  ACCOUNT_SID,
  AUTH_TOKEN,
  SandboxRequestClient,
  WHATSAPP_FROM,
  controlRequest,
  postMessage,
  recordingLogger,
  sandboxClient,
  sleep,
  waitFor,
} from './sandbox-test-kit';

function send(client: twilio.Twilio, to: string) {
  return client.messages.create({ to, from: WHATSAPP_FROM, body: 'fault test' });
}

describe('TwilioSandbox faults and control API', () => {
  const sandbox = new TwilioSandbox({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, statusDelayMs: 10, logger: recordingLogger() });
  let baseUrl: string;
  let client: twilio.Twilio;

  beforeAll(async () => {
    baseUrl = await sandbox.start();
    client = sandboxClient(baseUrl);
  });

  afterEach(() => {
    sandbox.control.reset();
  });

  afterAll(async () => {
    await sandbox.stop();
  });

  describe('create faults', () => {
    it('failNext answers the next N creates with the given error, then recovers', async () => {
      sandbox.control.setFaults({ failNext: [{ httpStatus: 429, code: 20429, count: 2 }, { httpStatus: 503, code: 20503, message: 'Try later' }] });

      const errors: unknown[] = [];
      for (let index = 0; index < 3; index += 1) {
        errors.push(await send(client, 'whatsapp:+15551260001').catch((error: unknown) => error));
      }
      const ok = await send(client, 'whatsapp:+15551260001');

      expect(errors.map((error) => [(error as twilio.RestException).status, (error as twilio.RestException).code])).toEqual([
        [429, 20429],
        [429, 20429],
        [503, 20503],
      ]);
      expect((errors[0] as twilio.RestException).message).toBe('Too Many Requests');
      expect((errors[2] as twilio.RestException).message).toBe('Try later');
      expect(ok.status).toBe('queued');
      expect(sandbox.control.faults().failNext).toEqual([]);
      const outcomes = sandbox.control.receivedRequests().map((record) => [record.outcome, record.httpStatus, record.errorCode]);
      expect(outcomes).toEqual([
        ['fault', 429, 20429],
        ['fault', 429, 20429],
        ['fault', 503, 20503],
        ['created', 201, null],
      ]);
    });

    it('sends Retry-After on a 429 when asked to, from a failNext rule or on the probability’s 429s', async () => {
      sandbox.control.setFaults({ failNext: [{ httpStatus: 429, code: 20429, retryAfterSeconds: 3 }] });
      const post = () =>
        fetch(`${baseUrl}/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}` },
          body: new URLSearchParams({ To: 'whatsapp:+15551260003', From: WHATSAPP_FROM, Body: 'x' }),
        });
      const ruled = await post();
      expect([ruled.status, ruled.headers.get('retry-after')]).toEqual([429, '3']);

      sandbox.control.setFaults({ rateLimitProbability: 1, rateLimitRetryAfterSeconds: 2 });
      const rolled = await post();
      expect([rolled.status, rolled.headers.get('retry-after')]).toEqual([429, '2']);

      sandbox.control.setFaults({ rateLimitRetryAfterSeconds: null });
      const bare = await post();
      expect([bare.status, bare.headers.get('retry-after')]).toEqual([429, null]);
    });

    it.each([
      ['rateLimitProbability', 429, 20429, 'Too Many Requests'],
      ['serverErrorProbability', 500, 20500, 'Internal Server Error'],
      ['serviceUnavailableProbability', 503, 20503, 'Service Unavailable'],
    ] as const)('%s 1 answers %i / %i with Twilio’s error body', async (knob, httpStatus, code, message) => {
      sandbox.control.setFaults({ [knob]: 1 });
      const result = await postMessage(baseUrl, { To: 'whatsapp:+15551260002', From: WHATSAPP_FROM, Body: 'x' });
      expect(result).toEqual({
        status: httpStatus,
        body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status: httpStatus },
      });
      expect(sandbox.control.messages()).toHaveLength(0);
    });

    it('a timeout with no answer leaves the request hanging, but the message is created', async () => {
      sandbox.control.setFaults({ timeoutProbability: 1, timeoutAnswerAfterMs: null });
      const request = postMessage(
        baseUrl,
        { To: 'whatsapp:+15551260003', From: WHATSAPP_FROM, Body: 'lost answer' },
        { signal: AbortSignal.timeout(300) },
      );
      await expect(request).rejects.toThrow();
      const [record] = sandbox.control.receivedRequests();
      expect(record).toMatchObject({ outcome: 'timeout', httpStatus: null, sid: expect.stringMatching(/^SM/) });
      await waitFor(() => sandbox.control.message(record.sid!)?.resource.status === 'read', 'the unanswered message to be sent anyway');
    });

    it('a timeout with timeoutAnswerAfterMs answers late: the client gives up, the message exists anyway', async () => {
      sandbox.control.setFaults({ timeoutProbability: 1, timeoutAnswerAfterMs: 400 });
      const impatient = twilio(ACCOUNT_SID, AUTH_TOKEN, { httpClient: new SandboxRequestClient(baseUrl, { timeout: 100 }) });

      await expect(send(impatient, 'whatsapp:+15551260004')).rejects.toThrow(/timeout/i);
      const [record] = sandbox.control.receivedRequests();
      expect(record).toMatchObject({ outcome: 'timeout', httpStatus: null });
      await waitFor(() => sandbox.control.receivedRequests()[0].httpStatus === 201, 'the late answer');
      expect(sandbox.control.message(record.sid!)).toBeDefined();
    });

    it('adds latency to every Messages API request', async () => {
      sandbox.control.setFaults({ latencyMs: 150 });
      const startedAt = Date.now();
      const message = await send(client, 'whatsapp:+15551260005');
      await client.messages(message.sid).fetch();
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(280);
    });
  });

  describe('sender MPS limit', () => {
    it('keeps messages beyond the rate queued and sends them at the rate', async () => {
      sandbox.control.setFaults({ senderMps: 5 });
      const sids = await Promise.all(
        Array.from({ length: 12 }, (_, index) => send(client, `whatsapp:+155512610${String(index).padStart(2, '0')}`).then((m) => m.sid)),
      );

      await sleep(300);
      const queued = sids.filter((sid) => sandbox.control.message(sid)?.resource.status === 'queued');
      expect(queued.length).toBeGreaterThanOrEqual(5);

      await waitFor(() => sids.every((sid) => sandbox.control.message(sid)?.resource.date_sent !== null), 'all sent', 10_000);
      const stats = sandbox.control.requestStats();
      expect(stats.sent.bySender[WHATSAPP_FROM].maxPerSecond).toBeLessThanOrEqual(5);
      expect(stats.sent.bySender[WHATSAPP_FROM].perSecond.reduce((sum, entry) => sum + entry.count, 0)).toBe(12);
      expect(stats.sent.bySender[WHATSAPP_FROM].perSecond.length).toBeGreaterThanOrEqual(3);
      // FIFO: sent in the order they were accepted.
      const acceptedOrder = sandbox.control.receivedRequests().map((record) => record.sid!);
      const sentTimes = acceptedOrder.map((sid) =>
        Date.parse(sandbox.control.message(sid)!.statusHistory.find((entry) => entry.status === 'sent')!.at),
      );
      expect(sentTimes).toEqual([...sentTimes].sort((a, b) => a - b));
    }, 15_000);

    it('limits each sender separately', async () => {
      sandbox.control.setFaults({ senderMps: 2 });
      const first = await client.messages.create({ to: 'whatsapp:+15551262001', from: WHATSAPP_FROM, body: 'a' });
      const second = await client.messages.create({ to: 'whatsapp:+15551262002', from: 'whatsapp:+15551269999', body: 'b' });
      await waitFor(
        () => sandbox.control.message(first.sid)?.resource.date_sent && sandbox.control.message(second.sid)?.resource.date_sent,
        'both sent without waiting on each other',
        900,
      );
    });
  });

  describe('control API over HTTP', () => {
    it('reads, merges, validates and resets faults', async () => {
      const initial = await controlRequest<SandboxFaults>(baseUrl, 'GET', '/faults');
      expect(initial.body).toMatchObject({ rateLimitProbability: 0, senderMps: null, failNext: [], sessionWindow: false });

      const merged = await controlRequest<SandboxFaults>(baseUrl, 'PUT', '/faults', { rateLimitProbability: 0.5, senderMps: 10 });
      expect(merged.body).toMatchObject({ rateLimitProbability: 0.5, senderMps: 10, serverErrorProbability: 0 });
      const again = await controlRequest<SandboxFaults>(baseUrl, 'POST', '/faults', { latencyMs: 5 });
      expect(again.body).toMatchObject({ rateLimitProbability: 0.5, senderMps: 10, latencyMs: 5 });

      const invalid = await controlRequest<{ error: string }>(baseUrl, 'PUT', '/faults', { rateLimitProbability: 2 });
      expect(invalid.status).toBe(400);
      expect(invalid.body.error).toContain('rateLimitProbability');
      const typo = await controlRequest<{ error: string }>(baseUrl, 'PUT', '/faults', { rateLimitProbabilty: 1 });
      expect(typo.status).toBe(400);
      expect(typo.body.error).toContain('rateLimitProbabilty');
      const badRule = await controlRequest(baseUrl, 'PUT', '/faults', { failNext: [{ httpStatus: 200, code: 1 }] });
      expect(badRule.status).toBe(400);

      const reset = await controlRequest<SandboxFaults>(baseUrl, 'DELETE', '/faults');
      expect(reset.body).toEqual(initial.body);
    });

    it('lists every message as one JSON array, written a slice at a time', async () => {
      const empty = await fetch(`${baseUrl}/sandbox/control/messages`);
      expect(empty.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await empty.json()).toEqual([]);

      // More than two slices (200 messages each), so the joins between slices are in the text.
      const created: string[] = [];
      for (let i = 0; i < 450; i += 1) {
        const res = await postMessage(baseUrl, { To: `whatsapp:+1555126${String(5000 + i)}`, From: WHATSAPP_FROM, Body: `listing ${i} "quoted"` });
        expect(res.status).toBe(201);
        created.push(res.body.sid as string);
      }
      // Once every message has settled, the listing must be exactly the messages the sandbox holds.
      await waitFor(() => sandbox.control.messages().every((m) => m.resource.status === 'read'), 'every message read');
      const res = await fetch(`${baseUrl}/sandbox/control/messages`);
      expect(res.status).toBe(200);
      // Streamed, not built whole in memory first: no Content-Length, chunked.
      expect(res.headers.get('content-length')).toBeNull();
      expect(res.headers.get('transfer-encoding')).toBe('chunked');
      const listed = (await res.json()) as { sid: string; resource: { body: string } }[];
      expect(listed.map((m) => m.sid)).toEqual(created);
      expect(listed[449].resource.body).toBe('listing 449 "quoted"');
      expect(listed).toEqual(JSON.parse(JSON.stringify(sandbox.control.messages())));
    });

    it('failNext set over HTTP fails the next create deterministically', async () => {
      await controlRequest(baseUrl, 'PUT', '/faults', { failNext: [{ httpStatus: 429, code: 20429, count: 1 }] });
      const first = await postMessage(baseUrl, { To: 'whatsapp:+15551263001', From: WHATSAPP_FROM, Body: 'x' });
      const second = await postMessage(baseUrl, { To: 'whatsapp:+15551263001', From: WHATSAPP_FROM, Body: 'x' });
      expect([first.status, second.status]).toEqual([429, 201]);
    });

    it('reports what it received: totals, per number, per sender, per second', async () => {
      await send(client, 'whatsapp:+15551264001');
      await send(client, 'whatsapp:+15551264001');
      await send(client, 'whatsapp:+15551264002');
      await postMessage(baseUrl, { To: 'whatsapp:+15005550001', From: WHATSAPP_FROM, Body: 'x' });

      const { body } = await controlRequest<SandboxRequestStats>(baseUrl, 'GET', '/requests');
      expect(body.total).toBe(4);
      expect(body.byOutcome).toEqual({ created: 3, rejected: 1 });
      expect(body.byNumber).toEqual({ 'whatsapp:+15551264001': 2, 'whatsapp:+15551264002': 1, 'whatsapp:+15005550001': 1 });
      expect(body.bySender).toEqual({ [WHATSAPP_FROM]: 4 });
      expect(body.perSecond.reduce((sum, entry) => sum + entry.count, 0)).toBe(4);
      expect(body.maxPerSecond).toBeGreaterThanOrEqual(1);
      expect(body.perSecond[0].second).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      expect(body.records).toHaveLength(4);
      expect(body.records[3]).toMatchObject({ outcome: 'rejected', errorCode: 21211, sid: null });
    });

    it('lists messages and one message, and resets everything', async () => {
      const message = await send(client, 'whatsapp:+15551265001');
      const list = await controlRequest<{ sid: string }[]>(baseUrl, 'GET', '/messages');
      expect(list.body.map((entry) => entry.sid)).toEqual([message.sid]);
      const one = await controlRequest<{ sid: string; resource: { to: string } }>(baseUrl, 'GET', `/messages/${message.sid}`);
      expect(one.body.resource.to).toBe('whatsapp:+15551265001');
      expect((await controlRequest(baseUrl, 'GET', `/messages/SM${'1'.repeat(32)}`)).status).toBe(404);

      await controlRequest(baseUrl, 'PUT', '/faults', { sessionWindow: true });
      expect((await controlRequest(baseUrl, 'POST', '/reset')).status).toBe(200);
      expect(sandbox.control.messages()).toEqual([]);
      expect(sandbox.control.receivedRequests()).toEqual([]);
      expect(sandbox.control.faults().sessionWindow).toBe(false);
    });

    it('publishes the magic-number table', async () => {
      const { body } = await controlRequest<{ number: string; field: string; errorCode: number }[]>(baseUrl, 'GET', '/magic-numbers');
      expect(body).toEqual(expect.arrayContaining([expect.objectContaining({ number: '+15005550012', field: 'To', errorCode: 63016 })]));
    });

    it('sets and clears a number’s last inbound time', async () => {
      const set = await controlRequest<{ lastInbound: Record<string, string> }>(
        baseUrl,
        'PUT',
        '/numbers/+15551266001/last-inbound',
        { lastInboundAt: '2026-01-01T00:00:00.000Z' },
      );
      expect(set.body.lastInbound).toEqual({ '+15551266001': '2026-01-01T00:00:00.000Z' });
      const cleared = await controlRequest<{ lastInbound: Record<string, string> }>(
        baseUrl,
        'PUT',
        '/numbers/whatsapp:+15551266001/last-inbound',
        { lastInboundAt: null },
      );
      expect(cleared.body.lastInbound).toEqual({});
      expect((await controlRequest(baseUrl, 'PUT', '/numbers/+15551266001/last-inbound', { lastInboundAt: 'soon' })).status).toBe(400);
    });
  });
});
