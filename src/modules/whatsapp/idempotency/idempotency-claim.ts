import { createParamDecorator, ExecutionContext } from '@nestjs/common';

/** The Idempotency-Key claim a request holds while it runs. */
export interface IdempotencyClaim {
  id: string;
  /** The answer was stored with the request's own writes (same transaction): nothing left to store. */
  answered: boolean;
}

export type RequestWithClaim = { idempotencyClaim?: IdempotencyClaim };

/** The request's claim, or undefined when it carries no Idempotency-Key. */
export const CurrentIdempotencyClaim = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): IdempotencyClaim | undefined => ctx.switchToHttp().getRequest<RequestWithClaim>().idempotencyClaim,
);
