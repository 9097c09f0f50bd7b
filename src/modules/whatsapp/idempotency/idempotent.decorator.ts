import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { ApiConflictResponse, ApiHeader } from '@nestjs/swagger';
import { ErrorBodyDto } from '../../../common/http/error-body.dto';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_KEY_MAX_LENGTH, IDEMPOTENT_REPLAYED_HEADER } from './idempotency-key.header';
import { IDEMPOTENT_ROUTE, IdempotencyInterceptor, IdempotentRoute } from './idempotency.interceptor';

/**
 * Accepts an Idempotency-Key on the route. Document the 422 IDEMPOTENCY_KEY_REUSED answer in the
 * route's own @ApiUnprocessableEntityResponse: a second one here would replace it.
 */
export function Idempotent(route: IdempotentRoute): MethodDecorator {
  return applyDecorators(
    SetMetadata(IDEMPOTENT_ROUTE, route),
    UseInterceptors(IdempotencyInterceptor),
    ApiHeader({
      name: IDEMPOTENCY_KEY_HEADER,
      required: false,
      description:
        `Makes retries safe: within 24 hours, a request with the same key and the same body (key order does not matter) ` +
        `gets the first answer again, with ${IDEMPOTENT_REPLAYED_HEADER}: true, and sends nothing. Keys are per user. ` +
        `The same key with another body gets 422 IDEMPOTENCY_KEY_REUSED; while the first request runs, 409 ` +
        `IDEMPOTENCY_REQUEST_IN_FLIGHT. A request refused as invalid does not use up its key. ` +
        `1-${IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters, e.g. a UUID.`,
      schema: { type: 'string', minLength: 1, maxLength: IDEMPOTENCY_KEY_MAX_LENGTH, example: '4f1c2d8e-6a0b-4c55-9d3e-1b2a3c4d5e6f' },
    }),
    ApiConflictResponse({ type: ErrorBodyDto, description: 'A request with the same Idempotency-Key is still in progress (IDEMPOTENCY_REQUEST_IN_FLIGHT)' }),
  );
}
