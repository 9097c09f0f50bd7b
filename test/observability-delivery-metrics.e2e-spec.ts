import { UserRole } from '../src/modules/auth/entities/user.entity';
import { UsersService } from '../src/modules/auth/users.service';
import { startTestApp, TestApp, waitFor } from './support/test-app';

const MIX = 'whatsapp:+15550000001';
const OTHER = 'whatsapp:+15550000002';
const EDGES = 'whatsapp:+15550000003';
const SANDBOX_SENDER = 'whatsapp:+14155238886';
const DAY = '2025-06-01';

interface Seed {
  status: string;
  deliveryTimeMs?: number;
  errorCode?: number;
  at?: string;
  from?: string;
  direction?: string;
}

describe('delivery metrics API (e2e)', () => {
  let t: TestApp;
  let senderToken: string;

  beforeAll(async () => {
    t = await startTestApp();
    await t.app.get(UsersService).create('metrics-sender@example.com', UserRole.Sender, 'sender-password-123');
    senderToken = await t.login('metrics-sender@example.com', 'sender-password-123');
  });
  afterAll(async () => {
    await t?.close();
  });

  const metrics = (query: Record<string, string> = {}, token: string | null = t.adminToken) =>
    t.api(`/api/v1/whatsapp/delivery-metrics?${new URLSearchParams(query).toString()}`, { token });

  /** Inserts messages as `queued`, then moves them to their status in later statements, as the service does. */
  async function seed(rows: Seed[]): Promise<string[]> {
    const ids: string[] = [];
    for (const r of rows) {
      const [{ id }] = await t.query<{ id: string }>(
        `INSERT INTO "WhatsAppMessage" (direction, "from", "to", body, status, "createdAt")
         VALUES ($1, $2, 'whatsapp:+14155550999', 'seeded', 'queued', $3) RETURNING id`,
        [r.direction ?? 'outbound', r.from ?? MIX, r.at ?? `${DAY}T10:15:00Z`],
      );
      ids.push(id);
      if (r.status !== 'queued') {
        await t.query(`UPDATE "WhatsAppMessage" SET status = $2, "deliveryTimeMs" = $3, "errorCode" = $4 WHERE id = $1`, [
          id,
          r.status,
          r.deliveryTimeMs ?? null,
          r.errorCode ?? null,
        ]);
      }
    }
    return ids;
  }

  it('answers exact numbers for a known mix (delivery times on bucket bounds)', async () => {
    await seed([
      ...[100, 200, 300, 500, 1000, 2000].map((ms) => ({ status: 'delivered', deliveryTimeMs: ms })),
      ...[1000, 1000, 5000, 10000].map((ms) => ({ status: 'read', deliveryTimeMs: ms })),
      { status: 'failed', errorCode: 63016 },
      { status: 'failed', errorCode: 63016 },
      { status: 'failed', errorCode: 30008 },
      { status: 'undelivered', errorCode: 30003 },
      { status: 'undelivered', errorCode: 30003 },
      { status: 'sent' },
      { status: 'sent' },
      { status: 'queued' },
      { status: 'queued' },
      { status: 'canceled' },
      // Not counted under MIX: an inbound message, and another sender.
      { status: 'received', direction: 'inbound' },
      { status: 'delivered', deliveryTimeMs: 60000, from: OTHER },
    ]);
    // A message that is stored and deleted again leaves no trace.
    const [gone] = await seed([{ status: 'failed', errorCode: 63016 }]);
    await t.query(`DELETE FROM "WhatsAppMessage" WHERE id = $1`, [gone]);

    const res = await metrics({ since: `${DAY}T00:00:00Z`, until: `${DAY}T23:59:59Z`, from: MIX });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      window: { since: `${DAY}T00:00:00.000Z`, until: '2025-06-02T00:00:00.000Z', from: MIX },
      totalMessages: 20,
      statusCounts: {
        queued: 2, accepted: 0, scheduled: 0, canceled: 1, sending: 0, sent: 2, delivered: 6, read: 4, failed: 3, undelivered: 2,
        partially_delivered: 0, other: 0,
      },
      settled: 15,
      inFlight: 4,
      rates: { deliveryRate: 66.67, readRate: 26.67, failureRate: 33.33 },
      // 100 200 300 500 1000 1000 1000 2000 5000 10000: mean 2110, 5th value 1000, 10th value 10000.
      deliveryTime: { count: 10, averageMs: 2110, p50Ms: 1000, p95Ms: 10000 },
      topErrorCodes: [
        { code: 30003, count: 2, hint: expect.any(String) },
        { code: 63016, count: 2, hint: expect.stringMatching(/24|template|window/i) },
        { code: 30008, count: 1, hint: expect.any(String) },
      ],
    });
    expect(res.body.queueBacklog).toEqual({
      waiting: expect.any(Number), active: expect.any(Number), delayed: expect.any(Number), outbox: expect.any(Number), total: expect.any(Number),
    });

    // Every sender: MIX plus OTHER's delivered message (60 s: bucket bound).
    const all = await metrics({ since: `${DAY}T00:00:00Z`, until: `${DAY}T23:59:59Z` });
    expect(all.body).toMatchObject({ totalMessages: 21, settled: 16, deliveryTime: { count: 11, averageMs: Math.round(81100 / 11), p50Ms: 1000, p95Ms: 60000 } });
  });

  it('cuts windows at minutes: whole hours from hourly rollups, ragged ends from minute rollups', async () => {
    const at = (time: string) => ({ status: 'delivered', deliveryTimeMs: 1000, from: EDGES, at: `2025-06-02T${time}Z` });
    await seed([
      at('09:59:59.999'), // before
      at('10:30:00'), // first minute of the window
      at('10:30:59'), // same minute, after the requested second
      at('11:15:00'), // whole hour 11
      at('12:00:00'), // whole hour 12
      at('13:04:59'), // last minute, before the requested until is rounded up
      at('13:05:00'), // after
    ]);
    const res = await metrics({ since: '2025-06-02T10:30:45Z', until: '2025-06-02T13:04:10Z', from: EDGES });
    expect(res.body.window).toEqual({ since: '2025-06-02T10:30:00.000Z', until: '2025-06-02T13:05:00.000Z', from: EDGES });
    expect(res.body.totalMessages).toBe(5);

    const oneMinute = await metrics({ since: '2025-06-02T10:30:30Z', until: '2025-06-02T10:30:50Z', from: EDGES });
    expect(oneMinute.body).toMatchObject({ window: { since: '2025-06-02T10:30:00.000Z', until: '2025-06-02T10:31:00.000Z' }, totalMessages: 2 });

    const hoursOnly = await metrics({ since: '2025-06-02T11:00:00Z', until: '2025-06-02T13:00:00Z', from: EDGES });
    expect(hoursOnly.body.totalMessages).toBe(2);

    // An offset is a time zone like any other: 12:30+02:00 is 10:30Z.
    const offset = await metrics({ since: '2025-06-02T12:30:00+02:00', until: '2025-06-02T12:31:00+02:00', from: EDGES });
    expect(offset.body.totalMessages).toBe(2);
  });

  it('follows messages sent through the real lifecycle (sandbox), and the rollups match the table', async () => {
    const since = new Date(Date.now() - 60_000).toISOString();
    const send = (to: string, immediate = false) =>
      t.api('/api/v1/whatsapp/send', { body: { to, message: 'metrics', immediate }, token: t.adminToken });
    const ids: string[] = [];
    for (const to of ['+14155550701', '+14155550702', '+14155550703', '+15005550013']) ids.push((await send(to)).body.id);
    const rejected = await send('+15005550001', true); // Twilio refuses it: failed 21211 at once
    expect(rejected.status).toBe(422);
    ids.push(rejected.body.details.id);
    await waitFor(async () => {
      const rows = await t.query<{ status: string }>(`SELECT status FROM "WhatsAppMessage" WHERE id = ANY($1::uuid[])`, [ids]);
      return rows.filter((r) => r.status === 'read' || r.status === 'failed').length === 5;
    }, 'every message to be read or failed');

    const res = await metrics({ since, from: SANDBOX_SENDER });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      totalMessages: 5,
      statusCounts: { read: 3, failed: 2, queued: 0, sent: 0, delivered: 0 },
      settled: 5,
      inFlight: 0,
      rates: { deliveryRate: 60, readRate: 60, failureRate: 40 },
      topErrorCodes: [
        { code: 21211, count: 1, hint: expect.any(String) },
        { code: 63024, count: 1, hint: expect.any(String) },
      ],
    });
    const { deliveryTime } = res.body;
    expect(deliveryTime.count).toBe(3);
    const [{ avg }] = await t.query<{ avg: number }>(
      `SELECT round(avg("deliveryTimeMs"))::int AS avg FROM "WhatsAppMessage" WHERE id = ANY($1::uuid[]) AND "deliveryTimeMs" IS NOT NULL`,
      [ids],
    );
    expect(deliveryTime.averageMs).toBe(avg);
    expect(deliveryTime.p50Ms).toBeLessThanOrEqual(deliveryTime.p95Ms);

    // The triggers saw every write: the rollups agree with the table, status by status.
    const truth = await t.query<{ from: string; status: string; n: number }>(
      `SELECT "from", status, count(*)::int AS n FROM "WhatsAppMessage" WHERE direction = 'outbound' GROUP BY 1, 2`,
    );
    for (const table of ['delivery_rollup_minute', 'delivery_rollup_hour']) {
      for (const row of truth) {
        const [{ n }] = await t.query<{ n: number }>(`SELECT coalesce(sum("count_${row.status}"), 0)::int AS n FROM ${table} WHERE "from" = $1`, [row.from]);
        expect({ table, ...row, n }).toEqual({ table, ...row, n: row.n });
      }
    }
  });

  it('refuses bad windows and senders with 400 VALIDATION_FAILED naming the field', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ since: 'yesterday' }, 'since'],
      [{ since: '2025-02-30T00:00:00Z' }, 'since'],
      [{ since: '2025-06-01T10:00:00' }, 'since'], // no zone
      [{ until: '2025-06-01T25:00:00Z' }, 'until'],
      [{ since: '2025-06-02T00:00:00Z', until: '2025-06-01T00:00:00Z' }, 'until'],
      [{ since: '2025-06-01T00:00:00Z', until: '2025-06-01T00:00:00Z' }, 'until'],
      [{ since: '2025-01-01T00:00:00Z', until: '2025-06-01T00:00:00Z' }, 'since'], // over 90 days
      [{ from: '+14155238886' }, 'from'],
      [{ from: 'whatsapp:14155238886' }, 'from'],
      [{ colour: 'blue' }, 'colour'],
    ];
    for (const [query, field] of cases) {
      const res = await metrics(query);
      expect({ query, status: res.status, code: res.body.code }).toEqual({ query, status: 400, code: 'VALIDATION_FAILED' });
      expect(res.body.details.map((d: { field: string }) => d.field)).toContain(field);
      expect(res.body.message).toContain(field);
    }
    // 90 days exactly is allowed; an unencoded "+" (a space once decoded) still means the plus.
    expect((await metrics({ since: '2025-03-03T00:00:00Z', until: '2025-06-01T00:00:00Z' })).status).toBe(200);
    const plus = await t.api(`/api/v1/whatsapp/delivery-metrics?from=whatsapp:+15550000001&since=${DAY}T00:00:00Z&until=${DAY}T23:59:00Z`, { token: t.adminToken });
    expect(plus.status).toBe(200);
    expect(plus.body.window.from).toBe(MIX);
  });

  it('defaults to the last 24 hours', async () => {
    const before = Date.now();
    const res = await metrics();
    expect(res.status).toBe(200);
    const since = Date.parse(res.body.window.since);
    const until = Date.parse(res.body.window.until);
    expect(until).toBeGreaterThanOrEqual(before);
    expect(until - Date.now()).toBeLessThanOrEqual(60_000);
    expect(until - since).toBeGreaterThanOrEqual(24 * 3600_000);
    expect(until - since).toBeLessThanOrEqual(24 * 3600_000 + 60_000);
    expect(res.body.totalMessages).toEqual(expect.any(Number));
  });

  it('is for admins: 401 without a token, 403 for a sender', async () => {
    expect((await metrics({}, null)).body).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
    expect((await metrics({}, senderToken)).body).toMatchObject({ statusCode: 403, code: 'FORBIDDEN' });
  });
});
