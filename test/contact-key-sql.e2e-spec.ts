import { Client } from 'pg';
import { CONTACT_KEY_SQL } from '../src/modules/whatsapp/messages/whatsapp-message.repository';
import { contactKey, phoneOf } from '../src/modules/whatsapp/phone-number';
import { TEST_PG_URL } from './support/test-app';

/** The claim checks opt-outs in SQL; it must find the same contact the policy writes in TypeScript. */
describe('contact key in SQL (e2e)', () => {
  let pg: Client;
  beforeAll(async () => {
    pg = new Client({ connectionString: TEST_PG_URL });
    await pg.connect();
  });
  afterAll(async () => {
    await pg.end();
  });

  it('gives the same key as contactKey(phoneOf(address)) for every kind of number', async () => {
    const addresses = [
      'whatsapp:+14155550123',
      'WhatsApp:+14155550123',
      '+14155550123',
      'whatsapp:+5215512345678', // Mexican mobile as WhatsApp writes it
      'whatsapp:+525512345678', // ... and as dialled
      'whatsapp:+52155123456789', // one digit too many: not the +521 form
      'whatsapp:+551187654321', // Brazilian mobile without the ninth digit
      'whatsapp:+5511987654321', // ... with it
      'whatsapp:+551137654321', // Brazilian landline: no ninth digit to add
      'whatsapp:+447911123456',
      'sms:+14155550123',
    ];
    const { rows } = await pg.query<{ address: string; key: string }>(
      `SELECT address, ${CONTACT_KEY_SQL('address')} AS key FROM unnest($1::text[]) AS address`,
      [addresses],
    );
    expect(rows.map((r) => [r.address, r.key])).toEqual(addresses.map((a) => [a, contactKey(phoneOf(a))]));
  });
});
