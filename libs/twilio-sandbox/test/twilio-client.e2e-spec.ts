import twilio from 'twilio';
import { SandboxTemplateSid } from '../content-templates';
import { TwilioSandbox } from '../twilio-sandbox';
import {
  ACCOUNT_SID,
  API_KEY,
  AUTH_TOKEN,
  MESSAGING_SERVICE_SID,
  WHATSAPP_FROM,
  basicAuth,
  postMessage,
  recordingLogger,
  sandboxClient,
  waitFor,
} from './sandbox-test-kit';

const SID_PATTERN = /^SM[0-9a-f]{32}$/;
const RFC_2822 = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} \+0000$/;

async function expectRestError(promise: Promise<unknown>, status: number, code: number): Promise<InstanceType<typeof twilio.RestException>> {
  const error = await promise.then(
    () => {
      throw new Error(`expected Twilio error ${code}, but the call succeeded`);
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(twilio.RestException);
  const restError = error as InstanceType<typeof twilio.RestException>;
  expect({ status: restError.status, code: restError.code }).toEqual({ status, code });
  expect(restError.moreInfo).toBe(`https://www.twilio.com/docs/errors/${code}`);
  return restError;
}

describe('TwilioSandbox with the official twilio client', () => {
  const sandbox = new TwilioSandbox({
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    apiKeys: [API_KEY],
    statusDelayMs: 10,
    logger: recordingLogger(),
  });
  let baseUrl: string;
  let client: twilio.Twilio;

  beforeAll(async () => {
    baseUrl = await sandbox.start();
    client = sandboxClient(baseUrl);
  });

  afterAll(async () => {
    await sandbox.stop();
  });

  it('creates a WhatsApp message and answers a full queued resource', async () => {
    const message = await client.messages.create({ to: 'whatsapp:+15551230001', from: WHATSAPP_FROM, body: 'Hello 👋' });

    expect(message.sid).toMatch(SID_PATTERN);
    expect(message).toMatchObject({
      accountSid: ACCOUNT_SID,
      apiVersion: '2010-04-01',
      body: 'Hello 👋',
      direction: 'outbound-api',
      errorCode: null,
      errorMessage: null,
      from: WHATSAPP_FROM,
      to: 'whatsapp:+15551230001',
      messagingServiceSid: null,
      numMedia: '0',
      numSegments: '1',
      price: null,
      priceUnit: 'USD',
      status: 'queued',
      uri: `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${message.sid}.json`,
      subresourceUris: {
        media: `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${message.sid}/Media.json`,
        feedback: `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${message.sid}/Feedback.json`,
      },
    });
    expect(message.dateCreated).toBeInstanceOf(Date);
    expect(message.dateSent).toBeNull();
  });

  it('walks the message to read and shows it on fetch', async () => {
    const created = await client.messages.create({ to: 'whatsapp:+15551230002', from: WHATSAPP_FROM, body: 'status walk' });

    const read = await waitFor(() => sandbox.control.message(created.sid)?.resource.status === 'read', 'status read');
    expect(read).toBe(true);
    const fetched = await client.messages(created.sid).fetch();
    expect(fetched.status).toBe('read');
    expect(fetched.dateSent).toBeInstanceOf(Date);
    expect(fetched.price).toBe('-0.00500');
    expect(sandbox.control.message(created.sid)?.statusHistory.map((entry) => entry.status)).toEqual([
      'queued',
      'sent',
      'delivered',
      'read',
    ]);
    const raw = sandbox.control.message(created.sid)!.resource;
    expect(raw.date_created).toMatch(RFC_2822);
    expect(raw.date_sent).toMatch(RFC_2822);
    expect(raw.date_updated).toMatch(RFC_2822);
  });

  it('answers `accepted` with no From for a Messaging Service send, then assigns a sender', async () => {
    const message = await client.messages.create({
      to: 'whatsapp:+15551230003',
      messagingServiceSid: MESSAGING_SERVICE_SID,
      body: 'via service',
    });

    expect(message.status).toBe('accepted');
    expect(message.from).toBeNull();
    expect(message.numSegments).toBe('0');
    expect(message.messagingServiceSid).toBe(MESSAGING_SERVICE_SID);
    await waitFor(() => sandbox.control.message(message.sid)?.resource.status === 'read', 'status read');
    const fetched = await client.messages(message.sid).fetch();
    expect(fetched.from).toBe(WHATSAPP_FROM);
  });

  it('accepts media and counts it', async () => {
    const message = await client.messages.create({
      to: 'whatsapp:+15551230004',
      from: WHATSAPP_FROM,
      mediaUrl: ['https://example.com/a.jpg', 'https://example.com/b.png'],
    });

    expect(message.numMedia).toBe('2');
    expect(message.body).toBe('');
    expect(sandbox.control.message(message.sid)?.mediaUrls).toEqual(['https://example.com/a.jpg', 'https://example.com/b.png']);
  });

  it('renders a demo template from ContentSid and ContentVariables', async () => {
    const message = await client.messages.create({
      to: 'whatsapp:+15551230005',
      from: WHATSAPP_FROM,
      contentSid: SandboxTemplateSid.AppointmentReminder,
      contentVariables: JSON.stringify({ 1: '12/24', 2: '9am' }),
    });

    expect(message.body).toBe('Your appointment is coming up on 12/24 at 9am. Reply C to confirm or R to reschedule.');
    expect(sandbox.control.message(message.sid)?.contentSid).toBe(SandboxTemplateSid.AppointmentReminder);
  });

  it('fills template variables the send leaves out with the template defaults', async () => {
    const message = await client.messages.create({
      to: 'whatsapp:+15551230006',
      from: WHATSAPP_FROM,
      contentSid: SandboxTemplateSid.OrderUpdate,
      contentVariables: JSON.stringify({ 1: 'Ada' }),
    });

    expect(message.body).toBe('Hi Ada, your order #1001 is on its way. Thank you for shopping with us!');
  });

  it('serves the demo templates through the Content API', async () => {
    const contents = await client.content.v1.contents.list();
    expect(contents.map((content) => content.sid)).toEqual(Object.values(SandboxTemplateSid));
    const reminder = await client.content.v1.contents(SandboxTemplateSid.OneTimeCode).fetch();
    expect(reminder.friendlyName).toBe('one_time_code');
    expect(reminder.types).toEqual({
      'twilio/text': { body: '{{1}} is your verification code. For your security, do not share this code.' },
    });
    await expectRestError(client.content.v1.contents(`HX${'f'.repeat(32)}`).fetch(), 404, 20404);
  });

  describe('Content API templates added through the control API', () => {
    afterEach(() => sandbox.control.reset());

    async function control(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
      const response = await fetch(`${baseUrl}/sandbox/control${path}`, {
        method,
        ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    }

    it('pages contents and ContentAndApprovals through next_page_url, added templates included', async () => {
      for (let i = 0; i < 4; i++) {
        const added = await control('POST', '/templates', { friendlyName: `added_${i}`, types: { 'twilio/text': { body: `Added {{1}} #${i}` } } });
        expect(added.status).toBe(201);
      }
      const contents = await client.content.v1.contents.list({ pageSize: 3 });
      expect(contents.map((c) => c.friendlyName)).toEqual(['appointment_reminder', 'order_update', 'one_time_code', 'added_0', 'added_1', 'added_2', 'added_3']);
      const approvals = await client.content.v1.contentAndApprovals.list({ pageSize: 2 });
      expect(approvals).toHaveLength(7);
      expect(approvals[0].approvalRequests).toMatchObject({ name: 'appointment_reminder', status: 'approved' });
      const pages = sandbox.control.contentRequests().filter((r) => r.url.startsWith('/v1/ContentAndApprovals'));
      expect(pages.map((r) => new URL(r.url, baseUrl).searchParams.get('Page'))).toEqual([null, '1', '2', '3']);
    });

    it('sends an added template, reports its approval, removes it, and refuses bad templates', async () => {
      const sid = `HX${'c'.repeat(32)}`;
      const added = await control('POST', '/templates', {
        sid,
        friendlyName: 'pending_one',
        approvalStatus: 'pending',
        variables: { '2': 'friend' },
        types: { 'twilio/text': { body: '{{1}}, hello {{2}}' } },
      });
      expect(added.body).toMatchObject({ sid, approvalStatus: 'pending' });
      const [listed] = (await client.content.v1.contentAndApprovals.list()).filter((c) => c.sid === sid);
      expect(listed.approvalRequests).toMatchObject({ status: 'pending' });
      const message = await client.messages.create({ to: 'whatsapp:+15551238001', from: WHATSAPP_FROM, contentSid: sid, contentVariables: '{"1":"Hi"}' });
      expect(message.body).toBe('Hi, hello friend');

      expect((await control('POST', '/templates', { sid, friendlyName: 'again', types: { 'twilio/text': { body: 'x' } } })).status).toBe(409);
      expect((await control('POST', '/templates', { friendlyName: 'no types' })).body.error).toMatch(/types must be/);
      expect((await control('POST', '/templates', { friendlyName: 'x', types: { 'twilio/text': {} }, colour: 'red' })).body.error).toMatch(/unknown template field/);
      expect((await control('DELETE', `/templates/${sid}`)).status).toBe(204);
      expect((await control('DELETE', `/templates/${sid}`)).status).toBe(404);
      await expectRestError(client.messages.create({ to: 'whatsapp:+15551238001', from: WHATSAPP_FROM, contentSid: sid }), 400, 21655);
    });

    it('answers 503 / 20503 on every Content API route while contentApiUnavailable is set', async () => {
      sandbox.control.setFaults({ contentApiUnavailable: true });
      await expectRestError(client.content.v1.contents.list(), 503, 20503);
      await expectRestError(client.content.v1.contentAndApprovals.list(), 503, 20503);
      await expectRestError(client.content.v1.contents(SandboxTemplateSid.OneTimeCode).fetch(), 503, 20503);
      // Sends are not affected.
      await client.messages.create({ to: 'whatsapp:+15551238002', from: WHATSAPP_FROM, contentSid: SandboxTemplateSid.OneTimeCode });
    });
  });

  describe('listing and paging', () => {
    const to = 'whatsapp:+15551239999';
    const sids: string[] = [];

    beforeAll(async () => {
      for (let index = 0; index < 5; index += 1) {
        const message = await client.messages.create({ to, from: WHATSAPP_FROM, body: `page item ${index}` });
        sids.push(message.sid);
      }
      await waitFor(
        () => sids.every((sid) => sandbox.control.message(sid)?.resource.status === 'read'),
        'all paging messages read',
      );
    });

    it('lists newest first with a To filter', async () => {
      const listed = await client.messages.list({ to });
      expect(listed.map((message) => message.sid)).toEqual([...sids].reverse());
    });

    it('pages with page(), nextPage() and previousPage()', async () => {
      const first = await client.messages.page({ to, pageSize: 2 });
      expect(first.instances.map((message) => message.sid)).toEqual([sids[4], sids[3]]);
      const second = await first.nextPage();
      expect(second?.instances.map((message) => message.sid)).toEqual([sids[2], sids[1]]);
      const third = await second!.nextPage();
      expect(third?.instances.map((message) => message.sid)).toEqual([sids[0]]);
      expect(await third!.nextPage()).toBeUndefined();
      const back = await third!.previousPage();
      expect(back?.instances.map((message) => message.sid)).toEqual([sids[2], sids[1]]);
    });

    it('walks every page with each() and honours list limits', async () => {
      const seen: string[] = [];
      await new Promise<void>((resolve, reject) => {
        // each() returns nothing; its `done` option reports the end of the walk.
        client.messages.each(
          { to, pageSize: 2, done: (error?: Error) => (error ? reject(error) : resolve()) },
          (message) => {
            seen.push(message.sid);
          },
        );
      });
      expect(seen).toEqual([...sids].reverse());
      const limited = await client.messages.list({ to, limit: 3, pageSize: 2 });
      expect(limited.map((message) => message.sid)).toEqual([sids[4], sids[3], sids[2]]);
    });

    it('filters by From and DateSent', async () => {
      const today = new Date();
      const bySender = await client.messages.list({ from: WHATSAPP_FROM, to, pageSize: 50 });
      expect(bySender).toHaveLength(5);
      const sentToday = await client.messages.list({ to, dateSentAfter: new Date(today.getTime() - 60_000) });
      expect(sentToday).toHaveLength(5);
      const sameDay = await client.messages.list({ to, dateSent: today });
      expect(sameDay).toHaveLength(5);
      const sentBefore = await client.messages.list({ to, dateSentBefore: new Date('2000-01-01T00:00:00Z') });
      expect(sentBefore).toHaveLength(0);
      const dayOnly = await fetch(
        `${baseUrl}/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json?To=${encodeURIComponent(to)}&DateSent=${today.toISOString().slice(0, 10)}`,
        { headers: { Authorization: basicAuth() } },
      );
      expect(((await dayOnly.json()) as { messages: unknown[] }).messages).toHaveLength(5);
    });

    it('deletes a message: 204, then 404 on fetch', async () => {
      const doomed = await client.messages.create({ to: 'whatsapp:+15551238888', from: WHATSAPP_FROM, body: 'bye' });
      await expect(client.messages(doomed.sid).remove()).resolves.toBe(true);
      await expectRestError(client.messages(doomed.sid).fetch(), 404, 20404);
      await expectRestError(client.messages(doomed.sid).remove(), 404, 20404);
    });
  });

  describe('authentication', () => {
    it('rejects a wrong auth token with 401 / 20003', async () => {
      const wrong = sandboxClient(baseUrl, ACCOUNT_SID, 'not-the-token');
      const error = await expectRestError(
        wrong.messages.create({ to: 'whatsapp:+15551230010', from: WHATSAPP_FROM, body: 'x' }),
        401,
        20003,
      );
      expect(error.message).toBe('Authenticate');
    });

    it('answers Twilio’s exact 401 body and challenge when credentials are missing', async () => {
      const response = await fetch(`${baseUrl}/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Basic realm="Twilio API"');
      expect(await response.json()).toEqual({
        code: 20003,
        message: 'Authenticate',
        more_info: 'https://www.twilio.com/docs/errors/20003',
        status: 401,
      });
    });

    it('accepts an API key SID and secret', async () => {
      const keyed = sandboxClient(baseUrl, API_KEY.sid, API_KEY.secret);
      const message = await keyed.messages.create({ to: 'whatsapp:+15551230011', from: WHATSAPP_FROM, body: 'key' });
      expect(message.sid).toMatch(SID_PATTERN);
    });

    it('rejects valid credentials used on another account’s path', async () => {
      const result = await postMessage(
        baseUrl,
        { To: 'whatsapp:+15551230012', From: WHATSAPP_FROM, Body: 'x' },
        { accountSid: 'AC11111111111111111111111111111111' },
      );
      expect(result.status).toBe(401);
      expect(result.body.code).toBe(20003);
    });

    it('records unauthorised creates too', () => {
      const unauthorized = sandbox.control.receivedRequests().filter((record) => record.outcome === 'unauthorized');
      expect(unauthorized.length).toBeGreaterThanOrEqual(2);
      expect(unauthorized.every((record) => record.errorCode === 20003 && record.httpStatus === 401)).toBe(true);
    });
  });

  describe('validation, with Twilio’s codes', () => {
    const cases: { name: string; params: Record<string, string | string[]>; code: number; message?: string }[] = [
      { name: 'missing To', params: { From: WHATSAPP_FROM, Body: 'x' }, code: 21604, message: "A 'To' phone number is required." },
      { name: 'missing From and MessagingServiceSid', params: { To: 'whatsapp:+15551230020', Body: 'x' }, code: 21603, message: "A 'From' phone number is required." },
      { name: 'no Body, MediaUrl or ContentSid', params: { To: 'whatsapp:+15551230020', From: WHATSAPP_FROM }, code: 21602, message: 'Message body is required.' },
      { name: 'WhatsApp From with an SMS To', params: { To: '+15551230020', From: WHATSAPP_FROM, Body: 'x' }, code: 21910 },
      { name: 'SMS From with a WhatsApp To', params: { To: 'whatsapp:+15551230020', From: '+14155238886', Body: 'x' }, code: 21910 },
      { name: 'a To that is not E.164', params: { To: 'whatsapp:5551230020', From: WHATSAPP_FROM, Body: 'x' }, code: 21211 },
      { name: 'a From that is not E.164', params: { To: 'whatsapp:+15551230020', From: 'whatsapp:abc', Body: 'x' }, code: 21212 },
      { name: 'a body over 1600 characters', params: { To: 'whatsapp:+15551230020', From: WHATSAPP_FROM, Body: 'x'.repeat(1601) }, code: 21617 },
      {
        name: 'more than 10 media URLs',
        params: { To: 'whatsapp:+15551230020', From: WHATSAPP_FROM, MediaUrl: Array.from({ length: 11 }, (_, i) => `https://example.com/${i}.jpg`) },
        code: 21623,
      },
      { name: 'a media URL that is not http(s)', params: { To: 'whatsapp:+15551230020', From: WHATSAPP_FROM, MediaUrl: 'ftp://example.com/a.jpg' }, code: 21620 },
      { name: 'an unknown ContentSid', params: { To: 'whatsapp:+15551230020', From: WHATSAPP_FROM, ContentSid: `HX${'e'.repeat(32)}` }, code: 21655 },
      { name: 'a malformed ContentSid', params: { To: 'whatsapp:+15551230020', From: WHATSAPP_FROM, ContentSid: 'HX123' }, code: 21655 },
      {
        name: 'ContentVariables that are not JSON',
        params: { To: 'whatsapp:+15551230020', From: WHATSAPP_FROM, ContentSid: SandboxTemplateSid.OneTimeCode, ContentVariables: '{1: 2' },
        code: 21656,
      },
      { name: 'ContentVariables without ContentSid', params: { To: 'whatsapp:+15551230020', From: WHATSAPP_FROM, Body: 'x', ContentVariables: '{}' }, code: 21654 },
      { name: 'a malformed MessagingServiceSid', params: { To: 'whatsapp:+15551230020', MessagingServiceSid: 'MG1', Body: 'x' }, code: 21701 },
      { name: 'a StatusCallback that is not a URL', params: { To: 'whatsapp:+15551230020', From: WHATSAPP_FROM, Body: 'x', StatusCallback: 'not a url' }, code: 21609 },
    ];

    it.each(cases)('answers 400 / $code for $name', async ({ params, code, message }) => {
      const result = await postMessage(baseUrl, params);
      expect(result.status).toBe(400);
      expect(result.body).toMatchObject({ code, status: 400, more_info: `https://www.twilio.com/docs/errors/${code}` });
      if (message) {
        expect(result.body.message).toBe(message);
      }
    });

    it('accepts exactly 1600 characters and 10 media URLs', async () => {
      const result = await postMessage(baseUrl, {
        To: 'whatsapp:+15551230021',
        From: WHATSAPP_FROM,
        Body: 'y'.repeat(1600),
        MediaUrl: Array.from({ length: 10 }, (_, i) => `https://example.com/${i}.jpg`),
      });
      expect(result.status).toBe(201);
      expect(result.body.num_media).toBe('10');
    });

    it('surfaces the error through the client as a RestException', async () => {
      const error = await expectRestError(client.messages.create({ to: 'whatsapp:+15551230022', from: WHATSAPP_FROM }), 400, 21602);
      expect(error.message).toBe('Message body is required.');
    });
  });

  describe('magic numbers refused on create', () => {
    const cases = [
      { field: 'To', number: '+15005550001', code: 21211 },
      { field: 'To', number: '+15005550002', code: 21612 },
      { field: 'To', number: '+15005550003', code: 21408 },
      { field: 'To', number: '+15005550004', code: 21610 },
      { field: 'To', number: '+15005550009', code: 21614 },
      { field: 'From', number: '+15005550001', code: 21212 },
      { field: 'From', number: '+15005550007', code: 21606 },
      { field: 'From', number: '+15005550008', code: 21611 },
    ];

    it.each(cases)('$field $number -> 400 / $code', async ({ field, number, code }) => {
      const params =
        field === 'To'
          ? { to: `whatsapp:${number}`, from: WHATSAPP_FROM, body: 'magic' }
          : { to: 'whatsapp:+15551230030', from: `whatsapp:${number}`, body: 'magic' };
      await expectRestError(client.messages.create(params), 400, code);
    });

    it('words the invalid-To error with the number as posted', async () => {
      const result = await postMessage(baseUrl, { To: 'whatsapp:+15005550001', From: WHATSAPP_FROM, Body: 'x' });
      expect(result.body.message).toBe("The 'To' number whatsapp:+15005550001 is not a valid phone number.");
    });
  });

  it('records every create request with its params, outcome and SID', async () => {
    const message = await client.messages.create({ to: 'whatsapp:+15551230040', from: WHATSAPP_FROM, body: 'recorded' });
    const record = sandbox.control.receivedRequests().find((entry) => entry.sid === message.sid);
    expect(record).toMatchObject({
      accountSid: ACCOUNT_SID,
      outcome: 'created',
      httpStatus: 201,
      params: { To: 'whatsapp:+15551230040', From: WHATSAPP_FROM, Body: 'recorded' },
      errorCode: null,
    });
    expect(Number.isNaN(Date.parse(record!.receivedAt))).toBe(false);
  });

  it('answers unknown paths with Twilio’s 20404 shape', async () => {
    const response = await fetch(`${baseUrl}/2010-04-01/Accounts/${ACCOUNT_SID}/Calls.json`, {
      headers: { Authorization: basicAuth() },
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 20404, status: 404 });
  });
});
