import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The message a send's Idempotency-Key stored, written in the transaction that stores the
 * message: a retry after a crash between that commit and the answer finds the message instead of
 * taking the key over and storing a second one.
 */
export class IdempotencyKeyMessage1764430000000 implements MigrationInterface {
  name = 'IdempotencyKeyMessage1764430000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "idempotency_keys" ADD "messageId" uuid`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "idempotency_keys" DROP COLUMN "messageId"`);
  }
}
