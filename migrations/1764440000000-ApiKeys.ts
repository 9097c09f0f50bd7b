import { MigrationInterface, QueryRunner } from 'typeorm';

/** API keys for machines: stored as a hash, revocable, optionally expiring. */
export class ApiKeys1764440000000 implements MigrationInterface {
  name = 'ApiKeys1764440000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "api_keys" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(100) NOT NULL, "role" character varying(16) NOT NULL, "secretHash" character(64) NOT NULL, "prefix" character varying(16) NOT NULL, "lastFour" character varying(4) NOT NULL, "createdBy" uuid NOT NULL, "createdAt" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "expiresAt" TIMESTAMP WITH TIME ZONE, "lastUsedAt" TIMESTAMP WITH TIME ZONE, "revokedAt" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_api_keys" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_api_keys_secretHash" ON "api_keys" ("secretHash") `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."UQ_api_keys_secretHash"`);
    await queryRunner.query(`DROP TABLE "api_keys"`);
  }
}
