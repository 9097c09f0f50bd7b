export const SEED_SENDERS = ['whatsapp:+14155238886', 'whatsapp:+14155238887', 'whatsapp:+14155238888'];
export const SEED_DAYS = 30;

export interface SeedBatch {
  /** First value of the series (rows are numbered 0 .. total - 1). */
  offset: number;
  count: number;
  total: number;
  /**
   * Complete rows, as the API would have left them: a unique SID ('SM' + 32 hex, none while still
   * queued), the sending user, attempts and the time of every status reached.
   */
  detail?: { createdBy: string; sidSeed: string };
}

/**
 * Outbound messages spread evenly over the last SEED_DAYS days across SEED_SENDERS: 70 % read,
 * 15 % delivered, 6 % failed, 2 % undelivered, 4 % sent, 3 % queued; delivery times 0.3-40 s,
 * skewed low. One INSERT ... SELECT generate_series: the rollup triggers fold it as any write.
 */
export function seedMessagesSql({ offset, count, total, detail }: SeedBatch): string {
  const columns = ['direction', '"from"', '"to"', 'body', 'status', '"errorCode"', '"deliveryTimeMs"', '"queuedAt"', '"createdAt"', '"updatedAt"'];
  const values = [
    `'outbound'`,
    `(ARRAY['${SEED_SENDERS.join("','")}'])[1 + (g % ${SEED_SENDERS.length})]`,
    `'whatsapp:+1415' || lpad((g % 10000000)::text, 7, '0')`,
    `'bench message'`,
    's.status',
    `CASE WHEN s.status IN ('failed', 'undelivered') THEN (ARRAY[63016, 30003, 30008, 63024, 21211, 63032])[1 + (g % 6)] END`,
    'd.ms',
    't.at',
    't.at',
    't.at',
  ];
  if (detail) {
    columns.push('"messageSid"', '"createdBy"', 'attempts', '"lastAttemptAt"', '"sentAt"', '"deliveredAt"', '"readAt"', '"failedAt"');
    values.push(
      `CASE WHEN s.status = 'queued' THEN NULL ELSE 'SM' || md5('${detail.sidSeed}' || g::text) END`,
      `'${detail.createdBy}'::uuid`,
      `CASE WHEN s.status = 'queued' THEN 0 ELSE 1 END`,
      `CASE WHEN s.status = 'queued' THEN NULL ELSE t.at + interval '50 milliseconds' END`,
      `CASE WHEN s.status IN ('sent', 'delivered', 'read', 'undelivered') THEN t.at + interval '400 milliseconds' END`,
      `CASE WHEN s.status IN ('delivered', 'read') THEN t.at + interval '400 milliseconds' + make_interval(secs => d.ms / 1000.0) END`,
      `CASE WHEN s.status = 'read' THEN t.at + interval '5400 milliseconds' + make_interval(secs => d.ms / 1000.0) END`,
      `CASE WHEN s.status IN ('failed', 'undelivered') THEN t.at + interval '1 second' END`,
    );
  }
  return `INSERT INTO "WhatsAppMessage" (${columns.join(', ')})
  SELECT ${values.join(',\n         ')}
    FROM generate_series(${offset}, ${offset + count - 1}) AS g
   CROSS JOIN LATERAL (SELECT now() - make_interval(secs => (g::float8 / ${total}) * ${SEED_DAYS} * 86400) AS at) t
   CROSS JOIN LATERAL (SELECT CASE
       WHEN g % 100 < 70 THEN 'read' WHEN g % 100 < 85 THEN 'delivered' WHEN g % 100 < 91 THEN 'failed'
       WHEN g % 100 < 93 THEN 'undelivered' WHEN g % 100 < 97 THEN 'sent' ELSE 'queued' END AS status) s
   CROSS JOIN LATERAL (SELECT CASE WHEN s.status IN ('delivered', 'read')
       THEN (300 + 40000 * power(((g::bigint * 7919) % 1000) / 1000.0, 3))::int END AS ms) d`;
}

/**
 * The delivery-metrics query mix: the default 24 h, one sender, 7 days, 30 days with a sender,
 * 90 days, a 1-day window cut at odd seconds, and a 70-minute window with a sender.
 */
export function deliveryMetricsQueries(now = Date.now()): string[] {
  const iso = (msAgo: number) => new Date(now - msAgo).toISOString();
  const H = 3600_000;
  const D = 24 * H;
  return [
    '',
    `from=${encodeURIComponent(SEED_SENDERS[0])}`,
    `since=${iso(7 * D + 17_000)}`,
    `since=${iso(30 * D + 1234)}&from=${encodeURIComponent(SEED_SENDERS[1])}`,
    `since=${iso(90 * D - 1)}&until=${iso(0)}`,
    `since=${iso(2 * D + 30 * 60_000 + 5000)}&until=${iso(D + 17 * 60_000 + 42_000)}`,
    `since=${iso(90 * 60_000 + 10_000)}&until=${iso(20 * 60_000)}&from=${encodeURIComponent(SEED_SENDERS[2])}`,
  ];
}
