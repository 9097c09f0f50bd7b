import { DeliveryRollupAggregator } from '../src/modules/metrics/delivery-rollup-aggregator';
import { startTestApp, TestApp, waitFor } from './support/test-app';

const STATUSES = ['queued', 'accepted', 'scheduled', 'canceled', 'sending', 'sent', 'delivered', 'read', 'failed', 'undelivered', 'partially_delivered'];

/**
 * The rollups are folded from a journal by a background aggregator, not written by each
 * request: after a storm of concurrent sends (single and bulk) and the callbacks of their whole
 * lifecycle, every rollup row must equal a recount from the messages themselves.
 */
describe('delivery rollups under concurrent writes (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ TWILIO_MPS: '1000', SANDBOX_STATUS_DELAY_MS: '5' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('equal a full recount, minute by minute, hour by hour, error code by error code', async () => {
    const numbers = Array.from({ length: 240 }, (_, i) => `+1415555${String(1000 + i).padStart(4, '0')}`);
    // +15005550001 is refused by Twilio (21211, failed at once); +15005550013 fails later (63024).
    const failing = ['+15005550001', '+15005550013'];
    const singles = numbers.slice(0, 120).concat(failing).map((to, i) => t.api('/api/v1/whatsapp/send', { body: { to, message: `storm ${i}` }, token: t.adminToken }));
    const bulks = [0, 1, 2].map((b) =>
      t.api('/api/v1/whatsapp/send/bulk', {
        body: { messages: numbers.slice(120 + b * 40, 160 + b * 40).map((to, i) => ({ to, message: `storm bulk ${b}-${i}` })) },
        token: t.adminToken,
      }),
    );
    const answers = await Promise.all([...singles, ...bulks]);
    expect(answers.map((a) => a.status).filter((s) => s !== 202)).toEqual([]);

    await waitFor(
      async () => {
        const [{ open }] = await t.query<{ open: number }>(`SELECT count(*)::int AS open FROM "WhatsAppMessage" WHERE status NOT IN ('read', 'failed', 'undelivered')`);
        return open === 0;
      },
      'every message to reach read or failed',
      60_000,
    );
    await t.app.get(DeliveryRollupAggregator).fold({ wait: true });

    const measures = `count(*)::int AS total, ${STATUSES.map((s) => `count(*) FILTER (WHERE status = '${s}')::int AS "count_${s}"`).join(', ')},
      count("deliveryTimeMs")::int AS delivery_count, coalesce(sum("deliveryTimeMs"), 0)::bigint AS delivery_sum_ms`;
    const columns = `total, ${STATUSES.map((s) => `"count_${s}"`).join(', ')}, delivery_count, delivery_sum_ms`;
    for (const unit of ['minute', 'hour']) {
      const recount = await t.query(
        `SELECT date_trunc('${unit}', "createdAt", 'UTC') AS bucket, "from", ${measures} FROM "WhatsAppMessage" WHERE direction = 'outbound' GROUP BY 1, 2 ORDER BY 1, 2`,
      );
      const rollup = await t.query(`SELECT bucket, "from", ${columns} FROM delivery_rollup_${unit} WHERE total <> 0 ORDER BY 1, 2`);
      expect(rollup).toEqual(recount);
      const errors = await t.query(
        `SELECT date_trunc('${unit}', "createdAt", 'UTC') AS bucket, "from", "errorCode" AS error_code, count(*)::int AS count FROM "WhatsAppMessage"
          WHERE direction = 'outbound' AND status IN ('failed', 'undelivered') AND "errorCode" IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      );
      expect(await t.query(`SELECT bucket, "from", error_code, count FROM delivery_error_rollup_${unit} WHERE count <> 0 ORDER BY 1, 2, 3`)).toEqual(errors);
    }
    const [{ total }] = await t.query<{ total: number }>(`SELECT sum(total)::int AS total FROM delivery_rollup_minute`);
    expect(total).toBe(242);
    // Everything was folded: the journal is empty.
    expect(await t.query(`SELECT id FROM delivery_rollup_journal`)).toEqual([]);
  });
});
