import type { Twilio } from 'twilio';
import { TWILIO_CLIENT } from '../src/modules/twilio/twilio.constants';
import { startTestApp, TestApp, waitFor } from './support/test-app';

/**
 * A send whose answer Twilio lost (the sandbox creates the message, then times out) is looked up
 * before it is sent again. The number is busy: more messages reached it afterwards than Twilio's
 * first page of 50 holds.
 */
describe('looking up an unanswered send at Twilio (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ TWILIO_TIMEOUT_MS: '1000' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('pages through Twilio’s list past newer messages to the number and attaches the SID: sent once', async () => {
    const to = '+14155550961';
    const text = 'the answer to this one was lost';
    t.sandbox.control.setFaults({ timeoutProbability: 1, timeoutAnswerAfterMs: 5_000 });
    const res = await t.api('/api/v1/whatsapp/send', { body: { to, message: text }, token: t.adminToken });
    expect(res.status).toBe(202);
    await waitFor(async () => t.sandbox.control.receivedRequests().some((r) => r.params.To === `whatsapp:${to}`), 'the send to reach the sandbox');
    t.sandbox.control.resetFaults();

    // While the service waits for an answer that never comes, 60 more messages reach the number.
    const client = t.app.get<Twilio>(TWILIO_CLIENT);
    for (let i = 0; i < 60; i++) await client.messages.create({ to: `whatsapp:${to}`, from: t.config.twilio.whatsappFrom[0], body: `newer ${i}` });

    const row = await waitFor(async () => {
      const [m] = await t.query(`SELECT "messageSid", attempts, "errorMessage" FROM "WhatsAppMessage" WHERE id = $1`, [res.body.id]);
      return m.messageSid ? m : undefined;
    }, 'the SID to be attached');
    const atTwilio = t.sandbox.control.messages().filter((m) => m.resource.to === `whatsapp:${to}` && m.resource.body === text);
    expect(atTwilio.map((m) => m.sid)).toEqual([row.messageSid]);
    expect(row.attempts).toBe(2);
  });
});
