import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { DomainException } from '../../../common/errors/domain.exception';
import { ErrorCode } from '../../../common/errors/error-code';
import { IdempotencyState } from './idempotency-key.entity';
import { BoundMessage, IdempotencyKeyRepository, IdempotencyScope } from './idempotency-key.repository';
import { IDEMPOTENCY_KEY_HEADER } from './idempotency-key.header';
import { requestHash } from './request-hash';
import { sendAnswerFor } from '../send-answer';

/** How long a key remembers its answer. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;
/**
 * An in-flight claim older than this belongs to a process that died mid-request, and a retry of
 * the same request may take it over. It must outlast the slowest request: an immediate send
 * waits for its sender's rate-limit slot and then for Twilio (TWILIO_TIMEOUT_MS, 15 s by default).
 */
export const IDEMPOTENCY_LEASE_MS = 60_000;
/** Injection token of the lease in force: longer when TWILIO_TIMEOUT_MS is (see leaseFor). */
export const IDEMPOTENCY_LEASE = Symbol('IDEMPOTENCY_LEASE');

/** A lease that outlasts an immediate send: two Twilio calls (look-up and create) and some slack. */
export function leaseFor(twilioTimeoutMs: number): number {
  return Math.max(IDEMPOTENCY_LEASE_MS, 2 * twilioTimeoutMs + 30_000);
}
/** Expired rows are purged in the background every this many claims, a bounded batch at a time. */
export const PURGE_EVERY_CLAIMS = 100;
export const PURGE_BATCH_SIZE = 1000;

/**
 * Failures that happen after the request stored something (an immediate send that Twilio
 * refused is stored as failed). Their answer is kept and replayed like a success, so a retry
 * does not store and send the message again. Every other failure releases the key.
 */
const RECORDED_FAILURES: ReadonlySet<ErrorCode> = new Set([ErrorCode.TwilioRejected]);

interface RecordedFailureBody {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export type IdempotencyOutcome = { kind: 'claimed'; claimId: string } | { kind: 'replay'; status: number; body: unknown };

/**
 * Idempotency-Key semantics: the same key and body within 24 h get the first answer again; the
 * same key with another body is refused; a key whose request is still running is refused until
 * it ends.
 */
@Injectable()
export class IdempotencyService {
  private readonly logger = new Logger(IdempotencyService.name);
  private claimsSincePurge = 0;

  constructor(
    private readonly keys: IdempotencyKeyRepository,
    @Optional() @Inject(IDEMPOTENCY_LEASE) private readonly leaseMs: number = IDEMPOTENCY_LEASE_MS,
  ) {}

  /** Claims the key for this request, or answers what the earlier request with it answered. */
  async begin(scope: IdempotencyScope, body: unknown): Promise<IdempotencyOutcome> {
    const hash = requestHash(body);
    // A second pass is needed only when the row holding the key went away (released, expired)
    // between the claim and the look-up.
    for (let pass = 0; pass < 3; pass++) {
      const claimId = await this.keys.claim(scope, hash, IDEMPOTENCY_KEY_TTL_MS, this.leaseMs);
      if (claimId) {
        this.purgeNowAndThen();
        return { kind: 'claimed', claimId };
      }
      const held = await this.keys.findLive(scope, this.leaseMs);
      if (!held) continue;
      if (held.requestHash !== hash) {
        throw new DomainException(
          ErrorCode.IdempotencyKeyReused,
          `This ${IDEMPOTENCY_KEY_HEADER} was already used with a different request body; use a new key for a different request`,
          { header: IDEMPOTENCY_KEY_HEADER },
        );
      }
      if (held.state === IdempotencyState.Completed && held.responseStatus !== null) {
        return { kind: 'replay', status: held.responseStatus, body: held.responseBody };
      }
      if (held.message && held.abandoned) return this.answerFromMessage(held.id, held.message);
      break;
    }
    throw new DomainException(
      ErrorCode.IdempotencyRequestInFlight,
      `A request with this ${IDEMPOTENCY_KEY_HEADER} is still in progress; retry once it has been answered`,
      { header: IDEMPOTENCY_KEY_HEADER },
    );
  }

  /**
   * A request that stored its message and then died before answering (the message and the key
   * commit together, the answer after): answer with the message as it stands, and keep that
   * answer for later retries. Taking the key over instead would store the message a second time.
   */
  private async answerFromMessage(claimId: string, message: BoundMessage): Promise<IdempotencyOutcome> {
    const answer = sendAnswerFor(message);
    await this.keys.complete(claimId, answer.status, answer.body);
    this.logger.warn(`Idempotency claim ${claimId} was abandoned after storing message ${message.id}; answered from the message`);
    return { kind: 'replay', status: answer.status, body: answer.body };
  }

  /**
   * Stores the answer for replays. Never throws: the request succeeded, and failing its answer
   * now would only make the client retry a request that was carried out.
   */
  async succeed(claimId: string, status: number, body: unknown): Promise<void> {
    try {
      if (!(await this.keys.complete(claimId, status, body))) {
        this.logger.warn(`Idempotency claim ${claimId} was taken over before its answer was stored`);
      }
    } catch (err) {
      this.logger.error(`Could not store the answer of idempotency claim ${claimId}: ${(err as Error).message}`);
    }
  }

  /** After a failed request: keeps a failure that stored something, else frees the key for a corrected retry. */
  async fail(claimId: string, error: unknown): Promise<void> {
    try {
      if (error instanceof DomainException && RECORDED_FAILURES.has(error.code)) {
        const body: RecordedFailureBody = { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) };
        await this.keys.complete(claimId, error.httpStatus, body);
      } else {
        await this.keys.release(claimId);
      }
    } catch (err) {
      // The claim stays in flight until its lease ends; then a retry takes it over.
      this.logger.error(`Could not settle idempotency claim ${claimId}: ${(err as Error).message}`);
    }
  }

  /** A stored failure as the exception that answers it again; undefined for a stored success. */
  static replayedFailure(status: number, body: unknown): DomainException | undefined {
    if (status < 400) return undefined;
    const failure = body as RecordedFailureBody;
    return new DomainException(failure.code, failure.message, failure.details);
  }

  /** Off the request path: the claim that triggers it does not wait for it. */
  private purgeNowAndThen(): void {
    if (++this.claimsSincePurge < PURGE_EVERY_CLAIMS) return;
    this.claimsSincePurge = 0;
    this.keys.purgeExpired(PURGE_BATCH_SIZE).then(
      (n) => n > 0 && this.logger.debug(`Purged ${n} expired idempotency key(s)`),
      (err: Error) => this.logger.warn(`Purging expired idempotency keys failed: ${err.message}`),
    );
  }
}
