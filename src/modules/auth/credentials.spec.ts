import { apiKeyFromHeaders, generateApiKey, hashApiKey, isWellFormedApiKey } from './credentials';

describe('API key credentials', () => {
  it('generates a well-formed key whose hash, prefix and last four match it', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a.key).not.toBe(b.key);
    expect(isWellFormedApiKey(a.key)).toBe(true);
    expect(a.secretHash).toBe(hashApiKey(a.key));
    expect(a.secretHash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.key.startsWith(a.prefix)).toBe(true);
    expect(a.prefix).toMatch(/^wsk_.{6}$/);
    expect(a.key.endsWith(a.lastFour)).toBe(true);
  });

  it.each(['wsk_short', `wsk_${'a'.repeat(44)}`, `xsk_${'a'.repeat(43)}`, `wsk_${'a'.repeat(42)}!`])('refuses the malformed key %s', (key) => {
    expect(isWellFormedApiKey(key)).toBe(false);
  });

  it('reads X-API-Key first, then a wsk_ bearer token, and leaves JWTs to passport', () => {
    expect(apiKeyFromHeaders({ 'x-api-key': ' wsk_x ', authorization: 'Bearer wsk_y' })).toBe('wsk_x');
    expect(apiKeyFromHeaders({ authorization: 'Bearer wsk_y' })).toBe('wsk_y');
    expect(apiKeyFromHeaders({ authorization: 'Bearer eyJhbGciOi.x.y' })).toBeUndefined();
    expect(apiKeyFromHeaders({ 'x-api-key': 'not-a-key' })).toBe('not-a-key');
    expect(apiKeyFromHeaders({})).toBeUndefined();
    expect(apiKeyFromHeaders(undefined)).toBeUndefined();
  });
});
