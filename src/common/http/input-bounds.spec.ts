import { ErrorCode } from '../errors/error-code';
import { DEFAULT_INPUT_BOUNDS, findInputViolation } from './input-bounds';

describe('findInputViolation', () => {
  it('passes a full-size bulk send', () => {
    const messages = Array.from({ length: 1000 }, (_, i) => ({ to: `+1415555${i}`, contentSid: 'HX' + 'a'.repeat(32), contentVariables: { '1': 'Ada', '2': '12 Dec' }, mediaUrl: ['https://example.com/a.png'] }));
    expect(findInputViolation({ messages })).toBeUndefined();
  });

  it.each([
    [{ a: JSON.parse('['.repeat(10_000) + ']'.repeat(10_000)) }, ErrorCode.InputTooDeep, 'a.0.0.0.0.0.0.0'],
    [{ v: Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`k${i}`, 1])) }, ErrorCode.InputTooManyKeys, 'v'],
    [{ list: Array(5001).fill(1) }, ErrorCode.InputTooManyItems, 'list'],
    [{ m: [{ s: 'x'.repeat(16_385) }] }, ErrorCode.InputStringTooLong, 'm.0.s'],
    [{ m: { ['k\u0000']: 1 } }, ErrorCode.InputNulCharacter, 'm.k\u0000'],
    [{ m: 'a\ud800' }, ErrorCode.InputInvalidUnicode, 'm'],
    [{ m: '\udc00a' }, ErrorCode.InputInvalidUnicode, 'm'],
  ])('names the first bound broken: %#', (input, code, field) => {
    expect(findInputViolation(input)).toMatchObject({ code, field });
  });

  it('counts every value of the input together', () => {
    const input = { messages: Array.from({ length: 1000 }, () => ({ a: '1', b: '2', c: '3', d: '4', e: '5', f: '6', g: '7', h: '8', i: '9', j: '10' })) };
    expect(findInputViolation(input, { ...DEFAULT_INPUT_BOUNDS, maxValues: 5000 })).toMatchObject({ code: ErrorCode.InputTooManyValues });
  });

  it('takes astral characters, whose surrogates come in pairs', () => {
    expect(findInputViolation({ m: '📦 𝒜 ✅' })).toBeUndefined();
  });
});
