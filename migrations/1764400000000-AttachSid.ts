import { MigrationInterface, QueryRunner } from 'typeorm';

/** The advisory-lock key space for per-SID serialisation (WhatsAppMessageRepository.lockSids). */
const SID_LOCK_NAMESPACE = 7_413;

/**
 * Storing the SID Twilio answered and settling the attempt in one round trip. In a function
 * because, after waiting for the SID's lock, the look-up of callbacks that arrived before the SID
 * was known must see what committed during the wait (each statement of a function takes a new
 * snapshot; one plain statement would not).
 *
 * The message keeps an SID it already has (Twilio holding two messages for one of ours is shown,
 * never hidden): `attached` is false then and `existing_sid` names it. The answer's status is
 * recorded as an event only when the message already has it (nothing to apply: the caller
 * applies any other status through the state machine), and `early_events` says whether
 * callbacks for the SID are waiting to be applied.
 */
export class AttachSid1764400000000 implements MigrationInterface {
  name = 'AttachSid1764400000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE FUNCTION whatsapp_attach_sid(p_id uuid, p_sid varchar, p_status varchar,
      OUT attached boolean, OUT existing_sid varchar, OUT status_recorded boolean, OUT early_events boolean)
    LANGUAGE plpgsql AS $fn$
DECLARE
  current_status varchar;
BEGIN
  PERFORM pg_advisory_xact_lock(${SID_LOCK_NAMESPACE}, hashtext(p_sid));
  UPDATE "WhatsAppMessage"
     SET "messageSid" = COALESCE("messageSid", p_sid), "ambiguousAttemptAt" = NULL, "sendingUntil" = NULL, "updatedAt" = now()
   WHERE id = p_id
  RETURNING "messageSid", status INTO existing_sid, current_status;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'Message % does not exist', p_id USING ERRCODE = 'no_data_found';
  END IF;
  attached := existing_sid = p_sid;
  status_recorded := false;
  early_events := false;
  IF NOT attached THEN
    RETURN;
  END IF;
  IF p_status = current_status THEN
    INSERT INTO message_events ("messageId", "messageSid", status, source, raw, "receivedAt")
    VALUES (p_id, p_sid, p_status, 'api', '{}', now())
    ON CONFLICT DO NOTHING;
    status_recorded := true;
  END IF;
  early_events := EXISTS (SELECT 1 FROM message_events WHERE "messageSid" = p_sid AND "messageId" IS NULL);
END
$fn$`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION whatsapp_attach_sid(uuid, varchar, varchar)`);
  }
}
