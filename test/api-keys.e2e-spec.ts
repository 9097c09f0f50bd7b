import { Logger } from '@nestjs/common';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserRole } from '../src/modules/auth/entities/user.entity';
import { UsersService } from '../src/modules/auth/users.service';
import { ApiResponse, startTestApp, TestApp, waitFor } from './support/test-app';

const RATE_LIMIT = 60;

describe('API keys (e2e)', () => {
  let t: TestApp;
  let root: string;
  let logDir: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'wa-keys-'));
    logDir = join(root, 'logs');
    t = await startTestApp({ LOG_DIR: logDir, LOG_LEVEL: 'info', API_RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT) });
  });
  afterAll(async () => {
    await t?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const createKey = async (body: Record<string, unknown>, token = t.adminToken): Promise<ApiResponse> => t.api('/api/v1/api-keys', { body, token });
  const newKey = async (role: 'sender' | 'admin', name = `${role}-key`): Promise<{ id: string; apiKey: string }> => {
    const res = await createKey({ name, role });
    expect(res.status).toBe(201);
    return res.body;
  };
  const withKey = (key: string, path: string, init: { body?: unknown; method?: string; header?: 'x-api-key' | 'bearer' } = {}) =>
    t.api(path, { body: init.body, method: init.method, headers: init.header === 'bearer' ? { authorization: `Bearer ${key}` } : { 'x-api-key': key } });
  const unknownMessage = '/api/v1/whatsapp/delivery-status/00000000-0000-4000-8000-000000000000';

  it('answers a new key once, stores only its hash, and lists it without the secret', async () => {
    const res = await createKey({ name: '  crm-prod ', role: 'sender', expiresAt: '2099-01-01T00:00:00Z' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      name: 'crm-prod',
      role: 'sender',
      prefix: expect.stringMatching(/^wsk_.{6}$/),
      lastFour: expect.stringMatching(/^.{4}$/),
      createdBy: expect.any(String),
      createdAt: expect.any(String),
      expiresAt: '2099-01-01T00:00:00.000Z',
      lastUsedAt: null,
      revokedAt: null,
      apiKey: expect.stringMatching(/^wsk_[A-Za-z0-9_-]{43}$/),
    });
    const { apiKey, id, prefix, lastFour } = res.body;
    expect(apiKey.startsWith(prefix)).toBe(true);
    expect(apiKey.endsWith(lastFour)).toBe(true);

    const [admin] = await t.query(`SELECT id FROM users WHERE email = 'admin@example.com'`);
    expect(res.body.createdBy).toBe(admin.id);
    const rows = await t.query(`SELECT * FROM api_keys WHERE id = $1`, [id]);
    expect(JSON.stringify(rows)).not.toContain(apiKey.slice(4));

    const list = await t.api('/api/v1/api-keys', { token: t.adminToken });
    expect(list.status).toBe(200);
    const listed = list.body.find((k: { id: string }) => k.id === id);
    expect(listed).toEqual({ ...res.body, apiKey: undefined });
    expect(list.text).not.toContain(apiKey);
  });

  it('authenticates with X-API-Key and with Authorization: Bearer, and records when the key was used', async () => {
    const { id, apiKey } = await newKey('sender');
    for (const header of ['x-api-key', 'bearer'] as const) {
      const res = await withKey(apiKey, unknownMessage, { header });
      expect({ header, status: res.status, code: res.body.code }).toEqual({ header, status: 404, code: 'MESSAGE_NOT_FOUND' });
    }
    const used = await waitFor(async () => (await t.query(`SELECT "lastUsedAt" FROM api_keys WHERE id = $1`, [id]))[0].lastUsedAt, 'lastUsedAt');
    expect(used).toBeInstanceOf(Date);
  });

  it('refuses unknown, malformed, expired and revoked keys with 401 and a code', async () => {
    const { apiKey } = await newKey('sender');
    const cases: [string, string, string][] = [
      ['unknown', `wsk_${'A'.repeat(43)}`, 'API_KEY_INVALID'],
      ['malformed', 'wsk_short', 'API_KEY_INVALID'],
      ['not a key at all', 'hello', 'API_KEY_INVALID'],
      ['one character changed', `${apiKey.slice(0, -1)}${apiKey.endsWith('A') ? 'B' : 'A'}`, 'API_KEY_INVALID'],
    ];
    for (const [name, key, code] of cases) {
      for (const header of ['x-api-key', 'bearer'] as const) {
        if (header === 'bearer' && !key.startsWith('wsk_')) continue;
        const res = await withKey(key, unknownMessage, { header });
        expect({ name, header, status: res.status, code: res.body.code }).toEqual({ name, header, status: 401, code });
      }
    }

    const soon = await createKey({ name: 'short-lived', role: 'sender', expiresAt: new Date(Date.now() + 1_500).toISOString() });
    expect(soon.status).toBe(201);
    expect((await withKey(soon.body.apiKey, unknownMessage)).status).toBe(404);
    const expired = await waitFor(async () => {
      const res = await withKey(soon.body.apiKey, unknownMessage);
      return res.status === 401 ? res : undefined;
    }, 'the key to expire');
    expect(expired.body).toMatchObject({ statusCode: 401, code: 'API_KEY_EXPIRED', message: expect.stringContaining('expired') });
  });

  it('revokes a key at once in this process', async () => {
    const { id, apiKey } = await newKey('sender');
    expect((await withKey(apiKey, unknownMessage)).status).toBe(404);
    const revoked = await t.api(`/api/v1/api-keys/${id}`, { method: 'DELETE', token: t.adminToken });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id, revokedAt: expect.any(String) });
    expect(revoked.text).not.toContain(apiKey);
    for (const header of ['x-api-key', 'bearer'] as const) {
      const res = await withKey(apiKey, unknownMessage, { header });
      expect(res.body).toMatchObject({ statusCode: 401, code: 'API_KEY_REVOKED' });
    }
    // Revoking again keeps the first time; an unknown id is a 404 with a code.
    const again = await t.api(`/api/v1/api-keys/${id}`, { method: 'DELETE', token: t.adminToken });
    expect(again.body.revokedAt).toBe(revoked.body.revokedAt);
    for (const missing of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const res = await t.api(`/api/v1/api-keys/${missing}`, { method: 'DELETE', token: t.adminToken });
      expect(res.body).toMatchObject({ statusCode: 404, code: 'API_KEY_NOT_FOUND' });
    }
  });

  it('keeps a sender key off admin routes (403) and lets an admin key use them', async () => {
    const sender = await newKey('sender');
    const admin = await newKey('admin');
    for (const [path, init] of [
      ['/api/v1/api-keys', {}],
      ['/api/v1/api-keys', { body: { name: 'escalate', role: 'admin' } }],
      ['/api/v1/users', {}],
      ['/api/v1/whatsapp/delivery-metrics', {}],
    ] as const) {
      const res = await withKey(sender.apiKey, path, init);
      expect({ path, status: res.status, code: res.body.code }).toEqual({ path, status: 403, code: 'FORBIDDEN' });
    }
    expect((await withKey(admin.apiKey, '/api/v1/users')).status).toBe(200);
    expect((await withKey(admin.apiKey, '/api/v1/whatsapp/delivery-metrics', { header: 'bearer' })).status).toBe(200);
    // /metrics sits outside Nest's guards and takes an admin key as its bearer token too.
    expect((await withKey(admin.apiKey, '/metrics', { header: 'bearer' })).status).toBe(200);
    expect((await withKey(sender.apiKey, '/metrics', { header: 'bearer' })).status).toBe(403);

    const made = await withKey(admin.apiKey, '/api/v1/api-keys', { body: { name: 'made-by-a-key', role: 'sender' } });
    expect(made.status).toBe(201);
    expect(made.body.createdBy).toBe(admin.id);
  });

  it("records a key's sends as the key's own: the key and admins see them, another sender does not", async () => {
    const { id, apiKey } = await newKey('sender', 'shop');
    const sent = await withKey(apiKey, '/api/v1/whatsapp/send', { body: { to: '+14155550177', message: 'Your parcel is on its way' } });
    expect(sent.status).toBe(202);
    const [row] = await t.query(`SELECT "createdBy" FROM "WhatsAppMessage" WHERE id = $1`, [sent.body.id]);
    expect(row.createdBy).toBe(id);

    expect((await withKey(apiKey, `/api/v1/whatsapp/delivery-status/${sent.body.id}`)).status).toBe(200);
    const mine = await withKey(apiKey, '/api/v1/whatsapp/messages');
    expect(mine.body.data.map((m: { id: string }) => m.id)).toEqual([sent.body.id]);
    expect((await t.api(`/api/v1/whatsapp/delivery-status/${sent.body.id}`, { token: t.adminToken })).status).toBe(200);

    await t.app.get(UsersService).create('keys-other-sender@example.com', UserRole.Sender, 'sender-password-123');
    const other = await t.login('keys-other-sender@example.com', 'sender-password-123');
    expect((await t.api(`/api/v1/whatsapp/delivery-status/${sent.body.id}`, { token: other })).body.code).toBe('MESSAGE_NOT_FOUND');
    const otherKey = await newKey('sender', 'other-shop');
    expect((await withKey(otherKey.apiKey, `/api/v1/whatsapp/delivery-status/${sent.body.id}`)).body.code).toBe('MESSAGE_NOT_FOUND');
  });

  it('refuses a bad create with 400 naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ role: 'sender' }, 'name'],
      [{ name: '   ', role: 'sender' }, 'name'],
      [{ name: 'x'.repeat(101), role: 'sender' }, 'name'],
      [{ name: 'k', role: 'owner' }, 'role'],
      [{ name: 'k', role: 'sender', expiresAt: 'tomorrow' }, 'expiresAt'],
    ];
    for (const [body, field] of cases) {
      const res = await createKey(body);
      expect({ body, status: res.status, code: res.body.code, fields: res.body.details?.map((d: { field: string }) => d.field) }).toEqual({ body, status: 400, code: 'VALIDATION_FAILED', fields: [field] });
    }
    const past = await createKey({ name: 'k', role: 'sender', expiresAt: '2020-01-01T00:00:00Z' });
    expect(past.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED', message: 'expiresAt must be in the future' });
  });

  it("counts a key's requests against the key, not the address or other keys", async () => {
    const a = await newKey('sender', 'busy');
    const b = await newKey('sender', 'quiet');
    let lastStatus = 0;
    for (let i = 0; i <= RATE_LIMIT; i++) lastStatus = (await withKey(a.apiKey, unknownMessage, { header: i % 2 ? 'bearer' : 'x-api-key' })).status;
    expect(lastStatus).toBe(429);
    expect((await withKey(b.apiKey, unknownMessage)).status).toBe(404);
    expect((await t.api(unknownMessage, { token: t.adminToken })).status).toBe(404);
  });

  it('never writes a key to the log', async () => {
    const { id, apiKey } = await newKey('sender', 'logged');
    await withKey(apiKey, '/api/v1/whatsapp/messages', { header: 'bearer' });
    await t.api(`/api/v1/whatsapp/messages?x-api-key=${apiKey}`, { headers: { 'x-api-key': apiKey } });
    await t.api(`/api/v1/api-keys/${id}`, { method: 'DELETE', token: t.adminToken });
    await withKey(apiKey, '/api/v1/whatsapp/messages');
    new Logger('RedactionCheck').warn(`a client pasted ${apiKey} into a ticket`);

    const file = join(logDir, 'app.log');
    const text = await waitFor(async () => {
      const all = existsSync(file) ? readFileSync(file, 'utf8') : '';
      return all.includes('RedactionCheck') ? all : undefined;
    }, 'the log lines to reach app.log');
    expect(text).toContain('/api/v1/whatsapp/messages');
    expect(text).not.toContain(apiKey.slice(4));
  });
});
