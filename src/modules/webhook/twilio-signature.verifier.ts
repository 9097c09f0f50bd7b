import twilio from 'twilio';

export enum SignatureFailureReason {
  MissingHeader = 'missing_header',
  Mismatch = 'mismatch',
  BodyHashMismatch = 'body_hash_mismatch',
  MissingBodyHash = 'missing_body_hash',
}

export type SignatureCheck =
  | { valid: true; tokenIndex: number }
  | { valid: false; reason: SignatureFailureReason };

export interface SignedRequest {
  /** The public URL Twilio called (scheme, host, port, path and query as Twilio saw them). */
  url: string;
  signature: string | undefined;
  /** Form parameters exactly as posted (never filtered: Twilio adds fields over time). */
  params?: Record<string, string>;
  /** Raw body of a JSON callback; its SHA-256 is in the bodySHA256 query parameter. */
  rawJsonBody?: string;
}

/**
 * Checks X-Twilio-Signature with the `twilio` package's own validators, against each accepted
 * auth token in turn (current first), so a token rotation needs no downtime.
 */
export function verifyTwilioSignature(req: SignedRequest, authTokens: readonly string[]): SignatureCheck {
  if (!req.signature) return { valid: false, reason: SignatureFailureReason.MissingHeader };
  if (req.rawJsonBody !== undefined) {
    if (!new URL(req.url).searchParams.get('bodySHA256')) return { valid: false, reason: SignatureFailureReason.MissingBodyHash };
    let urlMatched = false;
    for (const [i, token] of authTokens.entries()) {
      if (twilio.validateRequestWithBody(token, req.signature, req.url, req.rawJsonBody)) return { valid: true, tokenIndex: i };
      urlMatched ||= twilio.validateRequest(token, req.signature, req.url, {});
    }
    // The URL (with its bodySHA256) was signed by us-known token, but the body is not that body.
    return { valid: false, reason: urlMatched ? SignatureFailureReason.BodyHashMismatch : SignatureFailureReason.Mismatch };
  }
  for (const [i, token] of authTokens.entries()) {
    if (twilio.validateRequest(token, req.signature, req.url, req.params ?? {})) return { valid: true, tokenIndex: i };
  }
  return { valid: false, reason: SignatureFailureReason.Mismatch };
}

/**
 * The URL Twilio signed: the configured public URL (scheme, host, port and path, which a
 * TLS-terminating proxy or a path prefix changes on the way in) with the query string as received.
 */
export function publicWebhookUrl(configuredUrl: string, receivedUrl: string): string {
  const base = new URL(configuredUrl);
  const q = receivedUrl.indexOf('?');
  const query = q >= 0 ? receivedUrl.slice(q) : '';
  return `${base.origin}${base.pathname}${query}`;
}
