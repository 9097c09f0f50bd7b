import { DomainException } from '../../../common/errors/domain.exception';
import { ErrorCode } from '../../../common/errors/error-code';

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
/** Set on an answer that repeats the stored answer of an earlier request. */
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

const KEY_RE = new RegExp(`^[\\x20-\\x7E]{1,${IDEMPOTENCY_KEY_MAX_LENGTH}}$`);

/**
 * The Idempotency-Key of a request, undefined when it has none. Node hands the raw header value
 * (latin1, repeated headers joined by ", "), so anything outside printable ASCII is refused here.
 */
export function parseIdempotencyKey(raw: string | string[] | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw === 'string' && KEY_RE.test(raw)) return raw;
  throw new DomainException(
    ErrorCode.ValidationFailed,
    `${IDEMPOTENCY_KEY_HEADER} header must be 1-${IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters`,
    { header: IDEMPOTENCY_KEY_HEADER },
  );
}
