import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Scheduled sends and cancellation: when a scheduled message is due, when a message was
 * canceled, and status events without a Twilio SID (a cancel happens before Twilio has one).
 */
export class ScheduledSends1764460000000 implements MigrationInterface {
  name = 'ScheduledSends1764460000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // Nullable columns without a default: no table rewrite, whatever the table's size.
    await queryRunner.query(`ALTER TABLE "WhatsAppMessage" ADD "scheduledAt" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "WhatsAppMessage" ADD "canceledAt" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "message_events" ALTER COLUMN "messageSid" DROP NOT NULL`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // Events of canceled messages have no SID and no place in the older schema.
    await queryRunner.query(`DELETE FROM "message_events" WHERE "messageSid" IS NULL`);
    await queryRunner.query(`ALTER TABLE "message_events" ALTER COLUMN "messageSid" SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE "WhatsAppMessage" DROP COLUMN "canceledAt"`);
    await queryRunner.query(`ALTER TABLE "WhatsAppMessage" DROP COLUMN "scheduledAt"`);
  }
}
