import { MigrationInterface, QueryRunner } from "typeorm";

export class IdempotencyKeys1764350000000 implements MigrationInterface {
    name = 'IdempotencyKeys1764350000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "idempotency_keys" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "userId" uuid NOT NULL, "route" character varying(64) NOT NULL, "key" character varying(255) NOT NULL, "requestHash" character(64) NOT NULL, "state" character varying(16) NOT NULL, "responseStatus" smallint, "responseBody" jsonb, "createdAt" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "expiresAt" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_8ad20779ad0411107a56e53d0f6" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_idempotency_keys_expiresAt" ON "idempotency_keys" ("expiresAt") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "UQ_idempotency_keys_user_route_key" ON "idempotency_keys" ("userId", "route", "key") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."UQ_idempotency_keys_user_route_key"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_idempotency_keys_expiresAt"`);
        await queryRunner.query(`DROP TABLE "idempotency_keys"`);
    }

}
