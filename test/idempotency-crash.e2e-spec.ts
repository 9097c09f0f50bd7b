import { randomUUID } from 'node:crypto';
import { IdempotencyService } from '../src/modules/whatsapp/idempotency/idempotency.service';
import { requestHash } from '../src/modules/whatsapp/idempotency/request-hash';
import { ADMIN_EMAIL, startTestApp, TestApp } from './support/test-app';

const SEND = '/api/v1/whatsapp/send';

/**
 * A process killed after its send committed but before the key's answer was stored: the retry
 * with the same key must find that message, never store a second one.
 */
describe('Idempotency-Key across a crash between the commit and the answer (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const send = (body: unknown, key: string) => t.api(SEND, { body, token: t.adminToken, headers: { 'idempotency-key': key } });
  const rowsTo = async (to: string) =>
    (await t.query<{ n: number }>(`SELECT count(*)::int AS n FROM "WhatsAppMessage" WHERE "to" = $1`, [`whatsapp:${to}`]))[0].n;
  // What the lease's end looks like to the database: the claim was made long ago.
  const outliveLease = (key: string) => t.query(`UPDATE idempotency_keys SET "createdAt" = now() - interval '1 hour' WHERE key = $1`, [key]);

  it('a queued send: the answer commits with the message, so a retry replays it at once and after the lease', async () => {
    const to = '+14155550901';
    const key = randomUUID();
    const body = { to, message: 'crash after commit' };
    // The process "dies" after the commit: whatever it would store after the handler never happens.
    const idempotency = t.app.get(IdempotencyService);
    const succeed = jest.spyOn(idempotency, 'succeed').mockResolvedValue(undefined);
    let first;
    try {
      first = await send(body, key);
    } finally {
      succeed.mockRestore();
    }
    expect(first.status).toBe(202);

    const retry = await send(body, key);
    expect({ status: retry.status, replayed: retry.headers.get('idempotent-replayed'), body: retry.body }).toEqual({ status: 202, replayed: 'true', body: first.body });

    await outliveLease(key);
    const late = await send(body, key);
    expect({ status: late.status, body: late.body }).toEqual({ status: 202, body: first.body });
    expect(await rowsTo(to)).toBe(1);
    const [row] = await t.query(`SELECT state, "messageId", "responseStatus" FROM idempotency_keys WHERE key = $1`, [key]);
    expect(row).toEqual({ state: 'completed', messageId: first.body.id, responseStatus: 202 });
  });

  it('a bulk send: its answer commits with its messages, so a retry after the crash replays it and stores nothing more', async () => {
    const key = randomUUID();
    const body = { messages: [{ to: '+14155550911', message: 'one' }, { to: '+14155550912', message: 'two' }, { to: 'not a number', message: 'three' }] };
    const bulk = () => t.api('/api/v1/whatsapp/send/bulk', { body, token: t.adminToken, headers: { 'idempotency-key': key } });
    const succeed = jest.spyOn(t.app.get(IdempotencyService), 'succeed').mockResolvedValue(undefined);
    let first;
    try {
      first = await bulk();
    } finally {
      succeed.mockRestore();
    }
    expect({ status: first.status, accepted: first.body.accepted }).toEqual({ status: 202, accepted: 2 });

    await outliveLease(key);
    const retry = await bulk();
    expect({ status: retry.status, replayed: retry.headers.get('idempotent-replayed'), body: retry.body }).toEqual({ status: 202, replayed: 'true', body: first.body });
    expect((await rowsTo('+14155550911')) + (await rowsTo('+14155550912'))).toBe(2);
  });

  it('an immediate send killed mid-flight: 409 while it may still run, then answered from its message, never stored twice', async () => {
    const to = '+14155550902';
    const key = randomUUID();
    const body = { to, message: 'killed while sending', immediate: true };
    const [{ id: adminId }] = await t.query<{ id: string }>(`SELECT id FROM users WHERE email = $1`, [ADMIN_EMAIL]);
    // The state a SIGKILL during the inline Twilio call leaves: the message and its key committed
    // together, the key still in flight with no answer.
    const [message] = await t.query<{ id: string }>(
      `INSERT INTO "WhatsAppMessage" (direction, "from", "to", body, status, "queuedAt", "createdBy")
       VALUES ('outbound', 'whatsapp:+14155238886', $1, $2, 'queued', now(), $3) RETURNING id`,
      [`whatsapp:${to}`, body.message, adminId],
    );
    await t.query(
      `INSERT INTO idempotency_keys ("userId", route, key, "requestHash", state, "expiresAt", "messageId")
       VALUES ($1, 'whatsapp.send', $2, $3, 'in_flight', now() + interval '1 day', $4)`,
      [adminId, key, requestHash(body), message.id],
    );

    const early = await send(body, key);
    expect({ status: early.status, code: early.body.code }).toEqual({ status: 409, code: 'IDEMPOTENCY_REQUEST_IN_FLIGHT' });

    await outliveLease(key);
    const retry = await send(body, key);
    expect({ status: retry.status, replayed: retry.headers.get('idempotent-replayed'), body: retry.body }).toEqual({
      status: 202,
      replayed: 'true',
      body: { success: true, id: message.id, messageSid: null, status: 'queued' },
    });
    expect((await send(body, key)).body).toEqual(retry.body);
    expect(await rowsTo(to)).toBe(1);
    expect(t.sandbox.control.receivedRequests().filter((r) => r.params.To === `whatsapp:${to}`)).toHaveLength(0);
  });

  it('an immediate send that completed stores its own answer (201 with the SID) over the bound message', async () => {
    const to = '+14155550903';
    const key = randomUUID();
    const body = { to, message: 'sent inline', immediate: true };
    const first = await send(body, key);
    expect(first.status).toBe(201);
    const again = await send(body, key);
    expect({ status: again.status, body: again.body }).toEqual({ status: 201, body: first.body });
    const [row] = await t.query(`SELECT state, "messageId" FROM idempotency_keys WHERE key = $1`, [key]);
    expect(row).toEqual({ state: 'completed', messageId: first.body.id });
  });
});
