import { MigrationInterface, QueryRunner } from 'typeorm';

/** Outbound webhooks: subscriptions, their deliveries (written with the change they report) and every attempt. */
export class OutboundWebhooks1764450000000 implements MigrationInterface {
  name = 'OutboundWebhooks1764450000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "webhook_subscriptions" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "url" character varying(2048) NOT NULL, "events" text array NOT NULL, "description" character varying(256), "secret" character varying(128) NOT NULL, "previousSecret" character varying(128), "previousSecretExpiresAt" TIMESTAMP WITH TIME ZONE, "enabled" boolean NOT NULL DEFAULT true, "disabledReason" text, "disabledAt" TIMESTAMP WITH TIME ZONE, "consecutiveFailures" integer NOT NULL DEFAULT '0', "createdBy" uuid, "createdAt" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), "updatedAt" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_bf631ae77d39849d599817fb6f4" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE TABLE "webhook_deliveries" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "seq" BIGSERIAL NOT NULL, "subscriptionId" uuid NOT NULL, "eventId" character varying(64) NOT NULL, "eventType" character varying(32) NOT NULL, "messageId" uuid, "body" text NOT NULL, "status" character varying(16) NOT NULL DEFAULT 'pending', "attempts" integer NOT NULL DEFAULT '0', "nextAttemptAt" TIMESTAMP WITH TIME ZONE, "leaseUntil" TIMESTAMP WITH TIME ZONE, "lastStatusCode" integer, "lastError" text, "createdAt" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), "updatedAt" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_535dd409947fb6d8fc6dfc0112a" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "IDX_webhook_deliveries_pending_due" ON "webhook_deliveries" ("nextAttemptAt") WHERE status = 'pending'`);
    await queryRunner.query(`CREATE INDEX "IDX_webhook_deliveries_pending_message" ON "webhook_deliveries" ("subscriptionId", "messageId", "seq") WHERE status = 'pending'`);
    await queryRunner.query(`CREATE INDEX "IDX_webhook_deliveries_subscription_seq" ON "webhook_deliveries" ("subscriptionId", "seq") `);
    await queryRunner.query(`CREATE TABLE "webhook_delivery_attempts" ("id" BIGSERIAL NOT NULL, "deliveryId" uuid NOT NULL, "startedAt" TIMESTAMP WITH TIME ZONE NOT NULL, "statusCode" integer, "durationMs" integer NOT NULL, "error" text, "nextRetryAt" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_59ef9124585b56c18b98548a0c6" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "IDX_webhook_delivery_attempts_delivery" ON "webhook_delivery_attempts" ("deliveryId", "id") `);
    await queryRunner.query(`ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "FK_336d332b73385acf5c5879e42be" FOREIGN KEY ("subscriptionId") REFERENCES "webhook_subscriptions"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    await queryRunner.query(`ALTER TABLE "webhook_delivery_attempts" ADD CONSTRAINT "FK_c3ea793c3b048889755a0b76b9e" FOREIGN KEY ("deliveryId") REFERENCES "webhook_deliveries"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "webhook_delivery_attempts" DROP CONSTRAINT "FK_c3ea793c3b048889755a0b76b9e"`);
    await queryRunner.query(`ALTER TABLE "webhook_deliveries" DROP CONSTRAINT "FK_336d332b73385acf5c5879e42be"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_webhook_delivery_attempts_delivery"`);
    await queryRunner.query(`DROP TABLE "webhook_delivery_attempts"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_webhook_deliveries_subscription_seq"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_webhook_deliveries_pending_message"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_webhook_deliveries_pending_due"`);
    await queryRunner.query(`DROP TABLE "webhook_deliveries"`);
    await queryRunner.query(`DROP TABLE "webhook_subscriptions"`);
  }
}
