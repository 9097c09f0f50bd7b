import { MigrationInterface, QueryRunner } from 'typeorm';

export class ClientReference1764425000000 implements MigrationInterface {
  name = 'ClientReference1764425000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // A nullable column without a default: no table rewrite, whatever the table's size.
    await queryRunner.query(`ALTER TABLE "WhatsAppMessage" ADD "clientReference" character varying(128)`);
    await queryRunner.query(
      `CREATE INDEX "IDX_WhatsAppMessage_clientReference_createdAt_id" ON "WhatsAppMessage" ("clientReference", "createdAt", "id") WHERE "clientReference" IS NOT NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."IDX_WhatsAppMessage_clientReference_createdAt_id"`);
    await queryRunner.query(`ALTER TABLE "WhatsAppMessage" DROP COLUMN "clientReference"`);
  }
}
