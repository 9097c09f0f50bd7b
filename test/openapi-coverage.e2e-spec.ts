import { startTestApp, TestApp } from './support/test-app';

describe('OpenAPI document (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('documents every API route with its success answer and at least one error body', async () => {
    const doc = (await t.api('/docs-json')).body as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }>> };
    const missing: string[] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const codes = Object.keys(op.responses ?? {});
        if (!codes.some((c) => c.startsWith('2'))) missing.push(`${method.toUpperCase()} ${path}: no 2xx answer`);
        if (!path.startsWith('/api/v1/health') && !codes.some((c) => c.startsWith('4'))) missing.push(`${method.toUpperCase()} ${path}: no error answer`);
      }
    }
    expect(missing).toEqual([]);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/whatsapp/send/bulk', '/api/v1/whatsapp/retry', '/api/v1/whatsapp/messages', '/api/v1/whatsapp/contacts/{phone}', '/api/v1/whatsapp/senders', '/api/v1/whatsapp/delivery-metrics', '/api/v1/health/ready', '/api/v1/users', '/api/v1/users/{id}', '/api/v1/api-keys', '/api/v1/api-keys/{id}']),
    );
  });

  it('offers X-API-Key wherever a bearer token is accepted, and neither on login', async () => {
    const doc = (await t.api('/docs-json')).body;
    expect(doc.components.securitySchemes['api-key']).toEqual({ type: 'apiKey', in: 'header', name: 'X-API-Key' });
    expect(doc.paths['/api/v1/whatsapp/send'].post.security).toEqual([{ bearer: [] }, { 'api-key': [] }]);
    expect(doc.paths['/api/v1/api-keys/{id}'].delete.security).toEqual([{ bearer: [] }, { 'api-key': [] }]);
    expect(doc.paths['/api/v1/auth/login'].post.security).toBeUndefined();
  });
});
