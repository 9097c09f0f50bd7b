import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  classifyFailure,
  describeTwilioError,
  NetworkErrorCode,
  operatorHint,
  RetryClass,
  TWILIO_ERROR_CODES,
  TwilioErrorCode,
} from './twilio-error-codes';

const RETRYABLE_CODES = [20429, 20500, 20503, 21611, 21730, 30001, 30008, 63017, 63018, 63038];
const RETRY_ONCE_LATER_CODES = [30003];
const PERMANENT_CODES = [
  20003, 20404, 21211, 21212, 21408, 21602, 21603, 21604, 21606, 21608, 21610, 21612, 21614, 21617, 21655,
  21910, 30004, 30005, 30006, 30007, 63001, 63002, 63003, 63005, 63007, 63008, 63013, 63014, 63015, 63016,
  63020, 63021, 63024, 63027, 63028, 63031, 63032, 63049,
];

describe('TWILIO_ERROR_CODES', () => {
  it.each(RETRYABLE_CODES)('classes %i as retryable', (code) => {
    expect(describeTwilioError(code)?.retryClass).toBe(RetryClass.Retryable);
  });

  it.each(RETRY_ONCE_LATER_CODES)('classes %i as retry once later', (code) => {
    expect(describeTwilioError(code)?.retryClass).toBe(RetryClass.RetryOnceLater);
  });

  it.each(PERMANENT_CODES)('classes %i as permanent', (code) => {
    expect(describeTwilioError(code)?.retryClass).toBe(RetryClass.Permanent);
  });

  it.each([...RETRYABLE_CODES, ...RETRY_ONCE_LATER_CODES, ...PERMANENT_CODES])('gives %i a hint', (code) => {
    expect(operatorHint(code)?.trim()).toBeTruthy();
  });

  it('lists exactly the codes above, so a new entry gets a class test', () => {
    const listed = [...RETRYABLE_CODES, ...RETRY_ONCE_LATER_CODES, ...PERMANENT_CODES].sort((a, b) => a - b);
    const inTable = Object.keys(TWILIO_ERROR_CODES).map(Number).sort((a, b) => a - b);
    expect(inTable).toEqual(listed);
  });

  it.each([
    [21614, 'Include the country code: +1234567890 (E.164); check the number is on WhatsApp'],
    [30003, 'Include the country code: +1234567890 (E.164); check the number is on WhatsApp'],
    [63016, 'Outside the 24-hour window: send an approved template (contentSid) instead'],
    [21610, 'The recipient opted out (STOP); do not resend until they opt in (START)'],
    [63018, 'Sender is over its rate limit: lower TWILIO_MPS or ask Twilio for more throughput'],
  ])('gives %i the runbook hint', (code, hint) => {
    expect(operatorHint(code)).toBe(hint);
  });

  it('keys every entry by its own code', () => {
    for (const [key, info] of Object.entries(TWILIO_ERROR_CODES)) {
      expect(info.code).toBe(Number(key));
    }
  });

  it('has one-line titles and hints and a known retry class on every entry', () => {
    const classes: string[] = Object.values(RetryClass);
    for (const info of Object.values(TWILIO_ERROR_CODES)) {
      expect(info.title.trim()).not.toBe('');
      expect(info.hint.trim()).not.toBe('');
      expect(info.title).not.toMatch(/\n/);
      expect(info.hint).not.toMatch(/\n/);
      expect(classes).toContain(info.retryClass);
    }
  });

  it('has an entry for every TwilioErrorCode member and no others', () => {
    const enumCodes = Object.values(TwilioErrorCode)
      .filter((value): value is number => typeof value === 'number')
      .sort((a, b) => a - b);
    const inTable = Object.keys(TWILIO_ERROR_CODES).map(Number).sort((a, b) => a - b);
    expect(inTable).toEqual(enumCodes);
  });

  it('cannot be changed at runtime', () => {
    expect(Object.isFrozen(TWILIO_ERROR_CODES)).toBe(true);
    expect(Object.isFrozen(TWILIO_ERROR_CODES[TwilioErrorCode.OutsideMessagingWindow])).toBe(true);
  });
});

describe('describeTwilioError / operatorHint', () => {
  it.each([null, undefined, 99999, 0])('returns undefined for %p', (code) => {
    expect(describeTwilioError(code)).toBeUndefined();
    expect(operatorHint(code)).toBeUndefined();
  });

  it('returns the table entry for a known code', () => {
    expect(describeTwilioError(63016)).toBe(TWILIO_ERROR_CODES[63016]);
  });
});

describe('classifyFailure', () => {
  describe('Twilio error codes', () => {
    it('uses the table entry for a known code', () => {
      expect(classifyFailure({ twilioCode: 63016, httpStatus: 400 })).toEqual({
        retryClass: RetryClass.Permanent,
        reason: 'Twilio 63016: Outside messaging window. For WhatsApp, use a Message Template instead',
        hint: 'Outside the 24-hour window: send an approved template (contentSid) instead',
        mayHaveReachedTwilio: false,
      });
    });

    it('retries 20429 without flagging a possible duplicate', () => {
      const result = classifyFailure({ twilioCode: 20429, httpStatus: 429 });
      expect(result.retryClass).toBe(RetryClass.Retryable);
      expect(result.mayHaveReachedTwilio).toBe(false);
    });

    it('retries 20500 and flags that the message may already exist', () => {
      const result = classifyFailure({ twilioCode: 20500 });
      expect(result.retryClass).toBe(RetryClass.Retryable);
      expect(result.mayHaveReachedTwilio).toBe(true);
    });

    it('retries 30003 once later', () => {
      expect(classifyFailure({ twilioCode: 30003 }).retryClass).toBe(RetryClass.RetryOnceLater);
    });

    it('lets a known permanent code win over a 5xx status', () => {
      const result = classifyFailure({ twilioCode: 21610, httpStatus: 500 });
      expect(result.retryClass).toBe(RetryClass.Permanent);
      expect(result.mayHaveReachedTwilio).toBe(true);
    });

    it('fails an unknown code permanently with a pointer to the docs', () => {
      const result = classifyFailure({ twilioCode: 12345, httpStatus: 400 });
      expect(result.retryClass).toBe(RetryClass.Permanent);
      expect(result.hint).toContain('https://www.twilio.com/docs/api/errors/12345');
      expect(result.mayHaveReachedTwilio).toBe(false);
    });

    it('fails an unknown code without any HTTP status permanently', () => {
      expect(classifyFailure({ twilioCode: 12345 }).retryClass).toBe(RetryClass.Permanent);
    });

    it.each([
      [500, true],
      [502, true],
      [503, false],
      [504, true],
    ])('retries an unknown code with HTTP %i (may have reached Twilio: %p)', (httpStatus, reached) => {
      const result = classifyFailure({ twilioCode: 12345, httpStatus });
      expect(result.retryClass).toBe(RetryClass.Retryable);
      expect(result.mayHaveReachedTwilio).toBe(reached);
    });

    it('retries 20503 without flagging a duplicate: Twilio refused before creating anything', () => {
      const result = classifyFailure({ twilioCode: 20503, httpStatus: 503 });
      expect(result.retryClass).toBe(RetryClass.Retryable);
      expect(result.mayHaveReachedTwilio).toBe(false);
    });

    it('retries an unknown code with HTTP 429', () => {
      const result = classifyFailure({ twilioCode: 12345, httpStatus: 429 });
      expect(result.retryClass).toBe(RetryClass.Retryable);
      expect(result.mayHaveReachedTwilio).toBe(false);
    });
  });

  describe('HTTP status without a Twilio code', () => {
    it('retries 429 without flagging a possible duplicate', () => {
      const result = classifyFailure({ httpStatus: 429 });
      expect(result.retryClass).toBe(RetryClass.Retryable);
      expect(result.mayHaveReachedTwilio).toBe(false);
      expect(result.hint).toBeTruthy();
    });

    it.each([500, 502, 504])('retries %i and flags a possible duplicate', (httpStatus) => {
      const result = classifyFailure({ httpStatus });
      expect(result.retryClass).toBe(RetryClass.Retryable);
      expect(result.mayHaveReachedTwilio).toBe(true);
    });

    it('retries 503 without flagging a duplicate', () => {
      expect(classifyFailure({ httpStatus: 503 })).toMatchObject({ retryClass: RetryClass.Retryable, mayHaveReachedTwilio: false });
    });

    it.each([400, 401, 403, 404, 408, 422])('fails %i permanently', (httpStatus) => {
      const result = classifyFailure({ httpStatus });
      expect(result.retryClass).toBe(RetryClass.Permanent);
      expect(result.mayHaveReachedTwilio).toBe(false);
    });

    it('lets the HTTP answer win over a network code', () => {
      expect(classifyFailure({ httpStatus: 400, networkCode: 'ECONNRESET' }).retryClass).toBe(RetryClass.Permanent);
    });
  });

  describe('network failures and timeouts', () => {
    it('retries a timeout and flags that the message may already exist', () => {
      const result = classifyFailure({ timedOut: true });
      expect(result.retryClass).toBe(RetryClass.Retryable);
      expect(result.mayHaveReachedTwilio).toBe(true);
    });

    it.each([
      NetworkErrorCode.ConnectionReset,
      NetworkErrorCode.TimedOut,
      NetworkErrorCode.ConnectionAborted,
      NetworkErrorCode.SocketTimedOut,
      NetworkErrorCode.SocketError,
      NetworkErrorCode.BrokenPipe,
      NetworkErrorCode.HeadersTimeout,
      NetworkErrorCode.BodyTimeout,
    ])('retries %s and flags that the message may already exist', (networkCode) => {
      const result = classifyFailure({ networkCode });
      expect(result.retryClass).toBe(RetryClass.Retryable);
      expect(result.mayHaveReachedTwilio).toBe(true);
    });

    it.each([
      NetworkErrorCode.ConnectionRefused,
      NetworkErrorCode.DnsLookupTemporaryFailure,
      NetworkErrorCode.DnsLookupNotFound,
      NetworkErrorCode.NetworkUnreachable,
      NetworkErrorCode.HostUnreachable,
      NetworkErrorCode.ConnectTimeout,
    ])('retries %s knowing nothing reached Twilio', (networkCode) => {
      const result = classifyFailure({ networkCode });
      expect(result.retryClass).toBe(RetryClass.Retryable);
      expect(result.mayHaveReachedTwilio).toBe(false);
    });

    it('treats a connection refused with a timeout flag as not sent', () => {
      expect(classifyFailure({ networkCode: 'ECONNREFUSED', timedOut: true }).mayHaveReachedTwilio).toBe(false);
    });

    it('accepts lower-case network codes', () => {
      expect(classifyFailure({ networkCode: 'econnrefused' }).mayHaveReachedTwilio).toBe(false);
    });

    it('retries an unfamiliar network code but flags a possible duplicate', () => {
      const result = classifyFailure({ networkCode: 'ESOMETHINGNEW' });
      expect(result.retryClass).toBe(RetryClass.Retryable);
      expect(result.mayHaveReachedTwilio).toBe(true);
    });
  });

  it('does not retry a failure nothing identifies, and warns it may exist', () => {
    const result = classifyFailure({ twilioCode: null, httpStatus: null, networkCode: null, timedOut: false });
    expect(result.retryClass).toBe(RetryClass.Permanent);
    expect(result.mayHaveReachedTwilio).toBe(true);
  });
});

describe("the README's runbook table of Twilio error codes", () => {
  const readme = readFileSync(resolve(__dirname, '../../../README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('**Common Twilio error codes**'), readme.indexOf('**Stuck or missing messages**'));
  const rows = [...section.matchAll(/^\| (\d{5}) \| ([^|]+) \| ([^|]+) \|/gm)].map(([, code, meaning, handling]) => ({
    code: Number(code),
    meaning: meaning.trim().replace(/ \(also plain HTTP 429\)$/, ''),
    handling: handling.trim(),
  }));

  it('lists the codes operators meet most, 30004 and 30005 among them', () => {
    expect(rows.map((r) => r.code)).toEqual(expect.arrayContaining([21211, 30003, 30004, 30005, 30008, 63016]));
  });

  it.each(rows.map((r) => [r.code, r] as const))("gives %i Twilio's own title, as the code table does", (_code, row) => {
    expect(row.meaning).toBe(describeTwilioError(row.code)?.title);
  });

  it.each(rows.map((r) => [r.code, r] as const))('describes what the service does with %i as its retry class says', (_code, row) => {
    const expected = { [RetryClass.Permanent]: /^fails/, [RetryClass.Retryable]: /^retries/, [RetryClass.RetryOnceLater]: /^one automatic retry/ };
    expect(row.handling).toMatch(expected[describeTwilioError(row.code)!.retryClass]);
  });
});
