import { ErrorCode, ERROR_HTTP_STATUS } from './error-code';

/**
 * An expected failure with a stable code. The exception filter turns it into
 * `{ statusCode, error, message, code, details?, requestId }`.
 */
export class DomainException extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainException';
  }

  get httpStatus(): number {
    return ERROR_HTTP_STATUS[this.code];
  }
}
