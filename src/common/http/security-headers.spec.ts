import Fastify from 'fastify';
import { registerSecurityHeaders } from './security-headers';

async function headersOf(hsts: boolean, preset?: Record<string, string>) {
  const app = Fastify();
  registerSecurityHeaders(app, { hsts });
  app.get('/', async (_req, reply) => {
    for (const [k, v] of Object.entries(preset ?? {})) reply.header(k, v);
    return { ok: true };
  });
  const res = await app.inject({ method: 'GET', url: '/' });
  await app.close();
  return res.headers;
}

describe('registerSecurityHeaders', () => {
  it('adds HSTS only when asked (production)', async () => {
    expect((await headersOf(true))['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect((await headersOf(false))['strict-transport-security']).toBeUndefined();
    expect((await headersOf(false))['x-content-type-options']).toBe('nosniff');
  });

  it('leaves a header a route set itself', async () => {
    expect((await headersOf(false, { 'x-frame-options': 'SAMEORIGIN' }))['x-frame-options']).toBe('SAMEORIGIN');
  });
});
