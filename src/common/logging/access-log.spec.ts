import Fastify, { FastifyInstance } from 'fastify';
import { storage } from 'nestjs-pino/storage';
import pino, { Level, Logger } from 'pino';
import { Writable } from 'node:stream';
import { registerAccessLog } from './access-log';
import { REDACT_PATHS, REDACTED } from './redaction';

interface Line {
  level: number;
  msg: string;
  reqId?: string;
  req?: { method: string; url: string; headers: Record<string, string> };
  res?: { statusCode: number };
  responseTime?: number;
  err?: { message: string };
}

describe('registerAccessLog', () => {
  let app: FastifyInstance;
  let lines: Line[];
  let root: Logger;

  const start = async (level: Level): Promise<void> => {
    lines = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().trim().split('\n').map((l) => JSON.parse(l) as Line));
        done();
      },
    });
    root = pino({ level, redact: { paths: REDACT_PATHS, censor: REDACTED } }, sink);
    app = Fastify({ genReqId: () => `r-${Math.random().toString(36).slice(2, 8)}` });
    registerAccessLog(app, () => root, ['configured-secret-value']);
    app.get('/ok', async () => {
      storage.getStore()?.logger.warn('inside the handler');
      return { ok: true };
    });
    app.get('/quiet', async () => 'nothing');
    app.get('/boom', async () => {
      throw new Error('handler failed');
    });
    app.get('/api/v1/health/live', async () => 'up');
    await app.ready();
  };
  afterEach(() => app?.close());

  it('writes one access line per request with the request, the status and the time, and the reqId on lines logged inside', async () => {
    await start('info');
    const res = await app.inject({ method: 'GET', url: '/ok?access_token=abc123def456&x=1', headers: { authorization: 'Bearer abc.def.ghi' } });
    expect(res.statusCode).toBe(200);
    const inside = lines.find((l) => l.msg === 'inside the handler')!;
    const access = lines.find((l) => l.msg === 'request completed')!;
    expect(inside.reqId).toMatch(/^r-/);
    expect(access).toMatchObject({ level: 30, reqId: inside.reqId, req: { method: 'GET', url: `/ok?access_token=${REDACTED}&x=1` }, res: { statusCode: 200 } });
    expect(access.req!.headers.authorization).toBe(REDACTED);
    expect(access.responseTime).toEqual(expect.any(Number));
  });

  it('logs 4xx at warn and 5xx as "request errored" at error', async () => {
    await start('info');
    await app.inject({ method: 'GET', url: '/missing' });
    await app.inject({ method: 'GET', url: '/boom' });
    const missing = lines.find((l) => l.req?.url === '/missing')!;
    const boom = lines.find((l) => l.req?.url === '/boom')!;
    expect(missing).toMatchObject({ level: 40, msg: 'request completed', res: { statusCode: 404 } });
    expect(boom).toMatchObject({ level: 50, msg: 'request errored', res: { statusCode: 500 }, err: { message: 'failed with status code 500' } });
  });

  it('writes nothing for a 2xx at LOG_LEVEL=warn, and makes no request logger for a request that logs nothing', async () => {
    await start('warn');
    const child = jest.spyOn(root, 'child');
    await app.inject({ method: 'GET', url: '/quiet' });
    expect(lines).toEqual([]);
    expect(child).toHaveBeenCalledTimes(0);
    await app.inject({ method: 'GET', url: '/ok' });
    expect(lines.map((l) => l.msg)).toEqual(['inside the handler']);
    expect(child).toHaveBeenCalledTimes(1);
  });

  it('keeps probes out of the access log', async () => {
    await start('info');
    await app.inject({ method: 'GET', url: '/api/v1/health/live' });
    await app.inject({ method: 'GET', url: '/quiet' });
    expect(lines.map((l) => l.req?.url)).toEqual(['/quiet']);
  });
});
