import RequestClient from 'twilio/lib/base/RequestClient';
import RestException from 'twilio/lib/base/RestException';

/** A 429 from Twilio, with how long its Retry-After header asked to wait (null: no header). */
export class RateLimitedRestException extends RestException {
  constructor(
    response: { statusCode: number; body: unknown },
    readonly retryAfterMs: number | null,
  ) {
    super(response);
  }
}

/** Retry-After is either seconds or an HTTP date (RFC 9110 10.2.3); anything else is ignored. */
export function parseRetryAfter(value: unknown, now = Date.now()): number | null {
  const raw = Array.isArray(value) ? value[0] : value;
  if (typeof raw !== 'string' && typeof raw !== 'number') return null;
  const text = String(raw).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * The official client's HTTP layer, keeping what its RestException drops: a 429's Retry-After
 * header, so the sender can be paused exactly as long as Twilio asked.
 */
export class RetryAfterRequestClient extends RequestClient {
  override async request<TData>(opts: RequestClient.RequestOptions<TData>) {
    const response = await super.request(opts);
    if (response.statusCode === 429) {
      throw new RateLimitedRestException(response, parseRetryAfter((response.headers as Record<string, unknown> | undefined)?.['retry-after']));
    }
    return response;
  }
}
