import { startTestApp, TestApp } from './support/test-app';

describe('Hostile input (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const messageCount = async (): Promise<number> => (await t.query<{ n: number }>(`SELECT count(*)::int AS n FROM "WhatsAppMessage"`))[0].n;
  const send = (body: unknown, path = '/api/v1/whatsapp/send') => t.api(path, { body, token: t.adminToken });

  it('refuses contentVariables with 150,000 keys (about 2 MB) with 400 naming the field, and stays live', async () => {
    const contentVariables = Object.fromEntries(Array.from({ length: 150_000 }, (_, i) => [String(i), 'x']));
    const before = await messageCount();
    const res = await send({ to: '+14155550301', contentSid: 'HX' + 'a'.repeat(32), contentVariables });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, code: 'INPUT_TOO_MANY_KEYS', details: { field: 'contentVariables', in: 'body', limit: 200 } });
    expect((await t.api('/api/v1/health')).status).toBe(200);
    expect(await messageCount()).toBe(before);
  });

  it('refuses a bulk item with too many template variables, naming the item', async () => {
    const contentVariables = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [String(i), 'x']));
    const res = await send({ messages: [{ to: '+14155550302', message: 'ok' }, { to: '+14155550303', contentSid: 'HX' + 'a'.repeat(32), contentVariables }] }, '/api/v1/whatsapp/send/bulk');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'INPUT_TOO_MANY_KEYS', details: { field: 'messages.1.contentVariables' } });
  });

  it('refuses JSON nested 10,000 deep with 400, not 500', async () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    for (const path of ['/api/v1/whatsapp/send', '/api/v1/whatsapp/send/bulk', '/api/v1/auth/login']) {
      const res = await t.api(path, { body: `{"to":"+14155550304","message":${deep}}`, token: t.adminToken });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'INPUT_TOO_DEEP', details: { field: 'message.0.0.0.0.0.0.0' } });
    }
  });

  it.each([
    ['message', { to: '+14155550305', message: 'hi\u0000there' }],
    ['mediaUrl', { to: '+14155550305', mediaUrl: 'https://example.com/a\u0000.png' }],
    ['mediaUrl.1', { to: '+14155550305', mediaUrl: ['https://example.com/a.png', 'https://example.com/\u0000'] }],
    ['contentVariables.1', { to: '+14155550305', contentSid: 'HX' + 'a'.repeat(32), contentVariables: { '1': 'a\u0000' } }],
    ['to', { to: '+1415555\u00000305', message: 'x' }],
  ])('refuses a NUL character in %s with 400 and the field name', async (field, body) => {
    const before = await messageCount();
    const res = await send(body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'INPUT_NUL_CHARACTER', details: { field, in: 'body' } });
    expect(await messageCount()).toBe(before);
  });

  it.each([
    ['message', '/api/v1/whatsapp/send', { to: '+14155550307', message: 'half a pair \ud800' }],
    ['contentVariables.1', '/api/v1/whatsapp/send', { to: '+14155550307', contentSid: 'HX' + 'a'.repeat(32), contentVariables: { '1': '\udfff\ud800' } }],
    ['email', '/api/v1/auth/login', { email: '\ud800@example.com', password: 'x' }],
  ])('refuses a lone surrogate in %s with 400, not a 500 from Postgres or the validator', async (field, path, body) => {
    const res = await t.api(path, { body, token: t.adminToken });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'INPUT_INVALID_UNICODE', details: { field } });
  });

  it('takes emoji and other astral characters, whose surrogates come in pairs', async () => {
    const res = await send({ to: '+14155550308', message: 'Shipped 📦 ✅ 𝒜' });
    expect(res.status).toBe(202);
  });

  it('refuses a NUL character in a query parameter or a path parameter', async () => {
    const list = await t.api('/api/v1/whatsapp/messages?to=%2B1415%00', { token: t.adminToken });
    expect(list.status).toBe(400);
    expect(list.body).toMatchObject({ code: 'INPUT_NUL_CHARACTER', details: { field: 'to', in: 'query' } });
    const status = await t.api('/api/v1/whatsapp/delivery-status/SM%00', { token: t.adminToken });
    expect(status.status).toBe(400);
    expect(status.body).toMatchObject({ code: 'INPUT_NUL_CHARACTER', details: { in: 'params' } });
  });

  it('refuses an over-long string and an over-long key', async () => {
    const long = await send({ to: '+14155550306', message: 'x'.repeat(20_000) });
    expect(long.status).toBe(400);
    expect(long.body).toMatchObject({ code: 'INPUT_STRING_TOO_LONG', details: { field: 'message' } });
    const key = await send({ to: '+14155550306', message: 'x', contentVariables: { ['k'.repeat(20_000)]: 'v' } });
    expect(key.status).toBe(400);
    expect(key.body).toMatchObject({ code: 'INPUT_STRING_TOO_LONG' });
  });

  it('still takes a full-size valid bulk send', async () => {
    const messages = Array.from({ length: 1000 }, (_, i) => ({
      to: `+1415556${String(i).padStart(4, '0')}`,
      contentSid: 'HX0000000000000000000000000000a001',
      contentVariables: { '1': 'Ada', '2': '12 Dec' },
    }));
    const res = await send({ messages }, '/api/v1/whatsapp/send/bulk');
    expect(res.status).toBe(202);
  });

  it.each([
    ['/api/v1/whatsapp/messages?since=2026-W48-5', 'since'],
    ['/api/v1/whatsapp/messages?until=2026-W48', 'until'],
    ['/api/v1/whatsapp/messages?since=2026-331', 'since'],
    ['/api/v1/whatsapp/messages?since=%2B275760-09-13T00:00:00Z', 'since'],
    ['/api/v1/whatsapp/delivery-metrics?since=2026-W48-5T10:00:00Z', 'since'],
    ['/api/v1/whatsapp/delivery-metrics?until=2026-W48-5', 'until'],
  ])('refuses the ISO week or ordinal date in %s with 400 naming %s', async (path, field) => {
    const res = await t.api(path, { token: t.adminToken });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field }] });
  });

  it('refuses a week date in a retry window with 400', async () => {
    const res = await t.api('/api/v1/whatsapp/retry', { body: { since: '2026-W48-5' }, token: t.adminToken });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'since' }] });
  });

  it.each(['1', '2026-11-27 10:00', '+275760-09-13T00:00:00.000Z', 'Sat, 01 Jan 2000 00:00:00 GMT'])(
    'refuses a list cursor whose date is %p with 400 naming the cursor',
    async (date) => {
      const cursor = Buffer.from(JSON.stringify({ c: date, i: '4d577619-1b2c-4d5e-8f90-0a1b2c3d4e5f' })).toString('base64url');
      const res = await t.api(`/api/v1/whatsapp/messages?cursor=${cursor}`, { token: t.adminToken });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'cursor' } });
    },
  );

  it('still pages with the cursors it hands out', async () => {
    for (let i = 0; i < 3; i++) expect((await send({ to: `+1415555031${i}`, message: 'page' })).status).toBe(202);
    const first = await t.api('/api/v1/whatsapp/messages?limit=2', { token: t.adminToken });
    expect(first.status).toBe(200);
    const next = await t.api(`/api/v1/whatsapp/messages?limit=2&cursor=${first.body.nextCursor}`, { token: t.adminToken });
    expect(next.status).toBe(200);
    expect(next.body.data.length).toBeGreaterThan(0);
    const firstIds = new Set(first.body.data.map((m: { id: string }) => m.id));
    expect(next.body.data.filter((m: { id: string }) => firstIds.has(m.id))).toEqual([]);
  });
});
