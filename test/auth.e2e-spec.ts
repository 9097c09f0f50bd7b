import jwt from 'jsonwebtoken';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startTestApp, TestApp } from './support/test-app';

describe('auth (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('logs in the bootstrap admin with a bearer token', async () => {
    const res = await t.api('/api/v1/auth/login', { body: { email: ADMIN_EMAIL.toUpperCase(), password: ADMIN_PASSWORD } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ accessToken: expect.any(String), tokenType: 'Bearer', expiresIn: 3600 });
    const claims = jwt.verify(res.body.accessToken, t.config.auth.jwtSecret, { algorithms: ['HS256'] }) as jwt.JwtPayload;
    expect(claims).toMatchObject({ email: ADMIN_EMAIL, role: 'admin', iss: 'whatsapp-service', aud: 'whatsapp-api' });
    const [row] = await t.query<{ passwordHash: string }>(`SELECT "passwordHash" FROM users WHERE email = $1`, [ADMIN_EMAIL]);
    expect(row.passwordHash).toMatch(/^\$argon2id\$/);
  });

  it.each([
    [{ email: ADMIN_EMAIL, password: 'wrong-password' }],
    [{ email: 'nobody@example.com', password: ADMIN_PASSWORD }],
  ])('answers 401 with a JSON body for bad credentials %p', async (body) => {
    const res = await t.api('/api/v1/auth/login', { body });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ statusCode: 401, code: 'INVALID_CREDENTIALS', message: 'Invalid email or password' });
  });

  it('answers 400 naming the field for a malformed login', async () => {
    const res = await t.api('/api/v1/auth/login', { body: { email: 'not-an-email', password: 'x' } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.details).toEqual([{ field: 'email', errors: ['email must be an email address'] }]);
  });

  describe('protected routes', () => {
    const path = '/api/v1/whatsapp/delivery-status/00000000-0000-4000-8000-000000000000';
    const sign = (claims: object, secret: string, opts: jwt.SignOptions) => jwt.sign(claims, secret, opts);

    it('refuses a missing token with 401 JSON', async () => {
      const res = await t.api(path);
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED', message: expect.stringContaining('Missing bearer token') });
      expect(res.body.requestId).toBe(res.headers.get('x-request-id'));
    });

    it('refuses forged, expired and wrong-audience tokens', async () => {
      const me = jwt.decode(t.adminToken) as jwt.JwtPayload;
      const claims = { sub: me.sub, email: me.email, role: 'admin' };
      const base = { algorithm: 'HS256' as const, issuer: 'whatsapp-service', audience: 'whatsapp-api' };
      const tokens = {
        forged: sign(claims, 'f'.repeat(64), { ...base, expiresIn: 60 }),
        expired: sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 5 }, t.config.auth.jwtSecret, base),
        audience: sign(claims, t.config.auth.jwtSecret, { ...base, audience: 'other', expiresIn: 60 }),
        issuer: sign(claims, t.config.auth.jwtSecret, { ...base, issuer: 'other', expiresIn: 60 }),
        hs512: sign(claims, t.config.auth.jwtSecret, { ...base, algorithm: 'HS512', expiresIn: 60 }),
        garbage: 'not.a.jwt',
      };
      for (const [name, token] of Object.entries(tokens)) {
        const res = await t.api(path, { token });
        expect({ name, status: res.status, code: res.body?.code }).toEqual({ name, status: 401, code: 'UNAUTHORIZED' });
      }
      const expired = await t.api(path, { token: tokens.expired });
      expect(expired.body.message).toContain('expired');
    });

    it('accepts a valid token (404 for an unknown message, as JSON)', async () => {
      const res = await t.api(path, { token: t.adminToken });
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ statusCode: 404, code: 'MESSAGE_NOT_FOUND' });
    });

    it('refuses the token of a user who no longer exists', async () => {
      const ghost = sign({ sub: '11111111-1111-4111-8111-111111111111', email: 'ghost@example.com', role: 'admin' }, t.config.auth.jwtSecret, {
        algorithm: 'HS256',
        issuer: 'whatsapp-service',
        audience: 'whatsapp-api',
        expiresIn: 60,
      });
      expect((await t.api(path, { token: ghost })).status).toBe(401);
    });
  });

  it('publishes an OpenAPI document with the bearer scheme and every route', async () => {
    const res = await t.api('/docs-json');
    expect(res.status).toBe(200);
    expect(res.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/auth/login',
        '/api/v1/whatsapp/send',
        '/api/v1/whatsapp/delivery-status/{id}',
        '/api/v1/whatsapp/messages/{id}/events',
        '/api/v1/whatsapp/status',
        '/api/v1/whatsapp/webhook',
        '/api/v1/health',
      ]),
    );
    expect(res.body.paths['/api/v1/whatsapp/send'].post.responses['400'].content['application/json'].schema.$ref).toBe('#/components/schemas/ErrorBodyDto');
    const ui = await t.api('/docs');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger');
  });

  it('slows down password guessing: 429 after 20 logins a minute from one address', async () => {
    let status = 0;
    for (let i = 0; i < 25 && status !== 429; i++) {
      status = (await t.api('/api/v1/auth/login', { body: { email: ADMIN_EMAIL, password: `guess-${i}` } })).status;
    }
    expect(status).toBe(429);
    // A made-up bearer token does not buy a fresh budget for the same address.
    const fake = `x.${Buffer.from(JSON.stringify({ sub: '5f1d7a2e-0000-4000-8000-000000000001' })).toString('base64url')}.y`;
    const again = await t.api('/api/v1/auth/login', { body: { email: ADMIN_EMAIL, password: 'guess-x' }, token: fake });
    expect(again.status).toBe(429);
    // Nor does a real one: the attempts stay with the address, whoever's token comes along.
    const withToken = await t.api('/api/v1/auth/login', { body: { email: ADMIN_EMAIL, password: 'guess-y' }, token: t.adminToken });
    expect(withToken.status).toBe(429);
  });
});
