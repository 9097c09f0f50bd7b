import { buildAjv, expectValid, Json, loadSpec, MESSAGES_PATH } from '../libs/twilio-sandbox/test/twilio-openapi';
import { startTestApp, TestApp, waitFor } from './support/test-app';

const TEMPLATE = 'HX0000000000000000000000000000a002';
const MESSAGING_SERVICE_SID = 'MG' + '3c'.repeat(16);

/**
 * Our side of the wire: every create request the service makes is checked against the request
 * schema of Twilio's OpenAPI description, with no parameter the spec does not define.
 */
describe("the service's Twilio requests against Twilio's OpenAPI spec (e2e)", () => {
  const spec = loadSpec('twilio_api_v2010.json') as any;
  const schema = spec.paths[MESSAGES_PATH].post.requestBody.content['application/x-www-form-urlencoded'].schema as { [key: string]: Json };
  // The components travel along so the request schema's $refs (#/components/schemas/...) resolve.
  const validate = buildAjv().compile({ ...schema, additionalProperties: false, components: spec.components });

  /** Form values arrive as strings; a repeated parameter (MediaUrl) as a list. */
  const asForm = (params: Record<string, string | string[]>) =>
    Object.fromEntries(Object.entries(params).map(([k, v]) => [k, schema.properties && (schema.properties as any)[k]?.type === 'array' && !Array.isArray(v) ? [v] : v]));

  describe('with a WhatsApp sender', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp();
    });
    afterAll(async () => {
      await t?.close();
    });

    it('plain, media, template and immediate sends all match the create request schema', async () => {
      const bodies = [
        { to: '+14155550901', message: 'plain' },
        { to: '+14155550902', message: 'two files', mediaUrl: ['https://example.com/a.jpg', 'https://example.com/b.pdf'] },
        { to: '+14155550903', contentSid: TEMPLATE, contentVariables: { '1': 'Ada', '2': '#42', '3': 'shipped' } },
        { to: '+14155550904', message: 'inline', immediate: true },
      ];
      for (const body of bodies) expect([201, 202]).toContain((await t.api('/api/v1/whatsapp/send', { body, token: t.adminToken })).status);
      await waitFor(async () => t.sandbox.control.receivedRequests().length >= bodies.length, 'every create');
      for (const request of t.sandbox.control.receivedRequests()) expectValid(validate, asForm(request.params));
      const media = t.sandbox.control.receivedRequests().find((r) => r.params.To === 'whatsapp:+14155550902')!;
      expect(media.params.MediaUrl).toEqual(['https://example.com/a.jpg', 'https://example.com/b.pdf']);
    });

    it("Content API requests (the template listing, every page) use only paths and query parameters the Content API's spec defines", async () => {
      const content = loadSpec('twilio_content_v1.json') as any;
      const listed = await t.api('/api/v1/whatsapp/templates?refresh=true', { token: t.adminToken });
      expect(listed.status).toBe(200);
      const requests = t.sandbox.control.contentRequests();
      expect(requests.length).toBeGreaterThan(0);
      for (const request of requests) {
        const url = new URL(request.url, 'https://content.twilio.com');
        const operation = content.paths[url.pathname]?.[request.method.toLowerCase()];
        expect({ path: url.pathname, defined: operation !== undefined }).toEqual({ path: url.pathname, defined: true });
        const parameters = new Map<string, { schema: Json }>((operation.parameters ?? []).filter((p: { in: string }) => p.in === 'query').map((p: { name: string }) => [p.name, p]));
        for (const [name, value] of url.searchParams) {
          expect({ name, defined: parameters.has(name) }).toEqual({ name, defined: true });
          const parameter = buildAjv().compile(parameters.get(name)!.schema as object);
          const typed = (parameters.get(name)!.schema as { type?: string }).type === 'integer' ? Number(value) : value;
          expect({ name, value, valid: parameter(typed) }).toEqual({ name, value, valid: true });
        }
      }
    });

    it('the check can fail: a parameter Twilio does not define is caught', () => {
      expect(validate({ To: 'whatsapp:+14155550901', From: 'whatsapp:+14155238886', Body: 'x', Priority: 'high' })).toBe(false);
    });
  });

  describe('with a Messaging Service instead of a sender', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ TWILIO_MESSAGING_SERVICE_SID: MESSAGING_SERVICE_SID });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('sends with MessagingServiceSid and no From; Twilio answers accepted', async () => {
      expect(t.config.twilio.whatsappFrom).toEqual([]);
      const res = await t.api('/api/v1/whatsapp/send', { body: { to: '+14155550905', message: 'via the service', immediate: true }, token: t.adminToken });
      expect(res.status).toBe(201);
      expect(res.body.status).toBe('accepted');
      const [request] = t.sandbox.control.receivedRequests();
      expect(request.params.MessagingServiceSid).toBe(MESSAGING_SERVICE_SID);
      expect(request.params.From).toBeUndefined();
      expectValid(validate, asForm(request.params));
      await waitFor(async () => (await t.api(`/api/v1/whatsapp/delivery-status/${res.body.id}`, { token: t.adminToken })).body.status === 'read', 'read');
      const refused = await t.api('/api/v1/whatsapp/send', { body: { to: '+14155550905', message: 'x', from: 'whatsapp:+14155238886' }, token: t.adminToken });
      expect(refused.body.code).toBe('UNKNOWN_SENDER');
      const senders = await t.api('/api/v1/whatsapp/senders', { token: t.adminToken });
      expect(senders.body[0]).toMatchObject({ sender: MESSAGING_SERVICE_SID, default: true });
    });
  });
});
