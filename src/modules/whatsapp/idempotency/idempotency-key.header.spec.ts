import { DomainException } from '../../../common/errors/domain.exception';
import { ErrorCode } from '../../../common/errors/error-code';
import { parseIdempotencyKey } from './idempotency-key.header';

describe('parseIdempotencyKey', () => {
  it('is undefined without the header', () => {
    expect(parseIdempotencyKey(undefined)).toBeUndefined();
  });

  it.each(['a', '4f1c2d8e-6a0b-4c55-9d3e-1b2a3c4d5e6f', 'order 42 / attempt #1', '~'.repeat(255)])('accepts %j', (key) => {
    expect(parseIdempotencyKey(key)).toBe(key);
  });

  it.each([[''], ['x'.repeat(256)], ['tab\tinside'], ['caf\u00e9'], ['line\nbreak'], [['a', 'b']]])('refuses %j with VALIDATION_FAILED naming the header', (raw) => {
    let caught: unknown;
    try {
      parseIdempotencyKey(raw as string | string[]);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DomainException);
    expect(caught).toMatchObject({ code: ErrorCode.ValidationFailed, details: { header: 'Idempotency-Key' } });
    expect((caught as Error).message).toContain('Idempotency-Key');
  });
});
