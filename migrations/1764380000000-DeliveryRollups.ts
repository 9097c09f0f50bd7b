import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Upper bounds (inclusive, ms) of the delivery-time histogram buckets, plus an overflow bucket.
 * Frozen with this migration: src/modules/metrics/delivery-histogram.ts keeps the same list (a
 * unit test compares them); different bounds need a new migration that rebuilds the rollups.
 */
export const ROLLUP_DELIVERY_BOUNDS_MS: readonly number[] = [
  100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1250, 1500, 1750, 2000, 2500, 3000, 3500, 4000, 5000, 6000, 7000,
  8000, 10000, 12500, 15000, 17500, 20000, 25000, 30000, 35000, 40000, 50000, 60000, 75000, 90000, 120000, 150000,
  180000, 240000, 300000, 450000, 600000, 900000, 1200000, 1800000, 2700000, 3600000, 7200000, 14400000, 28800000,
  86400000,
];

/** Outbound statuses with a column of their own; anything else is counted in count_other. */
export const ROLLUP_STATUSES: readonly string[] = [
  'queued', 'accepted', 'scheduled', 'canceled', 'sending', 'sent', 'delivered', 'read', 'failed', 'undelivered', 'partially_delivered',
];

const FAILURE_STATUSES = `('failed', 'undelivered')`;

function histogramColumns(): { name: string; predicate: string }[] {
  const columns = ROLLUP_DELIVERY_BOUNDS_MS.map((bound, i) => ({
    name: `le_${bound}`,
    predicate: i === 0 ? `"deliveryTimeMs" <= ${bound}` : `"deliveryTimeMs" > ${ROLLUP_DELIVERY_BOUNDS_MS[i - 1]} AND "deliveryTimeMs" <= ${bound}`,
  }));
  columns.push({ name: 'le_inf', predicate: `"deliveryTimeMs" > ${ROLLUP_DELIVERY_BOUNDS_MS[ROLLUP_DELIVERY_BOUNDS_MS.length - 1]}` });
  return columns;
}

/** Every additive column of a rollup row with the expression that sums it from signed contributions. */
function measures(): { name: string; type: string; sum: string }[] {
  return [
    { name: 'total', type: 'integer', sum: 'sum(sign)' },
    ...ROLLUP_STATUSES.map((s) => ({ name: `count_${s}`, type: 'integer', sum: `coalesce(sum(sign) FILTER (WHERE status = '${s}'), 0)` })),
    {
      name: 'count_other',
      type: 'integer',
      sum: `coalesce(sum(sign) FILTER (WHERE status NOT IN (${ROLLUP_STATUSES.map((s) => `'${s}'`).join(', ')})), 0)`,
    },
    { name: 'delivery_count', type: 'integer', sum: `coalesce(sum(sign) FILTER (WHERE "deliveryTimeMs" IS NOT NULL), 0)` },
    { name: 'delivery_sum_ms', type: 'bigint', sum: `coalesce(sum(sign * "deliveryTimeMs"::bigint) FILTER (WHERE "deliveryTimeMs" IS NOT NULL), 0)` },
    ...histogramColumns().map((h) => ({ name: h.name, type: 'integer', sum: `coalesce(sum(sign) FILTER (WHERE ${h.predicate}), 0)` })),
  ];
}

function createRollupTable(name: string): string {
  const cols = measures().map((m) => `"${m.name}" ${m.type} NOT NULL DEFAULT 0`).join(', ');
  return `CREATE TABLE "${name}" ("bucket" TIMESTAMP WITH TIME ZONE NOT NULL, "from" character varying(64) NOT NULL, ${cols}, CONSTRAINT "PK_${name}" PRIMARY KEY ("bucket", "from"))`;
}

function createErrorTable(name: string): string {
  return `CREATE TABLE "${name}" ("bucket" TIMESTAMP WITH TIME ZONE NOT NULL, "from" character varying(64) NOT NULL, "error_code" integer NOT NULL, "count" integer NOT NULL DEFAULT 0, CONSTRAINT "PK_${name}" PRIMARY KEY ("bucket", "from", "error_code"))`;
}

/**
 * One statement that folds signed message contributions (`source` yields createdAt, from, status,
 * errorCode, deliveryTimeMs and sign = +1 or -1) into the four rollup tables. Groups whose deltas
 * cancel out (an update that changed nothing the rollups count) write nothing, so they take no
 * row lock; the rest are upserted in key order, so concurrent statements lock rollup rows in the
 * same order.
 */
export function foldStatement(source: string): string {
  const ms = measures();
  const nonZero = ms.map((m) => `"${m.name}" <> 0`).join(' OR ');
  const names = ms.map((m) => `"${m.name}"`).join(', ');
  const updates = ms.map((m) => `"${m.name}" = r."${m.name}" + EXCLUDED."${m.name}"`).join(', ');
  const resum = ms.map((m) => `sum("${m.name}")::${m.type} AS "${m.name}"`).join(', ');
  return `WITH contributions AS (${source}),
  per_minute AS (
    SELECT date_trunc('minute', "createdAt", 'UTC') AS bucket, "from", ${ms.map((m) => `${m.sum}::${m.type} AS "${m.name}"`).join(', ')}
      FROM contributions GROUP BY 1, 2
  ),
  changed AS (SELECT * FROM per_minute WHERE ${nonZero}),
  minute_rows AS (
    INSERT INTO delivery_rollup_minute AS r ("bucket", "from", ${names})
    SELECT "bucket", "from", ${names} FROM changed ORDER BY "bucket", "from"
    ON CONFLICT ("bucket", "from") DO UPDATE SET ${updates}
  ),
  hour_rows AS (
    INSERT INTO delivery_rollup_hour AS r ("bucket", "from", ${names})
    SELECT date_trunc('hour', "bucket", 'UTC'), "from", ${resum} FROM changed GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT ("bucket", "from") DO UPDATE SET ${updates}
  ),
  error_deltas AS (
    SELECT date_trunc('minute', "createdAt", 'UTC') AS bucket, "from", "errorCode" AS error_code, sum(sign)::integer AS count
      FROM contributions WHERE status IN ${FAILURE_STATUSES} AND "errorCode" IS NOT NULL
     GROUP BY 1, 2, 3 HAVING sum(sign) <> 0
  ),
  error_minute_rows AS (
    INSERT INTO delivery_error_rollup_minute AS r ("bucket", "from", "error_code", "count")
    SELECT "bucket", "from", error_code, count FROM error_deltas ORDER BY 1, 2, 3
    ON CONFLICT ("bucket", "from", "error_code") DO UPDATE SET "count" = r."count" + EXCLUDED."count"
  )
  INSERT INTO delivery_error_rollup_hour AS r ("bucket", "from", "error_code", "count")
  SELECT date_trunc('hour', "bucket", 'UTC'), "from", error_code, sum(count)::integer FROM error_deltas GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT ("bucket", "from", "error_code") DO UPDATE SET "count" = r."count" + EXCLUDED."count"`;
}

/**
 * The trigger functions of this migration, which fold each statement's contributions straight
 * into the rollups (RollupJournal's down() puts them back with CREATE OR REPLACE).
 */
export function foldTriggerFunctions(verb: 'CREATE' | 'CREATE OR REPLACE'): string {
  return `${verb} FUNCTION delivery_rollup_fold() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    ${foldStatement(contributionsOf('new_rows', 1))};
  ELSIF TG_OP = 'UPDATE' THEN
    ${foldStatement(`${contributionsOf('new_rows', 1)} UNION ALL ${contributionsOf('old_rows', -1)}`)};
  ELSIF TG_OP = 'DELETE' THEN
    ${foldStatement(contributionsOf('old_rows', -1))};
  END IF;
  RETURN NULL;
END
$fn$;
${verb} FUNCTION delivery_rollup_truncate() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  TRUNCATE delivery_rollup_minute, delivery_rollup_hour, delivery_error_rollup_minute, delivery_error_rollup_hour;
  RETURN NULL;
END
$fn$`;
}

const COLUMNS = `"createdAt", "from", status, "errorCode", "deliveryTimeMs"`;
export const contributionsOf = (table: string, sign: 1 | -1) =>
  `SELECT ${COLUMNS}, ${sign} AS sign FROM ${table} WHERE direction = 'outbound'`;

/**
 * Rollups of outbound messages for the delivery metrics API: per sender and per minute and hour of
 * the message's creation, counts per current status, a delivery-time histogram, and counts of the
 * error codes of failed messages. Statement-level triggers keep them exact whatever code path
 * writes "WhatsAppMessage" (the API, workers, callbacks, a psql session): each statement adds the
 * contributions of the new row versions and subtracts those of the old ones.
 */
export class DeliveryRollups1764380000000 implements MigrationInterface {
  name = 'DeliveryRollups1764380000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // Writers wait for the few seconds this takes, so no write lands between backfill and trigger.
    await queryRunner.query(`LOCK TABLE "WhatsAppMessage" IN SHARE ROW EXCLUSIVE MODE`);
    await queryRunner.query(createRollupTable('delivery_rollup_minute'));
    await queryRunner.query(createRollupTable('delivery_rollup_hour'));
    await queryRunner.query(createErrorTable('delivery_error_rollup_minute'));
    await queryRunner.query(createErrorTable('delivery_error_rollup_hour'));
    await queryRunner.query(`CREATE INDEX "IDX_delivery_rollup_minute_from" ON "delivery_rollup_minute" ("from", "bucket")`);
    await queryRunner.query(`CREATE INDEX "IDX_delivery_rollup_hour_from" ON "delivery_rollup_hour" ("from", "bucket")`);

    await queryRunner.query(foldTriggerFunctions('CREATE'));
    // Transition tables need one trigger per event.
    await queryRunner.query(
      `CREATE TRIGGER "TRG_WhatsAppMessage_rollup_insert" AFTER INSERT ON "WhatsAppMessage" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION delivery_rollup_fold()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER "TRG_WhatsAppMessage_rollup_update" AFTER UPDATE ON "WhatsAppMessage" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION delivery_rollup_fold()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER "TRG_WhatsAppMessage_rollup_delete" AFTER DELETE ON "WhatsAppMessage" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION delivery_rollup_fold()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER "TRG_WhatsAppMessage_rollup_truncate" AFTER TRUNCATE ON "WhatsAppMessage" FOR EACH STATEMENT EXECUTE FUNCTION delivery_rollup_truncate()`,
    );
    // Messages stored before this migration.
    await queryRunner.query(foldStatement(contributionsOf('"WhatsAppMessage"', 1)));
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "TRG_WhatsAppMessage_rollup_truncate" ON "WhatsAppMessage"`);
    await queryRunner.query(`DROP TRIGGER "TRG_WhatsAppMessage_rollup_delete" ON "WhatsAppMessage"`);
    await queryRunner.query(`DROP TRIGGER "TRG_WhatsAppMessage_rollup_update" ON "WhatsAppMessage"`);
    await queryRunner.query(`DROP TRIGGER "TRG_WhatsAppMessage_rollup_insert" ON "WhatsAppMessage"`);
    await queryRunner.query(`DROP FUNCTION delivery_rollup_truncate()`);
    await queryRunner.query(`DROP FUNCTION delivery_rollup_fold()`);
    await queryRunner.query(`DROP TABLE "delivery_error_rollup_hour"`);
    await queryRunner.query(`DROP TABLE "delivery_error_rollup_minute"`);
    await queryRunner.query(`DROP TABLE "delivery_rollup_hour"`);
    await queryRunner.query(`DROP TABLE "delivery_rollup_minute"`);
  }
}
