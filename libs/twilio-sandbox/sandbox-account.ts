import { TwilioApiError } from './simulated-errors';
import { TwilioMessageDirection, TwilioMessageResource, TwilioMessageStatus } from './sandbox.types';
import { TWILIO_API_VERSION, toRfc2822 } from './twilio-format';

export interface ApiKey {
  sid: string;
  secret: string;
}

/** The one Twilio account the sandbox plays: who may call its APIs, and whose messages it holds. */
export class SandboxAccount {
  constructor(
    readonly accountSid: string,
    /** Basic auth password, and the key webhooks are signed with. */
    readonly authToken: string,
    private readonly apiKeys: readonly ApiKey[],
  ) {}

  /** HTTP Basic with the account SID + auth token or an API key SID + secret; the path's account must be ours. */
  isAuthorized(authorization: string | undefined, pathAccountSid?: string): boolean {
    if (pathAccountSid !== undefined && pathAccountSid !== this.accountSid) {
      return false;
    }
    const credentials = basicCredentials(authorization);
    if (!credentials) {
      return false;
    }
    const { username, password } = credentials;
    if (username === this.accountSid && password === this.authToken) {
      return true;
    }
    return this.apiKeys.some((key) => key.sid === username && key.secret === password);
  }

  assertAuthorized(authorization: string | undefined, pathAccountSid?: string): void {
    if (!this.isAuthorized(authorization, pathAccountSid)) {
      throw TwilioApiError.unauthorized();
    }
  }

  /** A new message resource of this account, every field at Twilio's initial value. */
  newMessageResource(sid: string, now: Date): TwilioMessageResource {
    const uriBase = `/2010-04-01/Accounts/${this.accountSid}/Messages/${sid}`;
    return {
      account_sid: this.accountSid,
      api_version: TWILIO_API_VERSION,
      body: '',
      date_created: toRfc2822(now),
      date_sent: null,
      date_updated: toRfc2822(now),
      direction: TwilioMessageDirection.OutboundApi,
      error_code: null,
      error_message: null,
      from: null,
      messaging_service_sid: null,
      num_media: '0',
      num_segments: '1',
      price: null,
      price_unit: 'USD',
      sid,
      status: TwilioMessageStatus.Queued,
      subresource_uris: { media: `${uriBase}/Media.json`, feedback: `${uriBase}/Feedback.json` },
      to: '',
      uri: `${uriBase}.json`,
    };
  }
}

function basicCredentials(authorization: string | undefined): { username: string; password: string } | null {
  const match = /^Basic\s+(.+)$/i.exec(authorization ?? '');
  if (!match) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  return separator === -1 ? null : { username: decoded.slice(0, separator), password: decoded.slice(separator + 1) };
}

/** The user name of HTTP Basic credentials (an account or API key SID), or null. */
export function basicAuthUser(authorization: string | undefined): string | null {
  return basicCredentials(authorization)?.username ?? null;
}
