import { Injectable } from '@nestjs/common';
import { Tx } from './whatsapp-message.repository';

export interface InboundContact {
  /** The contact key (contactKey of the sender's number). */
  phone: string;
  profileName: string | null;
  receivedAt: Date;
  /** The message was an opt-out (STOP ...) or an opt-in (START ...) keyword. */
  optedOut: boolean;
  optedIn: boolean;
}

/** The statements that write "contacts" (the policy reads them through ContactPolicyService). */
@Injectable()
export class ContactRepository {
  /**
   * Records a message from the contact: it opens (or renews) WhatsApp's 24-hour window, keeps the
   * newest profile name, and sets or clears the opt-out. Out-of-order webhooks never move the
   * window back, and a repeated STOP keeps the first opt-out time.
   */
  async recordInbound(tx: Tx, c: InboundContact): Promise<void> {
    await tx.query(
      `INSERT INTO contacts (phone, "profileName", "lastInboundAt", "optedOutAt", "updatedAt")
       VALUES ($1, $2, $3, CASE WHEN $4 THEN $3::timestamptz ELSE NULL END, now())
       ON CONFLICT (phone) DO UPDATE SET
         "profileName" = COALESCE(EXCLUDED."profileName", contacts."profileName"),
         "lastInboundAt" = GREATEST(contacts."lastInboundAt", EXCLUDED."lastInboundAt"),
         "optedOutAt" = CASE WHEN $4 THEN COALESCE(contacts."optedOutAt", $3::timestamptz) WHEN $5 THEN NULL ELSE contacts."optedOutAt" END,
         "updatedAt" = now()`,
      [c.phone, c.profileName, c.receivedAt, c.optedOut, c.optedIn],
    );
  }
}
