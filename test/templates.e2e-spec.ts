import { randomBytes } from 'node:crypto';
import { CONTENT_PAGE_SIZE } from '../src/modules/twilio/twilio-content.client';
import { MISS_RELIST_INTERVAL_MS } from '../src/modules/templates/template-catalog.service';
import { SandboxTemplateSid, TemplateApprovalStatus } from '../libs/twilio-sandbox/twilio-sandbox';
import { ApiResponse, startTestApp, TestApp, waitFor } from './support/test-app';

const contentSid = (): string => `HX${randomBytes(16).toString('hex')}`;
const LISTING_PATH = '/v1/ContentAndApprovals';
const FILLERS = CONTENT_PAGE_SIZE + 10;

describe('Templates (e2e)', () => {
  let t: TestApp;
  let senderKey: string;
  let numberSeq = 0;
  // Numbers of their own per test, so rows and sandbox requests are told apart.
  const nextNumber = (): string => `+1415555${String(3000 + numberSeq++).padStart(4, '0')}`;

  const reminder = { sid: contentSid(), friendlyName: 'delivery_window', language: 'en' };
  const card = { sid: contentSid(), friendlyName: 'track_parcel', language: 'pt_BR' };

  beforeAll(async () => {
    t = await startTestApp();
    const key = await t.api('/api/v1/api-keys', { token: t.adminToken, body: { name: 'templates-sender', role: 'sender' } });
    expect(key.status).toBe(201);
    senderKey = key.body.apiKey;
    // More templates than one Content API page holds, before anything lists them.
    for (let i = 0; i < FILLERS; i++) {
      t.sandbox.control.addTemplate({ friendlyName: `filler_${i}`, types: { 'twilio/text': { body: `Filler ${i}` } } });
    }
    t.sandbox.control.addTemplate({
      ...reminder,
      variables: { date: 'soon' },
      types: { 'twilio/text': { body: 'Hello {{1}}, your order {{2}} arrives {{date}}.' } },
    });
    t.sandbox.control.addTemplate({
      ...card,
      approvalStatus: TemplateApprovalStatus.Pending,
      types: {
        'twilio/call-to-action': { body: 'Parcel {{1}} is on its way', actions: [{ type: 'URL', title: 'Track', url: 'https://example.com/t/{{2}}' }] },
        'whatsapp/card': { body: 'Parcel {{1}}', footer: 'Courier {{courier}}', actions: [] },
      },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  const asSender = (path: string, body?: unknown, method?: string): Promise<ApiResponse> => t.api(path, { body, method, headers: { 'x-api-key': senderKey } });
  const send = (body: Record<string, unknown>): Promise<ApiResponse> => t.api('/api/v1/whatsapp/send', { token: t.adminToken, body });
  const listings = (): string[] => t.sandbox.control.contentRequests().map((r) => r.url).filter((url) => url.startsWith(`${LISTING_PATH}?`));
  const sandboxRequestsTo = (to: string) => t.sandbox.control.receivedRequests().filter((r) => r.params.To === `whatsapp:${to}`);
  const rowsTo = async (to: string) => t.query(`SELECT id FROM "WhatsAppMessage" WHERE "to" = $1`, [`whatsapp:${to}`]);
  const waitPastMissInterval = () => new Promise((resolve) => setTimeout(resolve, MISS_RELIST_INTERVAL_MS + 100));

  it('lists every template across Content API pages, with variables, approval and filters, for a sender', async () => {
    const res = await asSender('/api/v1/whatsapp/templates');
    expect(res.status).toBe(200);
    expect(res.body.templates).toHaveLength(3 + FILLERS + 2);
    expect(Date.parse(res.body.syncedAt)).not.toBeNaN();
    // The official client followed next_page_url to a second page.
    expect(listings().some((url) => /[?&]Page=1\b/.test(url))).toBe(true);

    const bySid = new Map<string, Record<string, unknown>>(res.body.templates.map((x: { sid: string }) => [x.sid, x]));
    expect(bySid.get(reminder.sid)).toEqual({
      ...reminder,
      types: ['twilio/text'],
      variables: [
        { name: '1', required: true },
        { name: '2', required: true },
        { name: 'date', required: false, default: 'soon' },
      ],
      approvalStatus: 'approved',
      dateUpdated: expect.any(String),
    });
    expect(bySid.get(card.sid)).toMatchObject({
      types: ['twilio/call-to-action', 'whatsapp/card'],
      variables: [
        { name: '1', required: true },
        { name: '2', required: true },
        { name: 'courier', required: true },
      ],
      approvalStatus: 'pending',
    });
    expect(bySid.get(SandboxTemplateSid.OrderUpdate)).toMatchObject({
      friendlyName: 'order_update',
      variables: [
        { name: '1', required: false, default: 'there' },
        { name: '2', required: false, default: '#1001' },
        { name: '3', required: false, default: 'on its way' },
      ],
    });

    const portuguese = await asSender('/api/v1/whatsapp/templates?language=pt_BR');
    expect(portuguese.body.templates.map((x: { sid: string }) => x.sid)).toEqual([card.sid]);
    const search = await asSender('/api/v1/whatsapp/templates?q=ORDER_');
    expect(search.body.templates.map((x: { friendlyName: string }) => x.friendlyName)).toEqual(['order_update']);
    const bad = await asSender('/api/v1/whatsapp/templates?refresh=maybe');
    expect({ status: bad.status, code: bad.body.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
  });

  it('answers from the cache until a refresh (admin only) picks up a template added since', async () => {
    await asSender('/api/v1/whatsapp/templates');
    const before = listings().length;
    const added = t.sandbox.control.addTemplate({ friendlyName: 'added_later', types: { 'twilio/text': { body: 'New {{1}}' } } });

    const cached = await asSender('/api/v1/whatsapp/templates?q=added_later');
    expect(cached.body.templates).toEqual([]);
    expect(listings()).toHaveLength(before);

    const senderRefresh = await asSender('/api/v1/whatsapp/templates?refresh=true');
    expect({ status: senderRefresh.status, code: senderRefresh.body.code }).toEqual({ status: 403, code: 'FORBIDDEN' });
    const senderPost = await asSender('/api/v1/whatsapp/templates/refresh', undefined, 'POST');
    expect({ status: senderPost.status, code: senderPost.body.code }).toEqual({ status: 403, code: 'FORBIDDEN' });

    const refreshed = await t.api('/api/v1/whatsapp/templates?refresh=true&q=added_later', { token: t.adminToken });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.templates).toEqual([expect.objectContaining({ sid: added.sid, variables: [{ name: '1', required: true }] })]);
    expect(listings().length).toBeGreaterThan(before);

    t.sandbox.control.removeTemplate(added.sid);
    const posted = await t.api('/api/v1/whatsapp/templates/refresh', { token: t.adminToken, method: 'POST' });
    expect(posted.status).toBe(200);
    expect(posted.body.templates.some((x: { sid: string }) => x.sid === added.sid)).toBe(false);
  });

  it('refuses missing and unknown variables with 422 naming them, storing and sending nothing (single, immediate and bulk)', async () => {
    const to = nextNumber();
    const res = await send({ to, contentSid: reminder.sid, contentVariables: { '1': 'Ada', coupon: 'X1' } });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({
      code: 'TEMPLATE_VARIABLES_INVALID',
      details: { contentSid: reminder.sid, missing: ['2'], unknown: ['coupon'] },
    });
    expect(res.body.message).toContain('misses 2');
    expect(res.body.message).toContain('names coupon');

    const immediate = await send({ to, contentSid: reminder.sid, contentVariables: {}, immediate: true });
    expect(immediate.status).toBe(422);
    expect(immediate.body.details).toEqual({ field: 'contentVariables', contentSid: reminder.sid, missing: ['1', '2'], unknown: [] });

    const bulkTo = nextNumber();
    const bulk = await t.api('/api/v1/whatsapp/send/bulk', {
      token: t.adminToken,
      body: {
        messages: [
          { to, contentSid: card.sid, contentVariables: { '1': 'P-1', '2': 'abc' } },
          { to: bulkTo, contentSid: card.sid, contentVariables: { '1': 'P-2', '2': 'def', courier: 'DHL' } },
        ],
      },
    });
    expect(bulk.status).toBe(202);
    expect(bulk.body).toMatchObject({ accepted: 1, rejected: 1 });
    expect(bulk.body.results[0]).toEqual({
      index: 0,
      error: { code: 'TEMPLATE_VARIABLES_INVALID', message: expect.stringContaining('courier'), field: 'contentVariables', details: { contentSid: card.sid, missing: ['courier'], unknown: [] } },
    });
    await waitFor(async () => sandboxRequestsTo(bulkTo).length === 1, 'the valid bulk item reaching the sandbox');

    expect(await rowsTo(to)).toEqual([]);
    // Give a wrongly queued send the time to reach the sandbox before asserting none did.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sandboxRequestsTo(to)).toEqual([]);
  });

  it('sends a valid template with contentVariables as the JSON string Twilio expects, with no Content API call on a warm cache', async () => {
    await asSender('/api/v1/whatsapp/templates');
    const before = t.sandbox.control.contentRequests().length;
    const to = nextNumber();
    const res = await send({ to, contentSid: reminder.sid, contentVariables: { '1': 'Ada', '2': '#42' } });
    expect(res.status).toBe(202);
    const [request] = await waitFor(async () => (sandboxRequestsTo(to).length > 0 ? sandboxRequestsTo(to) : null), 'the create request');
    expect(request.params.ContentSid).toBe(reminder.sid);
    expect(request.params.ContentVariables).toBe('{"1":"Ada","2":"#42"}');
    const message = t.sandbox.control.message(request.sid!);
    expect(message?.resource.body).toBe('Hello Ada, your order #42 arrives soon.');
    expect(t.sandbox.control.contentRequests()).toHaveLength(before);
  });

  it('refuses a contentSid the account does not have with 422 TEMPLATE_NOT_FOUND, listing once for 50 concurrent sends', async () => {
    await waitPastMissInterval();
    const before = listings().filter((url) => /[?&]Page=0\b|^[^?]*\?PageSize=\d+$/.test(url)).length;
    const unknown = contentSid();
    const to = nextNumber();
    const answers = await Promise.all(Array.from({ length: 50 }, () => send({ to, contentSid: unknown, contentVariables: { '1': 'x' } })));
    expect(new Set(answers.map((a) => `${a.status} ${a.body.code}`))).toEqual(new Set(['422 TEMPLATE_NOT_FOUND']));
    expect(answers[0].body.details).toMatchObject({ contentSid: unknown });
    const firstPages = listings().filter((url) => /[?&]Page=0\b|^[^?]*\?PageSize=\d+$/.test(url)).length;
    expect(firstPages - before).toBe(1);
    expect(await rowsTo(to)).toEqual([]);
    expect(sandboxRequestsTo(to)).toEqual([]);
  });

  it('accepts a send it cannot check while the Content API is down, and Twilio decides', async () => {
    await waitPastMissInterval();
    // Created at Twilio after the last listing, while the Content API is unreachable.
    const fresh = t.sandbox.control.addTemplate({ friendlyName: 'created_during_outage', types: { 'twilio/text': { body: 'Outage {{1}}' } } });
    t.sandbox.control.setFaults({ contentApiUnavailable: true });
    try {
      const to = nextNumber();
      const res = await send({ to, contentSid: fresh.sid, contentVariables: { '1': 'ok' } });
      expect(res.status).toBe(202);
      const [request] = await waitFor(async () => (sandboxRequestsTo(to).length > 0 ? sandboxRequestsTo(to) : null), 'the unchecked send reaching the sandbox');
      expect(request.params.ContentSid).toBe(fresh.sid);

      const metrics = await t.api('/metrics', { token: t.adminToken });
      expect(metrics.text).toMatch(/^whatsapp_template_checks_skipped_total 1$/m);

      const refresh = await t.api('/api/v1/whatsapp/templates?refresh=true', { token: t.adminToken });
      expect({ status: refresh.status, code: refresh.body.code }).toEqual({ status: 503, code: 'TWILIO_UNAVAILABLE' });
      // The cached listing still answers.
      expect((await asSender('/api/v1/whatsapp/templates')).status).toBe(200);
    } finally {
      t.sandbox.control.resetFaults();
    }
    const recovered = await t.api('/api/v1/whatsapp/templates/refresh', { token: t.adminToken, method: 'POST' });
    expect(recovered.body.templates.some((x: { sid: string }) => x.sid === fresh.sid)).toBe(true);
  });
});

describe('Templates shared by two processes through Redis (e2e)', () => {
  let first: TestApp;
  let second: TestApp | undefined;

  beforeAll(async () => {
    // One deployment, one signing secret (passport keeps one JWT strategy per Node process).
    const shared = { JWT_SECRET: randomBytes(32).toString('hex') };
    first = await startTestApp(shared);
    second = await startTestApp({ ...shared, DATABASE_URL: first.databaseUrl, REDIS_PREFIX: first.config.redis.prefix });
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it("a second process takes the first's fresh listing instead of listing the Content API itself", async () => {
    // Each test app has a sandbox of its own: a template only the first's has shows where the listing came from.
    const onlyFirst = first.sandbox.control.addTemplate({ friendlyName: 'only_in_first', types: { 'twilio/text': { body: 'First {{1}}' } } });
    const listed = await first.api('/api/v1/whatsapp/templates?q=only_in_first', { token: first.adminToken });
    expect(listed.body.templates.map((x: { sid: string }) => x.sid)).toEqual([onlyFirst.sid]);

    const fromSecond = await second!.api('/api/v1/whatsapp/templates?q=only_in_first', { token: second!.adminToken });
    expect(fromSecond.status).toBe(200);
    expect(fromSecond.body).toEqual(listed.body);
    expect(second!.sandbox.control.contentRequests()).toEqual([]);

    // A refresh lists the process's own Content API, and shares that listing in turn.
    const refreshed = await second!.api('/api/v1/whatsapp/templates?refresh=true&q=only_in_first', { token: second!.adminToken });
    expect(refreshed.body.templates).toEqual([]);
    expect(second!.sandbox.control.contentRequests().length).toBeGreaterThan(0);
  });
});
