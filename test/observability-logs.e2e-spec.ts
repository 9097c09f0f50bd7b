import { Logger } from '@nestjs/common';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_PASSWORD, startTestApp, TestApp, waitFor } from './support/test-app';
import { FORM, formBody, twilioSignature } from './support/twilio-signing';

interface LogLine {
  level: number;
  msg?: string;
  reqId?: string;
  context?: string;
  req?: { headers?: Record<string, string> };
  [key: string]: unknown;
}

describe('structured logs (e2e)', () => {
  let t: TestApp;
  let root: string;
  let logDir: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'wa-logs-'));
    logDir = join(root, 'nested', 'logs'); // created by the service
    t = await startTestApp({ LOG_DIR: logDir, LOG_LEVEL: 'info' });
  });
  afterAll(async () => {
    await t?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const read = (file: string): LogLine[] =>
    existsSync(join(logDir, file))
      ? readFileSync(join(logDir, file), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as LogLine)
      : [];

  it('writes JSON lines to LOG_DIR/app.log with the request id, and never a password, token or signature', async () => {
    const token = await t.login('admin@example.com', ADMIN_PASSWORD);
    const wrong = await t.api('/api/v1/auth/login', { body: { email: 'admin@example.com', password: 'wrong-password-do-not-log' } });
    expect(wrong.status).toBe(401);
    const traced = await t.api('/api/v1/whatsapp/messages?limit=1', { token, headers: { 'x-request-id': 'trace-abc-123' } });
    // A client that also puts its token in the query string: answered 400 (unknown parameter), logged without it.
    const inQuery = await t.api(`/api/v1/whatsapp/messages?access_token=${token}`, { token, headers: { 'x-request-id': 'token-in-query' } });
    expect(inQuery.status).toBe(400);
    expect(traced.headers.get('x-request-id')).toBe('trace-abc-123');
    const signature = twilioSignature('not-the-auth-token-000000000', t.config.twilio.statusCallbackUrl, { MessageSid: 'SMx' });
    const forged = await t.api('/api/v1/whatsapp/status', { body: formBody({ MessageSid: 'SMx', MessageStatus: 'read' }), headers: { ...FORM, 'x-twilio-signature': signature } });
    expect(forged.status).toBe(403);
    // Code that quotes a credential by mistake, inside and outside a request.
    new Logger('RedactionCheck').warn(`retrying with Authorization: Bearer ${token} and JWT ${token}`);
    new Logger('RedactionCheck').warn({ msg: 'user payload', password: 'hunter2-not-logged', body: { password: 'hunter3-not-logged' } });

    const lines = await waitFor(async () => {
      const all = read('app.log');
      return all.some((l) => l.reqId === 'trace-abc-123') && all.some((l) => l.context === 'RedactionCheck') && all.length > 5 ? all : undefined;
    }, 'the log lines to reach app.log');

    const text = readFileSync(join(logDir, 'app.log'), 'utf8');
    for (const secret of [ADMIN_PASSWORD, 'wrong-password-do-not-log', token, signature, 'hunter2-not-logged', 'hunter3-not-logged', t.config.auth.jwtSecret]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('[REDACTED]');

    // Every access line carries the request id Fastify gave the request (the caller's, when sane).
    const access = lines.filter((l) => l.msg === 'request completed');
    expect(access.length).toBeGreaterThanOrEqual(4);
    for (const line of access) expect(line.reqId).toEqual(expect.any(String));
    const tracedLine = access.find((l) => l.reqId === 'trace-abc-123')!;
    expect(access.find((l) => l.reqId === 'token-in-query')).toMatchObject({ req: { url: '/api/v1/whatsapp/messages?access_token=[REDACTED]' } });
    expect(tracedLine.req!.headers!.authorization).toBe('[REDACTED]');
    const forgedLine = access.find((l) => (l.req as { url?: string })?.url === '/api/v1/whatsapp/status')!;
    expect(forgedLine).toMatchObject({ level: 40, req: { headers: { 'x-twilio-signature': '[REDACTED]' } } });
    // Nest Logger calls made while serving a request carry its id too (the signature guard's error),
    // and a signature failure, which loses Twilio's callbacks, is in error.log.
    const guardLine = lines.find((l) => l.context === 'TwilioSignature' && l.reqId === forgedLine.reqId);
    expect(guardLine).toMatchObject({ level: 50, msg: expect.stringContaining('Rejected status webhook') });
    const inErrorLog = await waitFor(async () => read('error.log').find((l) => l.context === 'TwilioSignature' && l.reqId === forgedLine.reqId), 'the rejection in error.log');
    expect(inErrorLog.msg).toContain('signature');
  });

  it('sends errors (level >= 50) to LOG_DIR/error.log, with the request id the client was given', async () => {
    // A broken database object: the query fails, the filter answers 500 and logs the stack.
    await t.query(`ALTER TABLE delivery_rollup_hour RENAME TO delivery_rollup_hour_away`);
    let requestId: string;
    try {
      const res = await t.api('/api/v1/whatsapp/delivery-metrics?since=2025-06-01T00:00:00Z&until=2025-06-03T00:00:00Z', { token: t.adminToken });
      expect(res.status).toBe(500);
      expect(res.body).toMatchObject({ code: 'INTERNAL_ERROR', requestId: expect.any(String) });
      expect(JSON.stringify(res.body)).not.toContain('delivery_rollup_hour'); // the cause stays in the log
      requestId = res.body.requestId;
    } finally {
      await t.query(`ALTER TABLE delivery_rollup_hour_away RENAME TO delivery_rollup_hour`);
    }
    const errors = await waitFor(async () => {
      const all = read('error.log');
      return all.some((l) => l.reqId === requestId && l.context === 'Exceptions') ? all : undefined;
    }, 'the error to reach error.log');
    for (const line of errors) expect(line.level).toBeGreaterThanOrEqual(50);
    const logged = errors.find((l) => l.reqId === requestId && l.context === 'Exceptions')!;
    expect(JSON.stringify(logged)).toContain('delivery_rollup_hour');
    // The same lines are in app.log, which has everything.
    expect(read('app.log').some((l) => l.reqId === requestId && l.level === 50)).toBe(true);
    expect(read('app.log').some((l) => l.level < 50)).toBe(true);
  });

  it("tags every line a queue worker logs with its job id, like requests' lines with theirs", async () => {
    const res = await t.api('/api/v1/whatsapp/send', { body: { to: '+15005550001', message: 'will fail 21211' }, token: t.adminToken });
    expect(res.status).toBe(202);
    const line = await waitFor(
      async () => read('app.log').find((l) => l.context === 'MessageDispatchService' && String(l.msg).includes(res.body.id)),
      'the worker line about the failed send',
    );
    expect(line).toMatchObject({ level: 40, jobId: `send-${res.body.id}`, job: 'send-message', attempt: 1 });
  });
});
