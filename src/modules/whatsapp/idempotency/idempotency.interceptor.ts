import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, lastValueFrom, Observable, of } from 'rxjs';
import { AuthenticatedUser } from '../../auth/auth.types';
import { IdempotencyClaim, RequestWithClaim } from './idempotency-claim';
import { IDEMPOTENT_REPLAYED_HEADER, parseIdempotencyKey } from './idempotency-key.header';
import { IdempotencyService } from './idempotency.service';

export const IDEMPOTENT_ROUTE = 'idempotency:route';

/** Names that scope keys per route; stable even if a path changes. */
export enum IdempotentRoute {
  Send = 'whatsapp.send',
  BulkSend = 'whatsapp.send-bulk',
}

/**
 * Applies Idempotency-Key to a route marked @Idempotent. It runs after the guards (the user is
 * known) and around the pipes, so a request whose body fails validation releases its key too.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly idempotency: IdempotencyService,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest & RequestWithClaim & { user?: AuthenticatedUser }>();
    const reply = http.getResponse<FastifyReply>();
    const key = parseIdempotencyKey(request.headers['idempotency-key']);
    if (key === undefined) return next.handle();
    const route = this.reflector.get<IdempotentRoute | undefined>(IDEMPOTENT_ROUTE, context.getHandler());
    if (!route || !request.user) throw new Error('Idempotency needs @Idempotent(route) on an authenticated route');

    const outcome = await this.idempotency.begin({ userId: request.user.id, route, key }, request.body);
    if (outcome.kind === 'replay') {
      reply.header(IDEMPOTENT_REPLAYED_HEADER, 'true');
      const failure = IdempotencyService.replayedFailure(outcome.status, outcome.body);
      if (failure) throw failure;
      reply.status(outcome.status);
      return of(outcome.body);
    }
    const claim: IdempotencyClaim = { id: outcome.claimId, answered: false };
    request.idempotencyClaim = claim;
    return from(this.runClaimed(claim, next, reply));
  }

  private async runClaimed(claim: IdempotencyClaim, next: CallHandler, reply: FastifyReply): Promise<unknown> {
    let body: unknown;
    try {
      body = await lastValueFrom(next.handle());
    } catch (err) {
      await this.idempotency.fail(claim.id, err);
      throw err;
    }
    if (claim.answered) return body;
    // The handler has set the status by now (202 queued, 201 sent inline).
    await this.idempotency.succeed(claim.id, reply.statusCode, body);
    return body;
  }
}
