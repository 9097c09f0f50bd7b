import { canonicalJson, requestHash } from './request-hash';

describe('requestHash', () => {
  it('ignores the order of object keys, at every level', () => {
    const a = { to: '+14155550100', message: 'hi', contentVariables: { '1': 'Ada', '2': 'today' } };
    const b = { contentVariables: { '2': 'today', '1': 'Ada' }, message: 'hi', to: '+14155550100' };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(requestHash(a)).toBe(requestHash(b));
    expect(requestHash({ messages: [a] })).toBe(requestHash({ messages: [b] }));
  });

  it('keeps the order of array items, which means something', () => {
    expect(requestHash({ messages: [{ to: '1' }, { to: '2' }] })).not.toBe(requestHash({ messages: [{ to: '2' }, { to: '1' }] }));
  });

  it('tells apart values, types and nesting', () => {
    const hashes = [{ a: 1 }, { a: '1' }, { a: [1] }, { a: { b: 1 } }, { a: null }, { a: true }, {}, [], null, 'a'].map(requestHash);
    expect(new Set(hashes).size).toBe(hashes.length);
  });

  it('serializes like JSON, with sorted keys', () => {
    expect(canonicalJson({ b: [1, 'x', null], a: { d: false, c: 'é"' } })).toBe('{"a":{"c":"é\\"","d":false},"b":[1,"x",null]}');
    expect(canonicalJson(undefined)).toBe('null');
    expect(requestHash({})).toMatch(/^[0-9a-f]{64}$/);
  });
});
