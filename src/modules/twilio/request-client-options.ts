import RequestClient from 'twilio/lib/base/RequestClient';

/** Requests an API process may send inline (`immediate` sends) beside its workers' at once. */
export const INLINE_SEND_SOCKETS = 20;

/**
 * Options of the official client's HTTP layer. Its agent allows 20 sockets per host by default;
 * with more workers than that, the other requests wait in the agent for a free socket, past the
 * sender slot they were given, and leave in bursts as answers come back: a sender over its MPS at
 * Twilio's end, and timeouts counted from before the request left. One socket per worker (and
 * some for inline sends) keeps every request on the wire when its slot comes.
 */
export function requestClientOptions(timeoutMs: number, workers: number): RequestClient.RequestClientOptions {
  const maxSockets = workers + INLINE_SEND_SOCKETS;
  // The service retries by error code itself, so the client's own 429 retry stays off.
  return { timeout: timeoutMs, keepAlive: true, autoRetry: false, maxSockets, maxTotalSockets: maxSockets * 2 };
}
