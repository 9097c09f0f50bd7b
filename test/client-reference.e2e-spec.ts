import { UserRole } from '../src/modules/auth/entities/user.entity';
import { UsersService } from '../src/modules/auth/users.service';
import { startTestApp, TestApp, waitFor } from './support/test-app';

describe('client references and metadata on messages (e2e)', () => {
  let t: TestApp;
  let senderToken: string;
  let otherSenderToken: string;

  beforeAll(async () => {
    t = await startTestApp();
    const users = t.app.get(UsersService);
    await users.create('ref-sender@example.com', UserRole.Sender, 'sender-password-123');
    await users.create('ref-other@example.com', UserRole.Sender, 'sender-password-123');
    senderToken = await t.login('ref-sender@example.com', 'sender-password-123');
    otherSenderToken = await t.login('ref-other@example.com', 'sender-password-123');
  });
  afterAll(async () => {
    await t?.close();
  });

  const send = (body: Record<string, unknown>, token = t.adminToken) => t.api('/api/v1/whatsapp/send', { body, token });
  const stored = (reference: string) => t.query(`SELECT id, "clientReference", metadata FROM "WhatsAppMessage" WHERE "clientReference" = $1`, [reference]);
  const requestsTo = (number: string) => t.sandbox.control.receivedRequests().filter((r) => r.params.To === `whatsapp:${number}`);

  it('stores them with a queued send, echoes them in delivery-status, and never sends them to Twilio', async () => {
    const metadata = { orderId: 'A-1001', attempt: 2, vip: true, coupon: null, total: 12.5 };
    const res = await send({ to: '+14155550301', message: 'Your order has shipped', clientReference: 'order-1001', metadata });
    expect(res.status).toBe(202);
    const status = await t.api(`/api/v1/whatsapp/delivery-status/${res.body.id}`, { token: t.adminToken });
    expect(status.body).toMatchObject({ id: res.body.id, clientReference: 'order-1001', metadata });
    expect(await stored('order-1001')).toEqual([{ id: res.body.id, clientReference: 'order-1001', metadata }]);

    const [request] = await waitFor(async () => (requestsTo('+14155550301').length === 1 ? requestsTo('+14155550301') : undefined), 'the send to reach Twilio');
    expect(JSON.stringify(request.params)).not.toMatch(/order-1001|A-1001/);
    // By SID too, once Twilio has answered.
    const sid = (await waitFor(async () => (await t.query(`SELECT "messageSid" FROM "WhatsAppMessage" WHERE id = $1 AND "messageSid" IS NOT NULL`, [res.body.id]))[0], 'the SID')).messageSid;
    expect((await t.api(`/api/v1/whatsapp/delivery-status/${sid}`, { token: t.adminToken })).body).toMatchObject({ clientReference: 'order-1001', metadata });
  });

  it('keeps them on an immediate send, and a message without them answers null', async () => {
    const res = await send({ to: '+14155550302', message: 'Receipt', immediate: true, clientReference: 'receipt-9', metadata: { channel: 'web' } });
    expect(res.status).toBe(201);
    expect((await t.api(`/api/v1/whatsapp/delivery-status/${res.body.id}`, { token: t.adminToken })).body).toMatchObject({ clientReference: 'receipt-9', metadata: { channel: 'web' } });
    const plain = await send({ to: '+14155550302', message: 'No reference' });
    expect((await t.api(`/api/v1/whatsapp/delivery-status/${plain.body.id}`, { token: t.adminToken })).body).toMatchObject({ clientReference: null, metadata: null });
  });

  it.each([
    ['a 129-character reference', { clientReference: 'r'.repeat(129) }, 'clientReference', 'clientReference must be at most 128 characters'],
    ['an empty reference', { clientReference: '' }, 'clientReference', 'clientReference must not be empty'],
    ['a number as reference', { clientReference: 42 }, 'clientReference', 'clientReference must be a string'],
    ['a reference with a line break', { clientReference: 'line\nbreak' }, 'clientReference', 'clientReference must not contain control characters'],
    ['an array as metadata', { metadata: ['a'] }, 'metadata', 'metadata must be a JSON object'],
    ['a string as metadata', { metadata: 'order=1' }, 'metadata', 'metadata must be a JSON object'],
    ['nested metadata', { metadata: { customer: { id: 1 } } }, 'metadata', 'metadata must be flat: the value of "customer" must be a string, number, boolean or null'],
    ['a list in metadata', { metadata: { tags: ['a', 'b'] } }, 'metadata', 'metadata must be flat: the value of "tags"'],
    ['a 65-character metadata key', { metadata: { ['k'.repeat(65)]: 1 } }, 'metadata', 'metadata keys must be 1 to 64 characters'],
    ['metadata of 4101 bytes', { metadata: { blob: 'x'.repeat(4090) } }, 'metadata', 'metadata must be at most 4096 bytes as JSON (got 4101)'],
    // Bytes, not characters: 2,056 characters, 4,101 bytes of UTF-8.
    ['metadata of 4101 bytes in fewer characters', { metadata: { text: 'é'.repeat(2045) } }, 'metadata', 'metadata must be at most 4096 bytes as JSON (got 4101)'],
  ])('refuses %s with 400 VALIDATION_FAILED naming the field, storing nothing', async (_what, extra, field, message) => {
    const before = (await t.query(`SELECT count(*)::int AS n FROM "WhatsAppMessage"`))[0].n;
    const res = await send({ to: '+14155550303', message: 'x', ...extra });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field }] });
    expect(res.body.message).toContain(message);
    expect((await t.query(`SELECT count(*)::int AS n FROM "WhatsAppMessage"`))[0].n).toBe(before);
  });

  it('accepts metadata of exactly 4 KB and a reference of exactly 128 characters', async () => {
    const metadata = { blob: 'x'.repeat(4096 - JSON.stringify({ blob: '' }).length) };
    expect(Buffer.byteLength(JSON.stringify(metadata))).toBe(4096);
    const res = await send({ to: '+14155550304', message: 'x', clientReference: 'R'.repeat(128), metadata });
    expect(res.status).toBe(202);
    expect(await stored('R'.repeat(128))).toEqual([{ id: res.body.id, clientReference: 'R'.repeat(128), metadata }]);
  });

  it('takes them per message in a bulk send, reporting a bad one by index while the others are stored', async () => {
    const res = await t.api('/api/v1/whatsapp/send/bulk', {
      token: t.adminToken,
      body: {
        messages: [
          { to: '+14155550311', message: 'a', clientReference: 'bulk-7', metadata: { row: 1 } },
          { to: '+14155550312', message: 'b', clientReference: 'bulk-7', metadata: { row: { nested: true } } },
          { to: '+14155550313', message: 'c', clientReference: 'bulk-7-c' },
        ],
      },
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ accepted: 2, rejected: 1 });
    expect(res.body.results[1]).toMatchObject({ index: 1, error: { code: 'VALIDATION_FAILED', field: 'metadata', message: expect.stringContaining('metadata must be flat') } });
    expect(await stored('bulk-7')).toEqual([{ id: res.body.results[0].id, clientReference: 'bulk-7', metadata: { row: 1 } }]);
    expect(await stored('bulk-7-c')).toEqual([{ id: res.body.results[2].id, clientReference: 'bulk-7-c', metadata: null }]);
  });

  it('lists by ?clientReference= exactly, newest first, with both in each item, and a sender only finds their own', async () => {
    const mine1 = await send({ to: '+14155550321', message: 'one', clientReference: 'ticket-55', metadata: { n: 1 } }, senderToken);
    const mine2 = await send({ to: '+14155550322', message: 'two', clientReference: 'ticket-55', metadata: { n: 2 } }, senderToken);
    const theirs = await send({ to: '+14155550323', message: 'three', clientReference: 'ticket-55' }, otherSenderToken);
    await send({ to: '+14155550324', message: 'four', clientReference: 'ticket-555' }, senderToken);

    const list = (query: string, token: string) => t.api(`/api/v1/whatsapp/messages?${query}`, { token });
    const asAdmin = await list('clientReference=ticket-55', t.adminToken);
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.body.data.map((m: { id: string }) => m.id)).toEqual([theirs.body.id, mine2.body.id, mine1.body.id]);
    expect(asAdmin.body.data[1]).toMatchObject({ clientReference: 'ticket-55', metadata: { n: 2 }, to: 'whatsapp:+14155550322' });

    const asSender = await list('clientReference=ticket-55&limit=1', senderToken);
    expect(asSender.body.data.map((m: { id: string }) => m.id)).toEqual([mine2.body.id]);
    const next = await list(`clientReference=ticket-55&limit=1&cursor=${asSender.body.nextCursor}`, senderToken);
    expect(next.body).toMatchObject({ data: [{ id: mine1.body.id }], nextCursor: null });
    expect((await list('clientReference=TICKET-55', t.adminToken)).body.data).toEqual([]);

    for (const bad of ['clientReference=', `clientReference=${'r'.repeat(129)}`]) {
      const res = await list(bad, t.adminToken);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'clientReference' }] });
    }
  });

  it('a retry of a failed message keeps its reference and metadata, so the client finds both', async () => {
    const failed = await send({ to: '+15005550011', message: 'unknown error', clientReference: 'order-retry-1', metadata: { orderId: 'R-1' } });
    await waitFor(async () => (await t.api(`/api/v1/whatsapp/delivery-status/${failed.body.id}`, { token: t.adminToken })).body.status === 'failed', 'the 30008 failure');
    const retry = await t.api('/api/v1/whatsapp/retry', { body: { ids: [failed.body.id] }, token: t.adminToken });
    expect(retry.body).toMatchObject({ retried: 1 });
    const listed = await t.api('/api/v1/whatsapp/messages?clientReference=order-retry-1', { token: t.adminToken });
    expect(listed.body.data).toEqual([
      expect.objectContaining({ id: retry.body.retries[0].retryId, retryOf: failed.body.id, clientReference: 'order-retry-1', metadata: { orderId: 'R-1' } }),
      expect.objectContaining({ id: failed.body.id, retryOf: null, clientReference: 'order-retry-1', metadata: { orderId: 'R-1' } }),
    ]);
  });

  it('the OpenAPI document describes both on the send bodies, the answers and the listing filter', async () => {
    const doc = (await t.api('/docs-json')).body;
    const schemas = doc.components.schemas;
    for (const name of ['SendMessageDto', 'BulkMessageDto', 'DeliveryStatusDto', 'MessageSummaryDto']) {
      expect({ name, fields: Object.keys(schemas[name].properties).filter((p) => ['clientReference', 'metadata'].includes(p)).sort() }).toEqual({
        name,
        fields: ['clientReference', 'metadata'],
      });
    }
    expect(schemas.SendMessageDto.properties.clientReference).toMatchObject({ maxLength: 128 });
    expect(schemas.SendMessageDto.properties.metadata).toMatchObject({ type: 'object', additionalProperties: expect.any(Object) });
    const listing = doc.paths['/api/v1/whatsapp/messages'].get.parameters.map((p: { name: string }) => p.name);
    expect(listing).toContain('clientReference');
  });
});
