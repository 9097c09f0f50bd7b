import { Injectable } from '@nestjs/common';
import { SignatureFailureReason } from './twilio-signature.verifier';

/** Counts of webhook signature outcomes; read by the metrics module. */
@Injectable()
export class WebhookSignatureStats {
  readonly failures = new Map<SignatureFailureReason, number>();
  /** Matches per token index (0 = current token, 1+ = previous tokens still in use). */
  readonly matches = new Map<number, number>();
  unsignedAccepted = 0;

  recordFailure(reason: SignatureFailureReason): void {
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
  }

  recordMatch(tokenIndex: number): void {
    this.matches.set(tokenIndex, (this.matches.get(tokenIndex) ?? 0) + 1);
  }
}
