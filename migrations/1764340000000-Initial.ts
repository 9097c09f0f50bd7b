import { MigrationInterface, QueryRunner } from "typeorm";

export class Initial1764340000000 implements MigrationInterface {
    name = 'Initial1764340000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        // typeorm_metadata records generated columns per database; the name is this database's.
        const [{ database }] = await queryRunner.query(`SELECT current_database() AS database`);
        await queryRunner.query(`CREATE TABLE "users" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "email" character varying(320) NOT NULL, "passwordHash" character varying(255) NOT NULL, "role" character varying(16) NOT NULL, "active" boolean NOT NULL DEFAULT true, "createdAt" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updatedAt" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_a3ffb1c0c8416b9fc6f907b7433" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "UQ_users_email" ON "users" ("email") `);
        await queryRunner.query(`CREATE TABLE "outbox" ("id" BIGSERIAL NOT NULL, "queue" character varying(64) NOT NULL, "jobName" character varying(64) NOT NULL, "jobId" character varying(128) NOT NULL, "payload" jsonb NOT NULL, "relayAttempts" integer NOT NULL DEFAULT '0', "lastError" text, "availableAt" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "createdAt" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_340ab539f309f03bdaa14aa7649" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_outbox_availableAt" ON "outbox" ("availableAt") `);
        await queryRunner.query(`CREATE INDEX "IDX_outbox_jobId" ON "outbox" ("jobId") `);
        await queryRunner.query(`CREATE TABLE "contacts" ("phone" character varying(32) NOT NULL, "profileName" character varying(256), "lastInboundAt" TIMESTAMP WITH TIME ZONE, "optedOutAt" TIMESTAMP WITH TIME ZONE, "updatedAt" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_84cae51c485079bdd8cdf1d828f" PRIMARY KEY ("phone"))`);
        await queryRunner.query(`CREATE TABLE "message_events" ("id" BIGSERIAL NOT NULL, "messageId" uuid, "messageSid" character varying(64) NOT NULL, "status" character varying(32) NOT NULL, "errorCode" integer, "errorMessage" text, "source" character varying(16) NOT NULL, "tokenIndex" smallint, "applied" boolean NOT NULL DEFAULT false, "raw" jsonb NOT NULL DEFAULT '{}', "receivedAt" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_1ee7d4682c056e24ee0b00d1e3b" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_message_events_messageId" ON "message_events" ("messageId") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "UQ_message_events_sid_status" ON "message_events" ("messageSid", "status") `);
        await queryRunner.query(`INSERT INTO "typeorm_metadata"("database", "schema", "table", "type", "name", "value") VALUES ($1, $2, $3, $4, $5, $6)`, [database, "public","WhatsAppMessage","GENERATED_COLUMN","errorcode","\"errorCode\""]);
        await queryRunner.query(`CREATE TABLE "WhatsAppMessage" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "messageSid" character varying(64), "direction" character varying(16) NOT NULL, "from" character varying(64) NOT NULL, "to" character varying(64) NOT NULL, "body" text, "mediaUrls" text array NOT NULL DEFAULT '{}', "mediaContentTypes" text array NOT NULL DEFAULT '{}', "contentSid" character varying(64), "contentVariables" jsonb, "profileName" character varying(256), "waId" character varying(32), "metadata" jsonb, "retryOf" uuid, "status" character varying(32) NOT NULL, "errorCode" integer, "errorcode" integer GENERATED ALWAYS AS ("errorCode") STORED, "errorMessage" text, "attempts" integer NOT NULL DEFAULT '0', "createdBy" uuid, "queuedAt" TIMESTAMP WITH TIME ZONE, "sentAt" TIMESTAMP WITH TIME ZONE, "deliveredAt" TIMESTAMP WITH TIME ZONE, "readAt" TIMESTAMP WITH TIME ZONE, "failedAt" TIMESTAMP WITH TIME ZONE, "deliveryTimeMs" integer, "createdAt" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), "updatedAt" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_9c64fa8d43e45afbc4f3c82428b" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "UQ_WhatsAppMessage_messageSid" ON "WhatsAppMessage" ("messageSid") WHERE "messageSid" IS NOT NULL`);
        await queryRunner.query(`CREATE INDEX "IDX_WhatsAppMessage_retryOf" ON "WhatsAppMessage" ("retryOf") `);
        await queryRunner.query(`CREATE INDEX "IDX_WhatsAppMessage_to_createdAt" ON "WhatsAppMessage" ("to", "createdAt") `);
        await queryRunner.query(`CREATE INDEX "IDX_WhatsAppMessage_createdAt_id" ON "WhatsAppMessage" ("createdAt", "id") `);
        await queryRunner.query(`CREATE INDEX "IDX_WhatsAppMessage_status_createdAt" ON "WhatsAppMessage" ("status", "createdAt") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        const [{ database }] = await queryRunner.query(`SELECT current_database() AS database`);
        await queryRunner.query(`DROP INDEX "public"."IDX_WhatsAppMessage_status_createdAt"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_WhatsAppMessage_createdAt_id"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_WhatsAppMessage_to_createdAt"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_WhatsAppMessage_retryOf"`);
        await queryRunner.query(`DROP INDEX "public"."UQ_WhatsAppMessage_messageSid"`);
        await queryRunner.query(`DROP TABLE "WhatsAppMessage"`);
        await queryRunner.query(`DELETE FROM "typeorm_metadata" WHERE "type" = $1 AND "name" = $2 AND "database" = $3 AND "schema" = $4 AND "table" = $5`, ["GENERATED_COLUMN", "errorcode", database, "public", "WhatsAppMessage"]);
        await queryRunner.query(`DROP INDEX "public"."UQ_message_events_sid_status"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_message_events_messageId"`);
        await queryRunner.query(`DROP TABLE "message_events"`);
        await queryRunner.query(`DROP TABLE "contacts"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_outbox_jobId"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_outbox_availableAt"`);
        await queryRunner.query(`DROP TABLE "outbox"`);
        await queryRunner.query(`DROP INDEX "public"."UQ_users_email"`);
        await queryRunner.query(`DROP TABLE "users"`);
    }

}
