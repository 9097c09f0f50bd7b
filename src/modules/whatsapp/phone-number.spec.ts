import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';
import { contactKey, parseWhatsAppAddress } from './phone-number';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof DomainException ? e.code : 'other';
  }
  return undefined;
}

describe('parseWhatsAppAddress', () => {
  it.each([
    ['+14155238886', 'whatsapp:+14155238886'],
    ['whatsapp:+14155238886', 'whatsapp:+14155238886'],
    ['WhatsApp:+447911123456', 'whatsapp:+447911123456'],
    ['+49 151 2345 6789', 'whatsapp:+4915123456789'],
    ['  +1 (415) 523-8886 ', 'whatsapp:+14155238886'],
  ])('accepts %s', (input, address) => {
    expect(parseWhatsAppAddress(input).address).toBe(address);
  });

  it('names the missing country code', () => {
    expect(codeOf(() => parseWhatsAppAddress('4155238886'))).toBe(ErrorCode.MissingCountryCode);
    expect(codeOf(() => parseWhatsAppAddress('whatsapp:07911123456'))).toBe(ErrorCode.MissingCountryCode);
    try {
      parseWhatsAppAddress('004915123456789');
    } catch (e) {
      expect((e as Error).message).toContain('+4915123456789');
    }
  });

  it.each(['+1415555', '+999123', 'hello', '', 'whatsapp:'])('rejects %p as invalid', (input) => {
    expect(codeOf(() => parseWhatsAppAddress(input))).toBe(ErrorCode.InvalidPhoneNumber);
  });

  it('names the field in the message', () => {
    expect(() => parseWhatsAppAddress('12345', 'from')).toThrow(/^from must include the country code/);
  });
});

describe('contactKey', () => {
  it.each([
    ['+5215512345678', '+525512345678'], // Mexican WhatsApp ID -> dialable number
    ['+525512345678', '+525512345678'],
    ['+551187654321', '+5511987654321'], // Brazilian mobile without the ninth digit
    ['+5511987654321', '+5511987654321'],
    ['+551132654321', '+551132654321'], // Brazilian landline: unchanged
    ['+14155238886', '+14155238886'],
  ])('%s -> %s', (input, key) => {
    expect(contactKey(input)).toBe(key);
  });
});
