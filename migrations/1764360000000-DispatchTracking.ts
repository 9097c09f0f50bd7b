import { MigrationInterface, QueryRunner } from 'typeorm';

export class DispatchTracking1764360000000 implements MigrationInterface {
  name = 'DispatchTracking1764360000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "WhatsAppMessage" ADD "lastAttemptAt" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "WhatsAppMessage" ADD "ambiguousAttemptAt" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "WhatsAppMessage" ADD "sendingUntil" TIMESTAMP WITH TIME ZONE`);
    // Reconciliation scans outbound messages still short of a final status, oldest update first.
    await queryRunner.query(`DROP INDEX "public"."IDX_WhatsAppMessage_retryOf"`);
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_WhatsAppMessage_retryOf" ON "WhatsAppMessage" ("retryOf") WHERE "retryOf" IS NOT NULL`);
    await queryRunner.query(`CREATE INDEX "IDX_WhatsAppMessage_createdBy_createdAt_id" ON "WhatsAppMessage" ("createdBy", "createdAt", "id") `);
    // Callbacks that arrived before their SID was known, for reconciliation to pick up.
    await queryRunner.query(`CREATE INDEX "IDX_message_events_unattached" ON "message_events" ("messageSid") WHERE "messageId" IS NULL`);
    await queryRunner.query(
      `CREATE INDEX "IDX_WhatsAppMessage_unsettled" ON "WhatsAppMessage" ("updatedAt") WHERE direction = 'outbound' AND status IN ('queued', 'accepted', 'scheduled', 'sending', 'sent')`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."IDX_WhatsAppMessage_unsettled"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_message_events_unattached"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_WhatsAppMessage_createdBy_createdAt_id"`);
    await queryRunner.query(`DROP INDEX "public"."UQ_WhatsAppMessage_retryOf"`);
    await queryRunner.query(`CREATE INDEX "IDX_WhatsAppMessage_retryOf" ON "WhatsAppMessage" ("retryOf") `);
    await queryRunner.query(`ALTER TABLE "WhatsAppMessage" DROP COLUMN "sendingUntil"`);
    await queryRunner.query(`ALTER TABLE "WhatsAppMessage" DROP COLUMN "ambiguousAttemptAt"`);
    await queryRunner.query(`ALTER TABLE "WhatsAppMessage" DROP COLUMN "lastAttemptAt"`);
  }
}
