import {
  AttemptFailure,
  RetryPolicy,
  failureForStatus,
  parseConnectionOverrides,
  shouldRetry,
} from './connection-overrides';

describe('parseConnectionOverrides', () => {
  it('uses Twilio’s defaults without a fragment: one retry, on connect failures only', () => {
    expect(parseConnectionOverrides('https://example.com/status?a=1')).toEqual({
      requestUrl: 'https://example.com/status?a=1',
      connectTimeoutMs: 5000,
      readTimeoutMs: 5000,
      totalTimeoutMs: 15000,
      retryCount: 1,
      retryPolicies: [RetryPolicy.ConnectTimeout],
    });
  });

  it('reads rc, rp, ct, rt and tt and strips the fragment from the URL to request', () => {
    expect(parseConnectionOverrides('https://example.com/status#rc=3&rp=4xx,5xx&ct=1000&rt=2000&tt=9000')).toEqual({
      requestUrl: 'https://example.com/status',
      connectTimeoutMs: 1000,
      readTimeoutMs: 2000,
      totalTimeoutMs: 9000,
      retryCount: 3,
      retryPolicies: [RetryPolicy.ClientError, RetryPolicy.ServerError],
    });
  });

  it('clamps values to Twilio’s ranges and ignores what it cannot read', () => {
    const overrides = parseConnectionOverrides('https://example.com/#rc=9&ct=5&rt=99999&tt=abc&rp=bogus');
    expect(overrides).toMatchObject({
      retryCount: 5,
      connectTimeoutMs: 100,
      readTimeoutMs: 15000,
      totalTimeoutMs: 15000,
      retryPolicies: [RetryPolicy.ConnectTimeout],
    });
  });
});

describe('retry decisions', () => {
  it('classifies HTTP statuses', () => {
    expect(failureForStatus(204)).toBeNull();
    expect(failureForStatus(404)).toBe(AttemptFailure.ClientError);
    expect(failureForStatus(503)).toBe(AttemptFailure.ServerError);
    expect(failureForStatus(302)).toBe(AttemptFailure.UnexpectedStatus);
  });

  it.each([
    [AttemptFailure.ConnectFailed, [RetryPolicy.ConnectTimeout], true],
    [AttemptFailure.ReadTimeout, [RetryPolicy.ConnectTimeout], false],
    [AttemptFailure.ReadTimeout, [RetryPolicy.ReadTimeout], true],
    [AttemptFailure.ServerError, [RetryPolicy.ClientError], false],
    [AttemptFailure.ServerError, [RetryPolicy.All], true],
    [AttemptFailure.ClientError, [RetryPolicy.All], true],
    [AttemptFailure.UnexpectedStatus, [RetryPolicy.All], false],
  ])('%s with %j -> retry %s', (failure, policies, expected) => {
    expect(shouldRetry(failure, policies)).toBe(expected);
  });
});
