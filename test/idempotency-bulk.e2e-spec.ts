import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { requestHash } from '../src/modules/whatsapp/idempotency/request-hash';
import { FORM, formBody, twilioSignature } from './support/twilio-signing';
import { ADMIN_EMAIL, ApiResponse, startTestApp, TestApp, waitFor } from './support/test-app';

const LONG = 'x'.repeat(1601);
const TEMPLATE = 'HX0000000000000000000000000000a001';
const SEND = '/api/v1/whatsapp/send';
const BULK = '/api/v1/whatsapp/send/bulk';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function requestsTo(t: TestApp, number: string) {
  return t.sandbox.control.receivedRequests().filter((r) => r.params.To === `whatsapp:${number}`);
}

async function rowsTo(t: TestApp, number: string): Promise<number> {
  const [{ count }] = await t.query<{ count: number }>(`SELECT count(*)::int AS count FROM "WhatsAppMessage" WHERE "to" = $1`, [`whatsapp:${number}`]);
  return count;
}

async function messageCount(t: TestApp): Promise<number> {
  const [{ count }] = await t.query<{ count: number }>(`SELECT count(*)::int AS count FROM "WhatsAppMessage"`);
  return count;
}

describe('Idempotency-Key on POST /whatsapp/send (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const send = (body: unknown, key?: string, token: string = t.adminToken) =>
    t.api(SEND, { body, token, headers: key === undefined ? {} : { 'idempotency-key': key } });

  it('answers a repeated request with the first answer and sends the message once', async () => {
    const to = '+14155550701';
    const key = randomUUID();
    const first = await send({ to, message: 'Order 1 shipped', mediaUrl: 'https://example.com/a.png' }, key);
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();

    // The same body with its keys in another order and other whitespace is the same request.
    const reordered = await send(`{ "mediaUrl": "https://example.com/a.png",\n  "message": "Order 1 shipped", "to": "${to}" }`, key);
    expect(reordered.status).toBe(202);
    expect(reordered.headers.get('idempotent-replayed')).toBe('true');
    expect(reordered.body).toEqual(first.body);

    await waitFor(async () => requestsTo(t, to).length === 1, 'the message to be sent');
    const again = await send({ to, message: 'Order 1 shipped', mediaUrl: 'https://example.com/a.png' }, key);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    await sleep(500); // a second send, had one been queued, would reach the sandbox well within this
    expect(requestsTo(t, to)).toHaveLength(1);
    expect(await rowsTo(t, to)).toBe(1);
  });

  it('refuses the same key with a different body (422) and stores nothing for it', async () => {
    const to = '+14155550702';
    const key = randomUUID();
    expect((await send({ to, message: 'first' }, key)).status).toBe(202);
    const before = await messageCount(t);
    for (const body of [{ to, message: 'second' }, { to: '+14155550703', message: 'first' }, { to, message: 'first', immediate: true }]) {
      const res = await send(body, key);
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ statusCode: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
      expect(res.body.message).toContain('Idempotency-Key');
    }
    expect(await messageCount(t)).toBe(before);
    expect(requestsTo(t, '+14155550703')).toHaveLength(0);
  });

  it('answers 409 while the first request with the key is still running, then replays its answer', async () => {
    const to = '+14155550704';
    const key = randomUUID();
    const body = { to, message: 'slow one', immediate: true };
    t.sandbox.control.setFaults({ latencyMs: 1500 });
    let first: ApiResponse | undefined;
    try {
      const pending = send(body, key);
      await waitFor(async () => (await t.query(`SELECT state FROM idempotency_keys WHERE key = $1`, [key]))[0]?.state === 'in_flight', 'the first request to claim the key');
      const second = await send(body, key);
      expect(second.status).toBe(409);
      expect(second.body).toMatchObject({ statusCode: 409, code: 'IDEMPOTENCY_REQUEST_IN_FLIGHT' });
      first = await pending;
    } finally {
      t.sandbox.control.resetFaults();
    }
    expect(first?.status).toBe(201);
    expect(first?.body.messageSid).toMatch(/^SM[0-9a-f]{32}$/);
    const third = await send(body, key);
    expect(third.status).toBe(201);
    expect(third.headers.get('idempotent-replayed')).toBe('true');
    expect(third.body).toEqual(first?.body);
    expect(requestsTo(t, to)).toHaveLength(1);
    expect(await rowsTo(t, to)).toBe(1);
  });

  it('keeps keys per user: the same key of another user is a different key', async () => {
    const { UsersService } = await import('../src/modules/auth/users.service');
    const { UserRole } = await import('../src/modules/auth/entities/user.entity');
    await t.app.get(UsersService).create('idem-sender@example.com', UserRole.Sender, 'sender-password-123');
    const sender = await t.login('idem-sender@example.com', 'sender-password-123');
    const key = 'shared-key-' + randomBytes(4).toString('hex');

    const adminFirst = await send({ to: '+14155550706', message: 'from the admin' }, key);
    const senderFirst = await send({ to: '+14155550707', message: 'from the sender' }, key, sender);
    expect([adminFirst.status, senderFirst.status]).toEqual([202, 202]);
    expect(senderFirst.headers.get('idempotent-replayed')).toBeNull();
    expect(senderFirst.body.id).not.toBe(adminFirst.body.id);

    const adminAgain = await send({ to: '+14155550706', message: 'from the admin' }, key);
    const senderAgain = await send({ to: '+14155550707', message: 'from the sender' }, key, sender);
    expect(adminAgain.body).toEqual(adminFirst.body);
    expect(senderAgain.body).toEqual(senderFirst.body);
    expect([adminAgain.headers.get('idempotent-replayed'), senderAgain.headers.get('idempotent-replayed')]).toEqual(['true', 'true']);
    expect(await t.query(`SELECT 1 FROM idempotency_keys WHERE key = $1`, [key])).toHaveLength(2);
  });

  it('keeps no claim for a refused request, so the corrected retry with the same key goes through', async () => {
    const key = randomUUID();
    for (const [body, code] of [
      [{ to: '4155550708', message: 'x' }, 'MISSING_COUNTRY_CODE'],
      [{ to: '+14155550708', message: 'x', colour: 'blue' }, 'VALIDATION_FAILED'],
    ] as const) {
      const refused = await send(body, key);
      expect(refused.status).toBe(400);
      expect(refused.body.code).toBe(code);
      expect(await t.query(`SELECT 1 FROM idempotency_keys WHERE key = $1`, [key])).toHaveLength(0);
    }
    const fixed = await send({ to: '+14155550708', message: 'x' }, key);
    expect(fixed.status).toBe(202);
    expect(fixed.headers.get('idempotent-replayed')).toBeNull();
    expect((await send({ to: '+14155550708', message: 'x' }, key)).body).toEqual(fixed.body);
    expect(await rowsTo(t, '+14155550708')).toBe(1);
  });

  it('replays a Twilio rejection of an immediate send instead of storing and sending it again', async () => {
    const to = '+15005550001';
    const key = randomUUID();
    const before = await rowsTo(t, to);
    const first = await send({ to, message: 'x', immediate: true }, key);
    expect(first.status).toBe(422);
    expect(first.body).toMatchObject({ code: 'TWILIO_REJECTED', details: { twilioCode: 21211, id: expect.any(String) } });
    const sandboxBefore = requestsTo(t, to).length;
    const again = await send({ to, message: 'x', immediate: true }, key);
    expect(again.status).toBe(422);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toMatchObject({ code: 'TWILIO_REJECTED', message: first.body.message, details: first.body.details });
    expect(await rowsTo(t, to)).toBe(before + 1);
    expect(requestsTo(t, to)).toHaveLength(sandboxBefore);
  });

  it('treats an expired key as new, and lets a retry take over a claim abandoned past its lease', async () => {
    const to = '+14155550709';
    const body = { to, message: 'again tomorrow' };
    const expiredKey = randomUUID();
    const first = await send(body, expiredKey);
    await t.query(`UPDATE idempotency_keys SET "expiresAt" = now() - interval '1 second' WHERE key = $1`, [expiredKey]);
    const afterExpiry = await send(body, expiredKey);
    expect(afterExpiry.status).toBe(202);
    expect(afterExpiry.headers.get('idempotent-replayed')).toBeNull();
    expect(afterExpiry.body.id).not.toBe(first.body.id);

    // A claim whose process died before it stored anything.
    const abandonedKey = randomUUID();
    const [{ id: adminId }] = await t.query<{ id: string }>(`SELECT id FROM users WHERE email = $1`, [ADMIN_EMAIL]);
    await t.query(
      `INSERT INTO idempotency_keys ("userId", route, key, "requestHash", state, "expiresAt") VALUES ($1, 'whatsapp.send', $2, $3, 'in_flight', now() + interval '1 day')`,
      [adminId, abandonedKey, requestHash(body)],
    );
    expect((await send(body, abandonedKey)).status).toBe(409);
    await t.query(`UPDATE idempotency_keys SET "createdAt" = now() - interval '61 seconds' WHERE key = $1`, [abandonedKey]);
    const takenOver = await send(body, abandonedKey);
    expect(takenOver.status).toBe(202);
    expect(takenOver.headers.get('idempotent-replayed')).toBeNull();
    expect((await send(body, abandonedKey)).body).toEqual(takenOver.body);
  });

  it('refuses a malformed Idempotency-Key with 400 naming the header, storing nothing', async () => {
    const before = await messageCount(t);
    for (const key of ['x'.repeat(256), 'tab\tinside', 'caf\u00e9']) {
      const res = await send({ to: '+14155550710', message: 'x' }, key);
      expect({ key, status: res.status, code: res.body.code }).toEqual({ key, status: 400, code: 'VALIDATION_FAILED' });
      expect(res.body.message).toContain('Idempotency-Key');
    }
    expect(await messageCount(t)).toBe(before);
    expect((await send({ to: '+14155550710', message: 'x' }, 'k'.repeat(255))).status).toBe(202);
  });

  it('documents the header in OpenAPI', async () => {
    const doc = await t.api('/docs-json');
    for (const path of ['/api/v1/whatsapp/send', '/api/v1/whatsapp/send/bulk']) {
      const op = doc.body.paths[path].post;
      expect(op.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false })]));
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['409', '422']));
    }
  });
});

describe('POST /whatsapp/send/bulk (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const bulk = (body: unknown, key?: string) => t.api(BULK, { body, token: t.adminToken, headers: key === undefined ? {} : { 'idempotency-key': key } });
  const optOut = (phone: string) => {
    const params = { MessageSid: 'SM' + randomBytes(16).toString('hex'), AccountSid: t.config.twilio.sandbox.accountSid, From: `whatsapp:${phone}`, To: 'whatsapp:+14155238886', Body: 'STOP', NumMedia: '0' };
    return t.api('/api/v1/whatsapp/webhook', {
      body: formBody(params),
      headers: { ...FORM, 'x-twilio-signature': twilioSignature(t.config.twilio.webhookAuthTokens[0], t.config.twilio.webhookUrl, params) },
    });
  };

  it('stores and sends the valid messages and reports each invalid one by index, field and code', async () => {
    const optedOut = '+447911000801';
    expect((await optOut(optedOut)).status).toBe(200);
    const messages: unknown[] = [
      { to: '+14155550801', message: 'one' },
      { to: '4155550802', message: 'no country code' },
      { to: '+1415', message: 'too short a number' },
      { to: '+14155550803', message: 'x', from: 'whatsapp:+447911123456' },
      { to: '+14155550804', message: LONG },
      { to: optedOut, message: 'they said STOP' },
      { to: 'whatsapp:+14155550805', contentSid: TEMPLATE, contentVariables: { '1': '12/24', '2': '9am' } },
      { to: '+14155550806', message: 'x', immediate: true },
      { message: 'no recipient' },
      'not an object',
      { to: '+14155550807', mediaUrl: 'https://example.com/receipt.pdf' },
    ];
    const res = await bulk({ messages });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ success: true, accepted: 3, rejected: 8 });
    const results = res.body.results as { index: number; id?: string; status?: string; error?: { code: string; field?: string; message: string } }[];
    expect(results.map((r) => r.index)).toEqual(messages.map((_, i) => i));

    const accepted = [0, 6, 10];
    for (const i of accepted) expect(results[i]).toEqual({ index: i, id: expect.any(String), status: 'queued' });
    const expectedErrors: [number, string, string | undefined, string][] = [
      [1, 'MISSING_COUNTRY_CODE', 'to', 'country code'],
      [2, 'INVALID_PHONE_NUMBER', 'to', 'not a valid phone number'],
      [3, 'UNKNOWN_SENDER', 'from', 'from must be one of the configured senders'],
      [4, 'VALIDATION_FAILED', 'message', 'message must be at most 1600 characters'],
      [5, 'RECIPIENT_OPTED_OUT', 'to', 'opted out'],
      [7, 'VALIDATION_FAILED', 'immediate', 'property immediate should not exist'],
      [8, 'VALIDATION_FAILED', 'to', 'to is required'],
      [9, 'VALIDATION_FAILED', undefined, 'must be an object'],
    ];
    for (const [index, code, field, text] of expectedErrors) {
      const r = results[index];
      expect({ index, keys: Object.keys(r).sort(), code: r.error?.code, field: r.error?.field }).toEqual({ index, keys: ['error', 'index'], code, field });
      expect(r.error?.message).toContain(text);
    }

    const ids = accepted.map((i) => results[i].id);
    const rows = await t.query(`SELECT id, "to", body, "contentSid", "mediaUrls", status, "createdBy" FROM "WhatsAppMessage" WHERE id = ANY($1::uuid[]) ORDER BY "to"`, [ids]);
    const [{ id: adminId }] = await t.query<{ id: string }>(`SELECT id FROM users WHERE email = $1`, [ADMIN_EMAIL]);
    expect(rows).toEqual([
      { id: ids[0], to: 'whatsapp:+14155550801', body: 'one', contentSid: null, mediaUrls: [], status: expect.any(String), createdBy: adminId },
      { id: ids[1], to: 'whatsapp:+14155550805', body: null, contentSid: TEMPLATE, mediaUrls: [], status: expect.any(String), createdBy: adminId },
      { id: ids[2], to: 'whatsapp:+14155550807', body: null, contentSid: null, mediaUrls: ['https://example.com/receipt.pdf'], status: expect.any(String), createdBy: adminId },
    ]);
    for (const refused of ['+14155550802', '+14155550803', '+14155550804', optedOut, '+14155550806']) expect(await rowsTo(t, refused)).toBe(0);

    await waitFor(async () => ['+14155550801', '+14155550805', '+14155550807'].every((n) => requestsTo(t, n).length === 1), 'the accepted messages to be sent');
    expect(requestsTo(t, '+14155550801')[0].params).toMatchObject({ Body: 'one', From: 'whatsapp:+14155238886' });
    expect(requestsTo(t, '+14155550805')[0].params).toMatchObject({ ContentSid: TEMPLATE, ContentVariables: JSON.stringify({ '1': '12/24', '2': '9am' }) });
    expect(requestsTo(t, '+14155550807')[0].params).toMatchObject({ MediaUrl: 'https://example.com/receipt.pdf' });
    for (const refused of ['+14155550803', '+14155550804', optedOut, '+14155550806']) expect(requestsTo(t, refused)).toHaveLength(0);
  });

  it('answers 202 with every message refused when none is valid', async () => {
    const res = await bulk({ messages: [{ to: '12345', message: 'x' }] });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ success: true, accepted: 0, rejected: 1, results: [{ index: 0, error: { code: 'MISSING_COUNTRY_CODE', field: 'to', message: expect.any(String) } }] });
  });

  it('takes a full-size bulk body (1,000 bodies of 1,600 non-Latin characters, over 3 MB)', async () => {
    const body = { messages: Array.from({ length: 1000 }, () => ({ to: '12345', message: 'ж'.repeat(1600) })) };
    expect(Buffer.byteLength(JSON.stringify(body))).toBeGreaterThan(3 * 1024 * 1024);
    const res = await bulk(body);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ accepted: 0, rejected: 1000 });
  });

  it('refuses a body that is not { messages: [1..1000] } with a plain 400, storing nothing', async () => {
    const before = await messageCount(t);
    const tooMany = Array.from({ length: 1001 }, (_, i) => ({ to: `+1415557${String(i).padStart(4, '0')}`, message: 'x' }));
    for (const [label, body, text] of [
      ['1,001 messages', { messages: tooMany }, 'at most 1000'],
      ['no messages', { messages: [] }, 'at least 1'],
      ['no messages field', {}, 'messages'],
      ['messages not an array', { messages: { to: '+14155550810', message: 'x' } }, 'messages must be an array'],
      ['an array body', [{ to: '+14155550810', message: 'x' }], ''],
      ['an unknown field', { messages: [{ to: '+14155550810', message: 'x' }], immediate: true }, 'property immediate should not exist'],
    ] as const) {
      const res = await bulk(body);
      expect({ label, status: res.status, code: res.body.code }).toEqual({ label, status: 400, code: 'VALIDATION_FAILED' });
      expect(res.body.message).toContain(text);
    }
    expect(await messageCount(t)).toBe(before);
  });

  it('applies Idempotency-Key to bulk sends', async () => {
    const key = randomUUID();
    const body = { messages: [{ to: '+14155550811', message: 'bulk once' }, { to: '415', message: 'bad' }] };
    const first = await bulk(body, key);
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ accepted: 1, rejected: 1 });
    const again = await bulk({ messages: [{ message: 'bulk once', to: '+14155550811' }, { message: 'bad', to: '415' }] }, key);
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    const swapped = await bulk({ messages: [...body.messages].reverse() }, key);
    expect(swapped.status).toBe(422);
    expect(swapped.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    // The same key on the single-send route is a different key.
    expect((await t.api(SEND, { body: { to: '+14155550812', message: 'x' }, token: t.adminToken, headers: { 'idempotency-key': key } })).status).toBe(202);
    await waitFor(async () => requestsTo(t, '+14155550811').length === 1, 'the bulk message to be sent');
    expect(await rowsTo(t, '+14155550811')).toBe(1);
  });

  it('accepts 1,000 messages in one request', async () => {
    const messages = Array.from({ length: 1000 }, (_, i) => ({ to: `+1415556${String(i).padStart(4, '0')}`, message: `Bulk message ${i}` }));
    const started = performance.now();
    const res = await bulk({ messages });
    const elapsedMs = performance.now() - started;
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ success: true, accepted: 1000, rejected: 0 });
    const ids = (res.body.results as { index: number; id: string }[]).map((r, i) => {
      expect(r).toEqual({ index: i, id: expect.any(String), status: 'queued' });
      return r.id;
    });
    expect(new Set(ids).size).toBe(1000);
    const [{ count }] = await t.query<{ count: number }>(`SELECT count(*)::int AS count FROM "WhatsAppMessage" WHERE id = ANY($1::uuid[])`, [ids]);
    expect(count).toBe(1000);
    const [row] = await t.query(`SELECT "to", body FROM "WhatsAppMessage" WHERE id = $1`, [ids[999]]);
    expect(row).toEqual({ to: 'whatsapp:+14155560999', body: 'Bulk message 999' });
    // Reported, not asserted: timing depends on the machine.
    console.log(`bulk send: 1,000 messages accepted in ${elapsedMs.toFixed(0)} ms`);
  });
});
