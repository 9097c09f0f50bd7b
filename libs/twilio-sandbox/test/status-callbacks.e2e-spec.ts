import http from 'node:http';
import { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { SandboxTemplateSid } from '../content-templates';
import { TwilioSandbox } from '../twilio-sandbox';
import {
  ACCOUNT_SID,
  AUTH_TOKEN,
  MESSAGING_SERVICE_SID,
  WHATSAPP_FROM,
  WebhookReceiver,
  controlRequest,
  recordingLogger,
  sandboxClient,
  sleep,
  waitFor,
} from './sandbox-test-kit';

const XE_SID = /^XE[0-9a-f]{32}$/;
const RAW_DLR_DONE_DATE = /^\d{10}$/;

describe('TwilioSandbox status callbacks and inbound webhooks', () => {
  const receiver = new WebhookReceiver();
  const logger = recordingLogger();
  let sandbox: TwilioSandbox;
  let client: twilio.Twilio;
  let baseUrl: string;

  beforeAll(async () => {
    await receiver.start();
    sandbox = new TwilioSandbox({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      statusDelayMs: 15,
      inboundWebhookUrl: receiver.url('/webhooks/inbound'),
      logger,
    });
    baseUrl = await sandbox.start();
    client = sandboxClient(baseUrl);
  });

  afterEach(() => {
    sandbox.control.resetFaults();
    receiver.respond = () => 200;
  });

  afterAll(async () => {
    await sandbox.stop();
    await receiver.stop();
  });

  async function send(to: string, statusCallback: string, extra: Record<string, string> = {}): Promise<string> {
    const message = await client.messages.create({ to, from: WHATSAPP_FROM, body: 'callback test', statusCallback, ...extra });
    return message.sid;
  }

  it('posts queued, sent, delivered, read in order with Twilio’s WhatsApp fields, each validly signed', async () => {
    const callbackUrl = receiver.url('/webhooks/status?tenant=a');
    const sid = await send('whatsapp:+15551250001', callbackUrl);

    await waitFor(() => receiver.hitsFor(sid).length === 4, 'four callbacks');
    const hits = receiver.hitsFor(sid);
    expect(hits.map((hit) => hit.params.MessageStatus)).toEqual(['queued', 'sent', 'delivered', 'read']);
    for (const hit of hits) {
      expect(hit.path).toBe('/webhooks/status?tenant=a');
      expect(hit.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(hit.headers['user-agent']).toBe('TwilioProxy/1.1');
      const signature = hit.headers['x-twilio-signature'] as string;
      expect(twilio.validateRequest(AUTH_TOKEN, signature, callbackUrl, hit.params)).toBe(true);
      expect(twilio.validateRequest('some-other-token', signature, callbackUrl, hit.params)).toBe(false);
      expect(hit.params).toMatchObject({
        MessageSid: sid,
        SmsSid: sid,
        SmsStatus: hit.params.MessageStatus,
        AccountSid: ACCOUNT_SID,
        ApiVersion: '2010-04-01',
        From: WHATSAPP_FROM,
        To: 'whatsapp:+15551250001',
        ChannelPrefix: 'whatsapp',
        ChannelToAddress: '+15551250001',
        StructuredMessage: 'false',
      });
      expect(hit.params.ChannelInstallSid).toMatch(XE_SID);
      expect(hit.params.ErrorCode).toBeUndefined();
    }
    const [queued, sent, delivered, read] = hits.map((hit) => hit.params);
    expect(queued.EventType).toBeUndefined();
    expect(sent.EventType).toBeUndefined();
    expect(delivered.EventType).toBe('DELIVERED');
    expect(read.EventType).toBe('READ');
    expect(delivered.RawDlrDoneDate).toMatch(RAW_DLR_DONE_DATE);
    expect(read.RawDlrDoneDate).toBeUndefined();
    const tokens = new Set(hits.map((hit) => hit.headers['i-twilio-idempotency-token']));
    expect(tokens.size).toBe(4);
  });

  it('keeps its connections to the receiver alive: 20 messages, 80 callbacks, a few connections', async () => {
    const before = { connections: receiver.connections, hits: receiver.received.length };
    const sids = await Promise.all(Array.from({ length: 20 }, (_, i) => send(`whatsapp:+1555125${String(1100 + i)}`, receiver.url('/webhooks/status'))));
    await waitFor(() => sids.every((sid) => receiver.hitsFor(sid).length === 4), 'four callbacks per message');
    expect(receiver.received.length - before.hits).toBe(80);
    // Callbacks of concurrent messages may open a few in parallel; one per callback would be 80.
    expect(receiver.connections - before.connections).toBeLessThanOrEqual(20);
  });

  it('names the Messaging Service and the sender it picked', async () => {
    const message = await client.messages.create({
      to: 'whatsapp:+15551250002',
      messagingServiceSid: MESSAGING_SERVICE_SID,
      body: 'via service',
      statusCallback: receiver.url('/webhooks/status'),
    });

    await waitFor(() => receiver.hitsFor(message.sid).length === 4, 'four callbacks');
    const first = receiver.hitsFor(message.sid)[0].params;
    expect(first).toMatchObject({ MessageStatus: 'queued', MessagingServiceSid: MESSAGING_SERVICE_SID, From: WHATSAPP_FROM });
  });

  describe('failures after acceptance', () => {
    const cases = [
      { number: '+15005550010', status: 'undelivered', code: '30003', path: ['queued', 'sent', 'undelivered'] },
      { number: '+15005550011', status: 'failed', code: '30008', path: ['queued', 'failed'] },
      { number: '+15005550012', status: 'failed', code: '63016', path: ['queued', 'failed'] },
      { number: '+15005550013', status: 'failed', code: '63024', path: ['queued', 'failed'] },
      { number: '+15005550014', status: 'undelivered', code: '30005', path: ['queued', 'sent', 'undelivered'] },
    ];

    it.each(cases)('magic To $number ends $status with $code', async ({ number, status, code, path }) => {
      const sid = await send(`whatsapp:${number}`, receiver.url('/webhooks/status'));
      await waitFor(() => receiver.hitsFor(sid).length === path.length, `${path.length} callbacks`);
      await sleep(60);
      expect(receiver.statusesFor(sid)).toEqual(path);
      const last = receiver.hitsFor(sid).at(-1)!.params;
      expect(last).toMatchObject({ MessageStatus: status, ErrorCode: code });
      expect(last.ErrorMessage).toEqual(expect.any(String));
      if (status === 'undelivered') {
        expect(last.RawDlrDoneDate).toMatch(RAW_DLR_DONE_DATE);
      }
      const resource = (await client.messages(sid).fetch());
      expect({ status: resource.status, errorCode: resource.errorCode }).toEqual({ status, errorCode: Number(code) });
    });

    it('applies a number fate set in-process, and `delivered` as a final stage', async () => {
      sandbox.delivery.setNumberFate('whatsapp:+15551250003', { status: 'failed', errorCode: 63032 });
      sandbox.delivery.setNumberFate('+15551250004', { status: 'delivered' });
      const failed = await send('whatsapp:+15551250003', receiver.url('/webhooks/status'));
      const delivered = await send('whatsapp:+15551250004', receiver.url('/webhooks/status'));

      await waitFor(() => receiver.hitsFor(failed).length === 2 && receiver.hitsFor(delivered).length === 3, 'final callbacks');
      await sleep(60);
      expect(receiver.statusesFor(failed)).toEqual(['queued', 'failed']);
      expect(receiver.hitsFor(failed)[1].params.ErrorCode).toBe('63032');
      expect(receiver.statusesFor(delivered)).toEqual(['queued', 'sent', 'delivered']);
      sandbox.delivery.clearNumberFate('+15551250003');
      sandbox.delivery.clearNumberFate('+15551250004');
    });

    it('applies a number fate set through the control API', async () => {
      const set = await controlRequest(baseUrl, 'PUT', '/numbers/whatsapp:+15551250005/fate', { status: 'undelivered', errorCode: 30006 });
      expect(set.status).toBe(200);
      const sid = await send('whatsapp:+15551250005', receiver.url('/webhooks/status'));
      await waitFor(() => receiver.hitsFor(sid).length === 3, 'three callbacks');
      expect(receiver.hitsFor(sid)[2].params).toMatchObject({ MessageStatus: 'undelivered', ErrorCode: '30006' });
      expect((await controlRequest(baseUrl, 'DELETE', '/numbers/+15551250005/fate')).status).toBe(200);
      const bad = await controlRequest<{ error: string }>(baseUrl, 'PUT', '/numbers/+15551250005/fate', { status: 'failed' });
      expect(bad.status).toBe(400);
      expect(bad.body.error).toContain('errorCode');
    });
  });

  describe('forced statuses', () => {
    it('forces a status through the control API, fires its callback and ends the lifecycle', async () => {
      sandbox.delivery.setNumberFate('+15551250006', { status: 'sent' });
      const sid = await send('whatsapp:+15551250006', receiver.url('/webhooks/status'));
      await waitFor(() => receiver.hitsFor(sid).length === 2, 'queued and sent');

      const forced = await controlRequest<{ resource: { status: string; error_code: number } }>(
        baseUrl,
        'POST',
        `/messages/${sid}/status`,
        { status: 'failed', errorCode: 63018 },
      );
      expect(forced.status).toBe(200);
      expect(forced.body.resource).toMatchObject({ status: 'failed', error_code: 63018 });
      await waitFor(() => receiver.hitsFor(sid).length === 3, 'forced callback');
      expect(receiver.hitsFor(sid)[2].params).toMatchObject({ MessageStatus: 'failed', ErrorCode: '63018' });
      sandbox.delivery.clearNumberFate('+15551250006');
    });

    it('forces read in-process mid-lifecycle and cancels the remaining stages', async () => {
      const slow = new TwilioSandbox({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, statusDelayMs: 10_000, logger });
      const slowClient = sandboxClient(await slow.start());
      try {
        const message = await slowClient.messages.create({
          to: 'whatsapp:+15551250007',
          from: WHATSAPP_FROM,
          body: 'x',
          statusCallback: receiver.url('/webhooks/status'),
        });
        await waitFor(() => receiver.hitsFor(message.sid).length === 1, 'queued callback');
        const forced = slow.delivery.forceStatus(message.sid, { status: 'read' });
        expect(forced.resource.status).toBe('read');
        expect(forced.resource.date_sent).not.toBeNull();
        await waitFor(() => receiver.hitsFor(message.sid).length === 2, 'read callback');
        expect(receiver.statusesFor(message.sid)).toEqual(['queued', 'read']);
      } finally {
        await slow.stop();
      }
    });

    it('answers 404 for an unknown SID and 400 for an unknown status', async () => {
      expect((await controlRequest(baseUrl, 'POST', `/messages/SM${'0'.repeat(32)}/status`, { status: 'read' })).status).toBe(404);
      const sid = await send('whatsapp:+15551250008', receiver.url('/webhooks/status'));
      expect((await controlRequest(baseUrl, 'POST', `/messages/${sid}/status`, { status: 'exploded' })).status).toBe(400);
    });
  });

  describe('retries per the connection-override fragment', () => {
    it('retries a 500 up to rc times with rp=5xx, posting without the fragment and signing the URL as given', async () => {
      const attemptsBySid = new Map<string, number>();
      receiver.respond = (hit) => {
        const key = `${hit.params.MessageSid}:${hit.params.MessageStatus}`;
        const count = (attemptsBySid.get(key) ?? 0) + 1;
        attemptsBySid.set(key, count);
        return hit.params.MessageStatus === 'sent' && count <= 2 ? 500 : 200;
      };
      const configured = receiver.url('/webhooks/retry#rc=2&rp=5xx');
      const sid = await send('whatsapp:+15551250009', configured);

      await waitFor(() => receiver.hitsFor(sid).length === 6, 'queued, 3x sent, delivered, read');
      expect(receiver.statusesFor(sid)).toEqual(['queued', 'sent', 'sent', 'sent', 'delivered', 'read']);
      for (const hit of receiver.hitsFor(sid)) {
        expect(hit.path).toBe('/webhooks/retry');
        expect(twilio.validateRequest(AUTH_TOKEN, hit.headers['x-twilio-signature'] as string, configured, hit.params)).toBe(true);
      }
      const sentTokens = new Set(
        receiver.hitsFor(sid).filter((hit) => hit.params.MessageStatus === 'sent').map((hit) => hit.headers['i-twilio-idempotency-token']),
      );
      expect(sentTokens.size).toBe(1);
      const attempts = sandbox.control.webhookAttempts().filter((attempt) => attempt.messageSid === sid && attempt.status === 'sent');
      expect(attempts.map((attempt) => [attempt.attempt, attempt.httpStatus])).toEqual([
        [1, 500],
        [2, 500],
        [3, 200],
      ]);
    });

    it('does not retry a 500 without an override (Twilio retries only connect failures by default), and logs it', async () => {
      receiver.respond = (hit) => (hit.params.MessageStatus === 'sent' ? 500 : 200);
      const sid = await send('whatsapp:+15551250010', receiver.url('/webhooks/status'));
      await waitFor(() => receiver.hitsFor(sid).length === 4, 'four callbacks');
      await sleep(60);
      expect(receiver.statusesFor(sid)).toEqual(['queued', 'sent', 'delivered', 'read']);
      expect(logger.lines.some((line) => line.level === 'warn' && line.msg.includes(sid) && line.msg.includes('giving up'))).toBe(true);
    });

    it('retries a 4xx only when rp names it, and stops at rc', async () => {
      receiver.respond = (hit) => (hit.params.MessageStatus === 'queued' ? 404 : 200);
      const sid = await send('whatsapp:+15551250011', receiver.url('/webhooks/status#rc=1&rp=4xx'));
      await waitFor(() => receiver.hitsFor(sid).length === 5, 'two queued attempts then three more');
      expect(receiver.statusesFor(sid)).toEqual(['queued', 'queued', 'sent', 'delivered', 'read']);
    });

    it('retries a connection failure by default and survives an unreachable callback URL', async () => {
      const sid = await send('whatsapp:+15551250012', 'http://127.0.0.1:1/unreachable');
      await waitFor(() => sandbox.control.message(sid)?.resource.status === 'read', 'lifecycle to finish regardless');
      await waitFor(
        () => sandbox.control.webhookAttempts().filter((attempt) => attempt.messageSid === sid).length === 8,
        'two attempts per status',
      );
      const attempts = sandbox.control.webhookAttempts().filter((attempt) => attempt.messageSid === sid);
      expect(attempts.every((attempt) => attempt.httpStatus === null && attempt.failure?.startsWith('connect-failed'))).toBe(true);
    });

    it('gives up on a receiver that never answers after rt ms, and retries it with rp=rt', async () => {
      let requests = 0;
      const hanging = http.createServer(() => {
        requests += 1;
      });
      await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
      const port = (hanging.address() as AddressInfo).port;
      try {
        const sid = await send('whatsapp:+15551250013', `http://127.0.0.1:${port}/slow#rt=100&rc=1&rp=rt`);
        const queuedAttempts = () =>
          sandbox.control.webhookAttempts().filter((attempt) => attempt.messageSid === sid && attempt.status === 'queued');
        await waitFor(() => queuedAttempts().length === 2, 'two timed-out attempts');
        expect(queuedAttempts().every((attempt) => attempt.failure?.startsWith('read-timeout'))).toBe(true);
        expect(requests).toBeGreaterThanOrEqual(2);
      } finally {
        hanging.closeAllConnections();
        await new Promise<void>((resolve) => hanging.close(() => resolve()));
      }
    });
  });

  describe('callback faults', () => {
    it('drops every callback with callbackDropProbability 1, while the resource still advances', async () => {
      sandbox.control.setFaults({ callbackDropProbability: 1 });
      const sid = await send('whatsapp:+15551250020', receiver.url('/webhooks/status'));
      await waitFor(() => sandbox.control.message(sid)?.resource.status === 'read', 'read');
      await sleep(60);
      expect(receiver.hitsFor(sid)).toHaveLength(0);
    });

    it('duplicates every callback with callbackDuplicateProbability 1', async () => {
      sandbox.control.setFaults({ callbackDuplicateProbability: 1 });
      const sid = await send('whatsapp:+15551250021', receiver.url('/webhooks/status'));
      await waitFor(() => receiver.hitsFor(sid).length === 8, 'eight callbacks');
      expect(receiver.statusesFor(sid)).toEqual(['queued', 'queued', 'sent', 'sent', 'delivered', 'delivered', 'read', 'read']);
    });

    it('swaps each callback with the next one with callbackReorderProbability 1', async () => {
      sandbox.control.setFaults({ callbackReorderProbability: 1 });
      const sid = await send('whatsapp:+15551250022', receiver.url('/webhooks/status'));
      await waitFor(() => receiver.hitsFor(sid).length === 4, 'four callbacks');
      expect(receiver.statusesFor(sid)).toEqual(['sent', 'queued', 'read', 'delivered']);
    });

    it('delays callbacks with callbackDelayProbability 1, keeping their order', async () => {
      sandbox.control.setFaults({ callbackDelayProbability: 1, callbackDelayMs: 80 });
      const sentAt = Date.now();
      const sid = await send('whatsapp:+15551250023', receiver.url('/webhooks/status'));
      await waitFor(() => receiver.hitsFor(sid).length === 4, 'four callbacks');
      expect(receiver.statusesFor(sid)).toEqual(['queued', 'sent', 'delivered', 'read']);
      // Four sequential 80 ms delays cannot all fit in less than 320 ms.
      expect(receiver.hitsFor(sid)[3].receivedAt - sentAt).toBeGreaterThanOrEqual(300);
    });
  });

  describe('inbound messages and the 24h session window', () => {
    it('posts a signed inbound webhook with Twilio’s WhatsApp fields and returns the answer', async () => {
      receiver.responseBody = '<Response/>';
      const result = await sandbox.inbound.send({
        from: '+15551250030',
        to: WHATSAPP_FROM,
        body: 'Hi there',
        profileName: 'Ada',
        mediaUrls: [{ url: 'https://example.com/cat.jpg', contentType: 'image/jpeg' }],
      });
      receiver.responseBody = '';

      expect(result).toEqual({ status: 200, body: '<Response/>', messageSid: expect.stringMatching(/^SM[0-9a-f]{32}$/) });
      const hit = receiver.received.find((entry) => entry.params.MessageSid === result.messageSid)!;
      expect(hit.path).toBe('/webhooks/inbound');
      expect(hit.params).toEqual({
        MessageSid: result.messageSid,
        SmsMessageSid: result.messageSid,
        SmsSid: result.messageSid,
        AccountSid: ACCOUNT_SID,
        From: 'whatsapp:+15551250030',
        To: WHATSAPP_FROM,
        Body: 'Hi there',
        NumMedia: '1',
        NumSegments: '1',
        ReferralNumMedia: '0',
        MediaUrl0: 'https://example.com/cat.jpg',
        MediaContentType0: 'image/jpeg',
        ProfileName: 'Ada',
        WaId: '15551250030',
        SmsStatus: 'received',
        MessageType: 'image',
        ApiVersion: '2010-04-01',
        ChannelMetadata: expect.any(String),
      });
      expect(
        twilio.validateRequest(AUTH_TOKEN, hit.headers['x-twilio-signature'] as string, receiver.url('/webhooks/inbound'), hit.params),
      ).toBe(true);
    });

    it('sends inbound through the control API too', async () => {
      const result = await controlRequest<{ status: number; messageSid: string }>(baseUrl, 'POST', '/inbound', {
        from: 'whatsapp:+15551250031',
        to: WHATSAPP_FROM,
        body: 'via control',
      });
      expect(result.status).toBe(200);
      expect(result.body.status).toBe(200);
      const hit = receiver.received.find((entry) => entry.params.MessageSid === result.body.messageSid);
      expect(hit?.params).toMatchObject({ Body: 'via control', MessageType: 'text', NumMedia: '0' });
      const invalid = await controlRequest(baseUrl, 'POST', '/inbound', { from: 'nope', to: WHATSAPP_FROM });
      expect(invalid.status).toBe(400);
    });

    it('fails free-form sends outside the window with 63016, lets templates and in-window sends through', async () => {
      await controlRequest(baseUrl, 'PUT', '/faults', { sessionWindow: true });
      const outside = await send('whatsapp:+15551250040', receiver.url('/webhooks/status'));
      const template = await client.messages.create({
        to: 'whatsapp:+15551250040',
        from: WHATSAPP_FROM,
        contentSid: SandboxTemplateSid.OrderUpdate,
        statusCallback: receiver.url('/webhooks/status'),
      });
      await sandbox.inbound.send({ from: '+15551250041', to: WHATSAPP_FROM, body: 'I write first' });
      const inside = await send('whatsapp:+15551250041', receiver.url('/webhooks/status'));
      sandbox.inbound.setLastInbound('+15551250042', new Date(Date.now() - 25 * 60 * 60 * 1000));
      const expired = await send('whatsapp:+15551250042', receiver.url('/webhooks/status'));

      await waitFor(
        () =>
          receiver.hitsFor(outside).length === 2 &&
          receiver.hitsFor(template.sid).length === 4 &&
          receiver.hitsFor(inside).length === 4 &&
          receiver.hitsFor(expired).length === 2,
        'all final callbacks',
      );
      expect(receiver.hitsFor(outside)[1].params).toMatchObject({ MessageStatus: 'failed', ErrorCode: '63016' });
      expect(receiver.statusesFor(template.sid).at(-1)).toBe('read');
      expect(receiver.statusesFor(inside).at(-1)).toBe('read');
      expect(receiver.hitsFor(expired)[1].params).toMatchObject({ MessageStatus: 'failed', ErrorCode: '63016' });
    });

    it('leaves the window policy off by default', async () => {
      const sid = await send('whatsapp:+15551250043', receiver.url('/webhooks/status'));
      await waitFor(() => receiver.hitsFor(sid).length === 4, 'four callbacks');
      expect(receiver.statusesFor(sid).at(-1)).toBe('read');
    });
  });

  it('fires nothing after stop(): pending stages and callbacks are cancelled', async () => {
    const stopping = new TwilioSandbox({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, statusDelayMs: 50, logger });
    const stoppingClient = sandboxClient(await stopping.start());
    const message = await stoppingClient.messages.create({
      to: 'whatsapp:+15551250050',
      from: WHATSAPP_FROM,
      body: 'x',
      statusCallback: receiver.url('/webhooks/status'),
    });
    await waitFor(() => receiver.hitsFor(message.sid).length === 1, 'queued callback');
    await stopping.stop();
    const countAtStop = receiver.hitsFor(message.sid).length;
    await sleep(250);
    expect(receiver.hitsFor(message.sid)).toHaveLength(countAtStop);
    expect(stopping.control.message(message.sid)?.resource.status).toBe('queued');
  });
});
