import { ExecutionContext, HttpStatus } from '@nestjs/common';
import { DomainException } from '../../../common/errors/domain.exception';
import { ERROR_HTTP_STATUS, ErrorCode } from '../../../common/errors/error-code';
import { JwtAuthGuard } from './jwt-auth.guard';

const context = {} as ExecutionContext;

function outcome(run: () => unknown): { code: ErrorCode; status: HttpStatus; message: string } | 'passed' {
  try {
    run();
    return 'passed';
  } catch (err) {
    const e = err as DomainException;
    return { code: e.code, status: ERROR_HTTP_STATUS[e.code], message: e.message };
  }
}

describe('JwtAuthGuard.handleRequest', () => {
  const guard = new JwtAuthGuard();

  it('answers 503 when the token could not be checked (the user look-up failed), not 401', () => {
    const result = outcome(() => guard.handleRequest(new Error('Connection terminated unexpectedly'), false, undefined, context));
    expect(result).toEqual({ code: ErrorCode.ServiceUnavailable, status: HttpStatus.SERVICE_UNAVAILABLE, message: expect.stringContaining('retry') });
  });

  it('answers 401 for what is wrong with the token itself', () => {
    expect(outcome(() => guard.handleRequest(null, false, new Error('No auth token'), context))).toMatchObject({ code: ErrorCode.Unauthorized, message: expect.stringMatching(/^Missing bearer token/) });
    expect(outcome(() => guard.handleRequest(null, false, new Error('jwt expired'), context))).toMatchObject({ code: ErrorCode.Unauthorized, message: 'The access token has expired; log in again' });
    expect(outcome(() => guard.handleRequest(null, false, new Error('invalid signature'), context))).toMatchObject({ code: ErrorCode.Unauthorized, message: 'Invalid access token' });
    // A valid token of a deactivated or deleted user: validate() answered no user.
    expect(outcome(() => guard.handleRequest(null, false, undefined, context))).toMatchObject({ code: ErrorCode.Unauthorized, status: HttpStatus.UNAUTHORIZED });
  });

  it('lets the user through', () => {
    const user = { id: 'u', email: 'a@example.com', role: 'admin' };
    expect(guard.handleRequest(null, user, undefined, context)).toBe(user);
  });
});
