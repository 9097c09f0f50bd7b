import { MigrationInterface, QueryRunner } from 'typeorm';
import { contributionsOf, foldStatement, foldTriggerFunctions } from './1764380000000-DeliveryRollups';

const COLUMNS = `"createdAt", "from", status, "errorCode", "deliveryTimeMs"`;

/** Advisory lock held while the journal is folded, so several processes may run the aggregator. */
export const ROLLUP_FOLD_LOCK = 7_414;

const JOURNAL = 'delivery_rollup_journal';
const COUNTED = ['"createdAt"', '"from"', 'status', '"errorCode"', '"deliveryTimeMs"', 'direction'];

/**
 * The delivery rollups stop being hot rows inside the writers' transactions. Writes to
 * "WhatsAppMessage" append their signed contributions to a journal (no row another writer
 * waits for); `delivery_rollup_fold_journal(batch)` moves journal rows into the rollup tables,
 * under an advisory lock, called every second or so by the aggregator and before a metrics read.
 * Updates that change nothing the rollups count (leases, attempts, SIDs) write no journal row.
 */
export class RollupJournal1764390000000 implements MigrationInterface {
  name = 'RollupJournal1764390000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`LOCK TABLE "WhatsAppMessage" IN SHARE ROW EXCLUSIVE MODE`);
    await queryRunner.query(
      `CREATE TABLE "${JOURNAL}" ("id" bigserial PRIMARY KEY, "createdAt" TIMESTAMP WITH TIME ZONE NOT NULL, "from" character varying(64) NOT NULL,
        "status" character varying(32) NOT NULL, "errorCode" integer, "deliveryTimeMs" integer, "sign" smallint NOT NULL)`,
    );
    await queryRunner.query(`DROP TRIGGER "TRG_WhatsAppMessage_rollup_update" ON "WhatsAppMessage"`);
    await queryRunner.query(`CREATE OR REPLACE FUNCTION delivery_rollup_fold() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO "${JOURNAL}" (${COLUMNS}, sign) ${contributionsOf('new_rows', 1)};
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO "${JOURNAL}" (${COLUMNS}, sign) ${contributionsOf('old_rows', -1)};
  END IF;
  RETURN NULL;
END
$fn$`);
    // Row level with a WHEN: updates that leave the counted columns alone do not even fire it.
    await queryRunner.query(`CREATE FUNCTION delivery_rollup_journal_update() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF OLD.direction = 'outbound' THEN
    INSERT INTO "${JOURNAL}" (${COLUMNS}, sign) VALUES (OLD."createdAt", OLD."from", OLD.status, OLD."errorCode", OLD."deliveryTimeMs", -1);
  END IF;
  IF NEW.direction = 'outbound' THEN
    INSERT INTO "${JOURNAL}" (${COLUMNS}, sign) VALUES (NEW."createdAt", NEW."from", NEW.status, NEW."errorCode", NEW."deliveryTimeMs", 1);
  END IF;
  RETURN NULL;
END
$fn$`);
    await queryRunner.query(
      `CREATE TRIGGER "TRG_WhatsAppMessage_rollup_update" AFTER UPDATE ON "WhatsAppMessage" FOR EACH ROW
        WHEN ((${COUNTED.map((c) => `OLD.${c}`).join(', ')}) IS DISTINCT FROM (${COUNTED.map((c) => `NEW.${c}`).join(', ')}))
        EXECUTE FUNCTION delivery_rollup_journal_update()`,
    );
    await queryRunner.query(`CREATE OR REPLACE FUNCTION delivery_rollup_truncate() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  TRUNCATE delivery_rollup_minute, delivery_rollup_hour, delivery_error_rollup_minute, delivery_error_rollup_hour, "${JOURNAL}";
  RETURN NULL;
END
$fn$`);
    // Rows are taken in id order up to a bound; a row whose writer commits later than a
    // higher id's is simply folded by the next call. Returns how many rows were folded, or -1
    // when another session is folding right now.
    await queryRunner.query(`CREATE FUNCTION delivery_rollup_fold_journal(batch integer, wait boolean) RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE
  upto bigint;
  n integer;
BEGIN
  IF wait THEN
    PERFORM pg_advisory_xact_lock(${ROLLUP_FOLD_LOCK});
  ELSIF NOT pg_try_advisory_xact_lock(${ROLLUP_FOLD_LOCK}) THEN
    RETURN -1;
  END IF;
  SELECT max(id), count(*) INTO upto, n FROM (SELECT id FROM "${JOURNAL}" ORDER BY id LIMIT batch) s;
  IF upto IS NULL THEN
    RETURN 0;
  END IF;
  ${foldStatement(`DELETE FROM "${JOURNAL}" WHERE id <= upto RETURNING ${COLUMNS}, sign`)};
  RETURN n;
END
$fn$`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`LOCK TABLE "WhatsAppMessage" IN SHARE ROW EXCLUSIVE MODE`);
    // Nothing journaled is lost on the way back: fold it first.
    await queryRunner.query(`SELECT delivery_rollup_fold_journal(2147483647, true)`);
    await queryRunner.query(`DROP FUNCTION delivery_rollup_fold_journal(integer, boolean)`);
    await queryRunner.query(`DROP TRIGGER "TRG_WhatsAppMessage_rollup_update" ON "WhatsAppMessage"`);
    await queryRunner.query(`DROP FUNCTION delivery_rollup_journal_update()`);
    await queryRunner.query(foldTriggerFunctions('CREATE OR REPLACE'));
    await queryRunner.query(
      `CREATE TRIGGER "TRG_WhatsAppMessage_rollup_update" AFTER UPDATE ON "WhatsAppMessage" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION delivery_rollup_fold()`,
    );
    await queryRunner.query(`DROP TABLE "${JOURNAL}"`);
  }
}
