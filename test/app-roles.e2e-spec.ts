import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { TwilioSandbox } from '../libs/twilio-sandbox/twilio-sandbox';
import { GracefulShutdown } from '../src/modules/health/graceful-shutdown.service';
import { freePort, startTestApp, TEST_REDIS_URL, TestApp, uniqueName, waitFor } from './support/test-app';

const ACCOUNT_SID = 'AC' + '3c'.repeat(16);
const AUTH_TOKEN = 'roles-auth-token-0123456789abcdef';
const SENDER = 'whatsapp:+14155238886';

/**
 * APP_ROLE splits the service: an API process stores messages and writes the outbox but runs no
 * queue worker, relay or schedule; a worker process sends and serves only its probes. Both share
 * one database, one Redis prefix and a Twilio (a standalone sandbox) here, as in a deployment.
 */
describe('process roles: api and worker (e2e)', () => {
  let twilio: TwilioSandbox;
  let api: TestApp;
  let worker: TestApp | undefined;
  let redis: Redis;
  const prefix = uniqueName('wa-roles');
  // One deployment, one signing secret (and passport keeps one JWT strategy per Node process).
  const jwtSecret = randomBytes(32).toString('hex');

  beforeAll(async () => {
    twilio = new TwilioSandbox({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, port: await freePort(), statusDelayMs: 20 });
    await twilio.start();
    api = await startTestApp({
      APP_ROLE: 'api',
      JWT_SECRET: jwtSecret,
      REDIS_PREFIX: prefix,
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TWILIO_WHATSAPP_FROM: SENDER,
      TWILIO_API_BASE_URL: twilio.baseUrl,
    });
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await worker?.close();
    await api?.close();
    redis?.disconnect();
    await twilio?.stop();
  });

  const sentTo = (to: string) => twilio.control.receivedRequests().filter((r) => r.params.To === `whatsapp:${to}`);
  const statusOf = async (id: string) => (await api.query<{ status: string }>('SELECT status FROM "WhatsAppMessage" WHERE id = $1', [id]))[0]?.status;

  it('api: accepts and keeps the job in the outbox, sends nothing, and has no queue worker or scheduler', async () => {
    const to = '+14155550901';
    const res = await api.api('/api/v1/whatsapp/send', { body: { to, message: 'waits for a worker' }, token: api.adminToken });
    expect(res.status).toBe(202);
    // Long enough for a relay's poll (every second) and a worker to have sent it, were there one.
    await new Promise((r) => setTimeout(r, 2500));
    expect(await statusOf(res.body.id)).toBe('queued');
    expect(await api.query('SELECT "jobId" FROM outbox WHERE "jobId" = $1', [`send-${res.body.id}`])).toHaveLength(1);
    expect(sentTo(to)).toHaveLength(0);

    expect(api.app.get(GracefulShutdown).workers()).toHaveLength(0);
    expect(await redis.keys(`${prefix}:whatsapp:repeat*`)).toEqual([]);
    const ready = await api.api('/api/v1/health/ready', { token: api.adminToken });
    expect(ready.status).toBe(200);
    expect(ready.body.details).not.toHaveProperty('workers');
    expect((await api.api('/docs-json')).status).toBe(200);
  });

  it('api: an immediate send still goes to Twilio inline', async () => {
    const to = '+14155550902';
    const res = await api.api('/api/v1/whatsapp/send', { body: { to, message: 'inline', immediate: true }, token: api.adminToken });
    expect(res.status).toBe(201);
    expect(res.body.messageSid).toMatch(/^SM/);
    expect(sentTo(to)).toHaveLength(1);
  });

  it('worker: serves only its probes, relays what the API accepted and sends it once', async () => {
    const to = '+14155550903';
    const accepted = await api.api('/api/v1/whatsapp/send', { body: { to, message: 'sent by the worker' }, token: api.adminToken });
    expect(accepted.status).toBe(202);

    worker = await startTestApp({
      APP_ROLE: 'worker',
      JWT_SECRET: jwtSecret,
      DATABASE_URL: api.databaseUrl,
      REDIS_PREFIX: prefix,
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TWILIO_WHATSAPP_FROM: SENDER,
      TWILIO_API_BASE_URL: twilio.baseUrl,
      // Twilio's callbacks go to the API, as a load balancer would route them.
      STATUS_CALLBACK_URL: api.config.twilio.statusCallbackUrl,
      WEBHOOK_URL: api.config.twilio.webhookUrl,
    });
    await waitFor(async () => (await statusOf(accepted.body.id)) === 'read', 'the worker to send the message to read', 20_000, 100);
    expect(sentTo(to)).toHaveLength(1);
    expect(await api.query('SELECT 1 FROM outbox')).toHaveLength(0);

    // Details are for an admin: the worker checks the API's tokens (one JWT secret).
    const ready = await worker.api('/api/v1/health/ready', { token: api.adminToken });
    expect(ready.status).toBe(200);
    expect(ready.body.details.workers).toMatchObject({ status: 'up', running: 2 }); // the whatsapp and webhooks queues' workers
    expect((await worker.api('/api/v1/health')).status).toBe(200);
    for (const [method, path] of [
      ['POST', '/api/v1/auth/login'],
      ['POST', '/api/v1/whatsapp/send'],
      ['GET', '/api/v1/whatsapp/senders'],
      ['POST', '/api/v1/whatsapp/status'],
      ['GET', '/api/v1/whatsapp/delivery-metrics'],
      ['GET', '/docs-json'],
      ['GET', '/admin/queues'],
      ['GET', '/metrics'],
    ]) {
      const res = await worker.api(path, { method, ...(method === 'POST' ? { body: {} } : {}) });
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
  });
});
