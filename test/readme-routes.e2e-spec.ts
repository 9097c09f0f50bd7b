import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestApp, TestApp } from './support/test-app';

/**
 * How the README may name a route: with or without the /api/v1 prefix, a path parameter as
 * `:id` or `{id}` (any name), followed by a query string, a space or the end of the code span.
 */
function mentionPattern(method: string, path: string): RegExp {
  const rest = path.replace(/^\/api\/v1/, '');
  const escaped = rest
    .split(/\{[^}]+\}/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('(?::[A-Za-z]+|\\{[A-Za-z]+\\}|<[^>]+>)');
  return new RegExp(`${method.toUpperCase()} (?:/api/v1)?${escaped}(?=[?\\s\`|)(,]|$)`, 'm');
}

describe('README routes (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('names every route of the OpenAPI document with its method', async () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    const doc = (await t.api('/docs-json')).body as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ method, path })));
    expect(routes.length).toBeGreaterThan(30);
    const unnamed = routes.filter(({ method, path }) => !mentionPattern(method, path).test(readme)).map(({ method, path }) => `${method.toUpperCase()} ${path}`);
    expect(unnamed).toEqual([]);
  });
});
