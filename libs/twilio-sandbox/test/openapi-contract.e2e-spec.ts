import { buildAjv, expectValid, Json, loadSpec, MESSAGE_SCHEMA, MESSAGES_PATH, strictObject } from './twilio-openapi';
import { SandboxTemplateSid, TemplateApprovalStatus } from '../content-templates';
import { TwilioSandbox } from '../twilio-sandbox';
import {
  ACCOUNT_SID,
  AUTH_TOKEN,
  MESSAGING_SERVICE_SID,
  WHATSAPP_FROM,
  basicAuth,
  postMessage,
  recordingLogger,
  waitFor,
} from './sandbox-test-kit';

describe('TwilioSandbox against Twilio’s OpenAPI spec', () => {
  const api = loadSpec('twilio_api_v2010.json');
  const content = loadSpec('twilio_content_v1.json');
  const ajv = buildAjv();
  const schemas = api.components as { schemas: { [key: string]: { [key: string]: Json } } };
  const messageSchema = strictObject(schemas.schemas[MESSAGE_SCHEMA]);
  ajv.addSchema({ ...api, components: { ...schemas, schemas: { ...schemas.schemas, [MESSAGE_SCHEMA]: messageSchema } } }, 'api');
  ajv.addSchema(content, 'content');

  const validateMessage = ajv.getSchema(`api#/components/schemas/${MESSAGE_SCHEMA}`)!;
  const listSchemaPointer =
    `api#/paths/${MESSAGES_PATH.replace(/~/g, '~0').replace(/\//g, '~1').replace(/\{/g, '%7B').replace(/\}/g, '%7D')}` +
    '/get/responses/200/content/application~1json/schema';
  const validateContent = ajv.getSchema('content#/components/schemas/content.v1.content')!;

  const sandbox = new TwilioSandbox({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, statusDelayMs: 10, logger: recordingLogger() });
  let baseUrl: string;

  beforeAll(async () => {
    baseUrl = await sandbox.start();
  });

  afterAll(async () => {
    await sandbox.stop();
  });

  async function get(pathAndQuery: string): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${baseUrl}${pathAndQuery}`, { headers: { Authorization: basicAuth() } });
    return { status: response.status, body: await response.json() };
  }

  it('has the message schema with the properties the sandbox promises', () => {
    expect(Object.keys(messageSchema.properties as object).sort()).toEqual(
      [
        'account_sid', 'api_version', 'body', 'date_created', 'date_sent', 'date_updated', 'direction', 'error_code',
        'error_message', 'from', 'messaging_service_sid', 'num_media', 'num_segments', 'price', 'price_unit', 'sid',
        'status', 'subresource_uris', 'to', 'uri',
      ].sort(),
    );
  });

  it('catches a resource that breaks the contract (so a pass means something)', async () => {
    const result = await postMessage(baseUrl, { To: 'whatsapp:+15551240000', From: WHATSAPP_FROM, Body: 'x' });
    expectValid(validateMessage, result.body);
    expect(validateMessage({ ...result.body, num_media: 0 })).toBe(false);
    expect(validateMessage({ ...result.body, date_created: new Date().toISOString() })).toBe(false);
    const { price_unit: _omitted, ...missingOne } = result.body;
    expect(validateMessage(missingOne)).toBe(false);
    expect(validateMessage({ ...result.body, extra: true })).toBe(false);
  });

  it('create answers match api.v2010.account.message: plain, Messaging Service, media and template sends', async () => {
    const sends: Record<string, string>[] = [
      { To: 'whatsapp:+15551240001', From: WHATSAPP_FROM, Body: 'contract' },
      { To: 'whatsapp:+15551240002', MessagingServiceSid: MESSAGING_SERVICE_SID, Body: 'contract' },
      { To: 'whatsapp:+15551240003', From: WHATSAPP_FROM, MediaUrl: 'https://example.com/a.jpg' },
      { To: 'whatsapp:+15551240004', From: WHATSAPP_FROM, ContentSid: SandboxTemplateSid.OneTimeCode, ContentVariables: '{"1":"424242"}' },
      { To: '+15551240005', From: '+15005550006', Body: 'an SMS, for good measure' },
    ];
    for (const params of sends) {
      const result = await postMessage(baseUrl, params);
      expect(result.status).toBe(201);
      expectValid(validateMessage, result.body);
    }
  });

  it('fetch answers match the schema at every stage, failures included', async () => {
    sandbox.delivery.setNumberFate('+15551240010', { status: 'undelivered', errorCode: 30003 });
    const ok = await postMessage(baseUrl, { To: 'whatsapp:+15551240009', From: WHATSAPP_FROM, Body: 'fetch me' });
    const failed = await postMessage(baseUrl, { To: 'whatsapp:+15551240010', From: WHATSAPP_FROM, Body: 'fail me' });
    const sids = [ok.body.sid as string, failed.body.sid as string];
    await waitFor(
      () => sandbox.control.message(sids[0])?.resource.status === 'read' && sandbox.control.message(sids[1])?.resource.status === 'undelivered',
      'both messages final',
    );
    for (const sid of sids) {
      const fetched = await get(`/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${sid}.json`);
      expect(fetched.status).toBe(200);
      expectValid(validateMessage, fetched.body);
    }
    const failedResource = (await get(`/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${sids[1]}.json`)).body;
    expect(failedResource).toMatchObject({ status: 'undelivered', error_code: 30003, error_message: 'Unreachable destination handset' });
  });

  it('inbound messages held by the sandbox match the schema too', async () => {
    const inbound = await sandbox.inbound.send({ from: '+15551240020', to: WHATSAPP_FROM, body: 'hi' });
    const fetched = await get(`/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${inbound.messageSid}.json`);
    expectValid(validateMessage, fetched.body);
    expect(fetched.body).toMatchObject({ direction: 'inbound', status: 'received' });
  });

  it('list answers match ListMessageResponse, on every page', async () => {
    const validateList = ajv.getSchema(listSchemaPointer);
    expect(validateList).toBeDefined();
    let next: string | null = `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json?PageSize=3`;
    let pages = 0;
    while (next) {
      const page = await get(next);
      expect(page.status).toBe(200);
      expectValid(validateList!, page.body);
      const body = page.body as { messages: unknown[]; next_page_uri: string | null };
      body.messages.forEach((message) => expectValid(validateMessage, message));
      next = body.next_page_uri;
      pages += 1;
    }
    expect(pages).toBeGreaterThan(1);
  });

  it('error answers have Twilio’s error shape', async () => {
    const result = await postMessage(baseUrl, { From: WHATSAPP_FROM, Body: 'no to' });
    expect(result.body).toEqual({
      code: 21604,
      message: "A 'To' phone number is required.",
      more_info: 'https://www.twilio.com/docs/errors/21604',
      status: 400,
    });
  });

  it('Content API answers match content.v1.content', async () => {
    const list = await get('/v1/Content');
    const contents = (list.body as { contents: unknown[] }).contents;
    expect(contents).toHaveLength(3);
    contents.forEach((item) => expectValid(validateContent, item));
    const one = await get(`/v1/Content/${SandboxTemplateSid.AppointmentReminder}`);
    expectValid(validateContent, one.body);
  });

  it('ContentAndApprovals answers match ListContentAndApprovalsResponse, added templates included', async () => {
    const contentSchemas = (content.components as { schemas: { [key: string]: { [key: string]: Json } } }).schemas;
    // Every property there, nothing else (the spec requires none).
    const validateAndApprovals = ajv.compile(strictObject(contentSchemas['content.v1.content_and_approvals']));
    const listPointer = 'content#/paths/~1v1~1ContentAndApprovals/get/responses/200/content/application~1json/schema';
    const validateList = ajv.getSchema(listPointer)!;
    sandbox.control.addTemplate({ friendlyName: 'contract_added', approvalStatus: TemplateApprovalStatus.Rejected, types: { 'twilio/card': { title: '{{1}}' } } });
    const list = await get('/v1/ContentAndApprovals?PageSize=2');
    expectValid(validateList, list.body);
    let next: string | null = '/v1/ContentAndApprovals?PageSize=2';
    let seen = 0;
    while (next) {
      const page = await get(next);
      const body = page.body as { contents: unknown[]; meta: { next_page_url: string | null } };
      expectValid(validateList, body);
      body.contents.forEach((item) => expectValid(validateAndApprovals, item));
      seen += body.contents.length;
      next = body.meta.next_page_url?.replace('https://content.twilio.com', '') ?? null;
    }
    expect(seen).toBe(4);
    sandbox.control.reset();
  });
});
