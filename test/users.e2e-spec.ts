import { ADMIN_EMAIL, ADMIN_PASSWORD, startTestApp, TestApp, waitFor } from './support/test-app';

describe('user management (e2e)', () => {
  let t: TestApp;
  /** A second process on the same database, as another replica would be. */
  let other: TestApp;

  // Passport keeps one 'jwt' strategy per Node process, the last app's: `other` starts first so
  // that bearer tokens sent to `t` are checked by `t`'s own user cache. On `other`, the test reads
  // what that process thinks of a user through /metrics, which checks admin tokens with its own
  // verifier and cache (and API keys through its own guard), as a separate replica would.
  beforeAll(async () => {
    other = await startTestApp();
    t = await startTestApp({ DATABASE_URL: other.databaseUrl, JWT_SECRET: other.config.auth.jwtSecret });
  });
  afterAll(async () => {
    await t?.close();
    await other?.close();
  });

  const users = (init: { method?: string; body?: unknown; token?: string } = {}, id?: string) =>
    t.api(id ? `/api/v1/users/${id}` : '/api/v1/users', { token: t.adminToken, ...init, method: init.method ?? (init.body !== undefined ? (id ? 'PATCH' : 'POST') : 'GET') });
  const createUser = async (email: string, role: 'sender' | 'admin', password = 'a-long-password-42') => {
    const res = await users({ body: { email, role, password } });
    expect(res.status).toBe(201);
    return res.body as { id: string; email: string; role: string; active: boolean };
  };
  // `t` runs on `other`'s database.
  const adminId = async () => (await other.query(`SELECT id FROM users WHERE email = $1`, [ADMIN_EMAIL]))[0].id as string;
  const unknownMessage = '/api/v1/whatsapp/delivery-status/00000000-0000-4000-8000-000000000000';

  it('creates a user who can log in, and lists and shows users without password hashes', async () => {
    const created = await createUser('Ops@Example.com', 'sender');
    expect(created).toEqual({ id: expect.any(String), email: 'ops@example.com', role: 'sender', active: true, createdAt: expect.any(String), updatedAt: expect.any(String) });
    expect(await t.login('ops@example.com', 'a-long-password-42')).toEqual(expect.any(String));

    const list = await users();
    expect(list.status).toBe(200);
    expect(list.body.map((u: { email: string }) => u.email)).toEqual(expect.arrayContaining([ADMIN_EMAIL, 'ops@example.com']));
    expect(list.body[0].email).toBe(ADMIN_EMAIL);
    expect(list.text).not.toMatch(/argon2|passwordHash/);
    expect((await users({}, created.id)).body).toEqual(created);
  });

  it('generates a password when none is given and answers it once', async () => {
    const res = await users({ body: { email: 'generated@example.com', role: 'sender' } });
    expect(res.status).toBe(201);
    expect(res.body.generatedPassword).toEqual(expect.any(String));
    expect(await t.login('generated@example.com', res.body.generatedPassword)).toEqual(expect.any(String));
    const shown = await users({}, res.body.id);
    expect(shown.body.generatedPassword).toBeUndefined();
  });

  it('refuses bad input, a taken email and unknown users with a code', async () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ email: 'not-an-email', role: 'sender' }, 'email'],
      [{ email: 'x@example.com', role: 'owner' }, 'role'],
      [{ email: 'x@example.com', role: 'sender', password: 'short-pw' }, 'password'],
      [{ email: 'x@example.com', role: 'sender', password: 'Password123!' }, 'password'],
    ];
    for (const [body, field] of bad) {
      const res = await users({ body });
      expect({ body, status: res.status, code: res.body.code, fields: res.body.details?.map((d: { field: string }) => d.field) }).toEqual({ body, status: 400, code: 'VALIDATION_FAILED', fields: [field] });
    }
    const taken = await users({ body: { email: ADMIN_EMAIL.toUpperCase(), role: 'sender' } });
    expect(taken.body).toMatchObject({ statusCode: 409, code: 'USER_ALREADY_EXISTS' });
    for (const id of ['00000000-0000-4000-8000-000000000000', 'nope']) {
      expect((await users({}, id)).body).toMatchObject({ statusCode: 404, code: 'USER_NOT_FOUND' });
      expect((await users({ body: { active: false } }, id)).body).toMatchObject({ statusCode: 404, code: 'USER_NOT_FOUND' });
    }
    const someone = await createUser('patch-checks@example.com', 'sender');
    for (const body of [{}, { resetPassword: true, password: 'a-long-password-43' }, { active: 'no' }, { role: 'root' }, { password: 'admin' }]) {
      const res = await users({ body }, someone.id);
      expect({ body, status: res.status, code: res.body.code }).toEqual({ body, status: 400, code: 'VALIDATION_FAILED' });
    }
  });

  it('keeps the user routes for admins (403 for a sender, 401 without credentials)', async () => {
    await createUser('plain-sender@example.com', 'sender');
    const token = await t.login('plain-sender@example.com', 'a-long-password-42');
    expect((await users({ token })).body).toMatchObject({ statusCode: 403, code: 'FORBIDDEN' });
    expect((await users({ token, body: { email: 'sneaky@example.com', role: 'admin' } })).body).toMatchObject({ statusCode: 403, code: 'FORBIDDEN' });
    expect((await t.api('/api/v1/users')).body).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
  });

  it('changes a role, which applies to the tokens already issued', async () => {
    const user = await createUser('promoted@example.com', 'sender');
    const token = await t.login('promoted@example.com', 'a-long-password-42');
    expect((await users({ token })).status).toBe(403);
    const res = await users({ body: { role: 'admin' } }, user.id);
    expect(res.body).toMatchObject({ id: user.id, role: 'admin', active: true });
    expect((await users({ token })).status).toBe(200);
  });

  it('sets and resets passwords', async () => {
    const user = await createUser('forgetful@example.com', 'sender');
    const set = await users({ body: { password: 'a-brand-new-password-7' } }, user.id);
    expect(set.status).toBe(200);
    expect(set.body.generatedPassword).toBeUndefined();
    await expect(t.login('forgetful@example.com', 'a-long-password-42')).rejects.toThrow(/401/);
    expect(await t.login('forgetful@example.com', 'a-brand-new-password-7')).toEqual(expect.any(String));

    const reset = await users({ body: { resetPassword: true } }, user.id);
    expect(reset.body.generatedPassword).toEqual(expect.any(String));
    await expect(t.login('forgetful@example.com', 'a-brand-new-password-7')).rejects.toThrow(/401/);
    expect(await t.login('forgetful@example.com', reset.body.generatedPassword)).toEqual(expect.any(String));
  });

  it('deactivates a user at once here and within seconds on another process, and reactivates them', async () => {
    const user = await createUser('leaver@example.com', 'admin');
    const here = await t.login('leaver@example.com', 'a-long-password-42');
    expect((await t.api(unknownMessage, { token: here })).status).toBe(404);
    expect((await other.api('/metrics', { token: here })).status).toBe(200);

    const res = await users({ body: { active: false } }, user.id);
    expect(res.body).toMatchObject({ id: user.id, active: false });
    expect((await t.api(unknownMessage, { token: here })).body).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
    await waitFor(async () => (await other.api('/metrics', { token: here })).status === 401, 'the other process to refuse the token', 10_000, 200);
    await expect(t.login('leaver@example.com', 'a-long-password-42')).rejects.toThrow(/401/);

    await users({ body: { active: true } }, user.id);
    expect((await t.api(unknownMessage, { token: here })).status).toBe(404);
  });

  it('revokes an API key within seconds on another process', async () => {
    const created = await t.api('/api/v1/api-keys', { token: t.adminToken, body: { name: 'replicated', role: 'sender' } });
    const key = created.body.apiKey as string;
    expect((await other.api(unknownMessage, { headers: { 'x-api-key': key } })).status).toBe(404);
    await t.api(`/api/v1/api-keys/${created.body.id}`, { method: 'DELETE', token: t.adminToken });
    expect((await t.api(unknownMessage, { headers: { 'x-api-key': key } })).body.code).toBe('API_KEY_REVOKED');
    const refused = await waitFor(
      async () => {
        const res = await other.api(unknownMessage, { headers: { 'x-api-key': key } });
        return res.status === 401 ? res : undefined;
      },
      'the other process to refuse the key',
      10_000,
      200,
    );
    expect(refused.body.code).toBe('API_KEY_REVOKED');
  });

  it('never leaves the service without an active admin', async () => {
    const me = await adminId();
    // The bootstrap admin is the only active admin in this database unless another test promoted someone: demote them first.
    const admins = (await users()).body.filter((u: { id: string; role: string; active: boolean }) => u.role === 'admin' && u.active && u.id !== me);
    for (const a of admins) expect((await users({ body: { role: 'sender' } }, a.id)).status).toBe(200);

    for (const body of [{ active: false }, { role: 'sender' }, { role: 'sender', active: false }]) {
      const res = await users({ body }, me);
      expect({ body, status: res.status, code: res.body.code }).toEqual({ body, status: 409, code: 'LAST_ACTIVE_ADMIN' });
    }
    expect((await other.query(`SELECT role, active FROM users WHERE id = $1`, [me]))[0]).toEqual({ role: 'admin', active: true });
    // A change that keeps the admin an admin is fine.
    expect((await users({ body: { password: ADMIN_PASSWORD } }, me)).status).toBe(200);

    // With a second admin, either may step down, but not both: the second attempt finds one admin left.
    // Both sent with an admin API key, which neither deactivation affects.
    const second = await createUser('second-admin@example.com', 'admin');
    const key = (await t.api('/api/v1/api-keys', { token: t.adminToken, body: { name: 'ops', role: 'admin' } })).body.apiKey as string;
    const deactivate = (id: string) => t.api(`/api/v1/users/${id}`, { method: 'PATCH', body: { active: false }, headers: { 'x-api-key': key } });
    const [a, b] = await Promise.all([deactivate(second.id), deactivate(me)]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const left = await other.query(`SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND active`);
    expect(left[0].n).toBe(1);
  });
});
