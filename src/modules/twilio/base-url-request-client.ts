import { Agent } from 'node:http';
import RequestClient from 'twilio/lib/base/RequestClient';
import { RetryAfterRequestClient } from './retry-after-request-client';

/**
 * The official client's HTTP layer with Twilio's hosts rewritten to another base URL: the local
 * sandbox, or any Twilio-compatible endpoint set in TWILIO_API_BASE_URL. Everything else
 * (auth, serialisation, paging, errors) stays the real client's.
 */
export class BaseUrlRequestClient extends RetryAfterRequestClient {
  private readonly base: string;

  constructor(baseUrl: string, options: RequestClient.RequestClientOptions = {}) {
    super(options);
    this.base = baseUrl.replace(/\/+$/, '');
    // The client keeps HTTPS connections alive only; a plain-http endpoint (the sandbox) would
    // otherwise cost a new connection per request.
    if (options.keepAlive !== false) {
      this.axios.defaults.httpAgent = new Agent({ keepAlive: true, timeout: options.timeout, maxSockets: options.maxSockets, maxTotalSockets: options.maxTotalSockets });
    }
  }

  rewrite(uri: string): string {
    // Twilio's hosts are https://<product>.twilio.com (api, content, messaging, ...).
    return uri.replace(/^https:\/\/[a-z0-9.-]*twilio\.com/i, this.base);
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    return super.request({ ...opts, uri: this.rewrite(opts.uri) });
  }
}
