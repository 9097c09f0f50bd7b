import { createHash } from 'node:crypto';
import twilio from 'twilio';
import { publicWebhookUrl, SignatureFailureReason, verifyTwilioSignature } from './twilio-signature.verifier';

const TOKEN = 'current-token-0123456789abcdef01';
const PREVIOUS = 'previous-token-0123456789abcdef0';
const URL = 'https://api.example.com/api/v1/whatsapp/status';
const PARAMS = { MessageSid: 'SM' + 'a'.repeat(32), MessageStatus: 'delivered', AccountSid: 'AC' + 'b'.repeat(32), ChannelPrefix: 'whatsapp' };
const sign = (params: Record<string, string>, url = URL, token = TOKEN) => twilio.getExpectedTwilioSignature(token, url, params);

describe('verifyTwilioSignature', () => {
  it('accepts a signature made by the twilio package over every parameter', () => {
    expect(verifyTwilioSignature({ url: URL, signature: sign(PARAMS), params: PARAMS }, [TOKEN])).toEqual({ valid: true, tokenIndex: 0 });
  });

  it('accepts parameters Twilio adds later (nothing is filtered before checking)', () => {
    const withNew = { ...PARAMS, SomeFieldTwilioAddsNextYear: 'x', RawDlrDoneDate: '2611281504' };
    expect(verifyTwilioSignature({ url: URL, signature: sign(withNew), params: withNew }, [TOKEN]).valid).toBe(true);
  });

  it('refuses a tampered parameter', () => {
    const check = verifyTwilioSignature({ url: URL, signature: sign(PARAMS), params: { ...PARAMS, MessageStatus: 'failed' } }, [TOKEN]);
    expect(check).toEqual({ valid: false, reason: SignatureFailureReason.Mismatch });
  });

  it('refuses a parameter added after signing', () => {
    const check = verifyTwilioSignature({ url: URL, signature: sign(PARAMS), params: { ...PARAMS, ErrorCode: '30008' } }, [TOKEN]);
    expect(check.valid).toBe(false);
  });

  it('refuses a missing header', () => {
    expect(verifyTwilioSignature({ url: URL, signature: undefined, params: PARAMS }, [TOKEN])).toEqual({ valid: false, reason: SignatureFailureReason.MissingHeader });
    expect(verifyTwilioSignature({ url: URL, signature: '', params: PARAMS }, [TOKEN])).toEqual({ valid: false, reason: SignatureFailureReason.MissingHeader });
  });

  it('refuses a signature made with another token', () => {
    expect(verifyTwilioSignature({ url: URL, signature: sign(PARAMS, URL, 'some-other-token'), params: PARAMS }, [TOKEN]).valid).toBe(false);
  });

  it('accepts the previous token during a rotation and says which one matched', () => {
    const signature = sign(PARAMS, URL, PREVIOUS);
    expect(verifyTwilioSignature({ url: URL, signature, params: PARAMS }, [TOKEN, PREVIOUS])).toEqual({ valid: true, tokenIndex: 1 });
    expect(verifyTwilioSignature({ url: URL, signature, params: PARAMS }, [TOKEN]).valid).toBe(false);
  });

  it('refuses a signature for another URL (e.g. the inbound webhook)', () => {
    const signature = sign(PARAMS, 'https://api.example.com/api/v1/whatsapp/webhook');
    expect(verifyTwilioSignature({ url: URL, signature, params: PARAMS }, [TOKEN]).valid).toBe(false);
  });

  describe('JSON bodies', () => {
    const body = JSON.stringify({ MessageSid: PARAMS.MessageSid, MessageStatus: 'read' });
    const hash = createHash('sha256').update(body).digest('hex');
    const url = `${URL}?bodySHA256=${hash}`;

    it('accepts the body whose SHA-256 was signed', () => {
      expect(verifyTwilioSignature({ url, signature: sign({}, url), rawJsonBody: body }, [TOKEN])).toEqual({ valid: true, tokenIndex: 0 });
    });

    it('refuses another body under the same signed hash', () => {
      const check = verifyTwilioSignature({ url, signature: sign({}, url), rawJsonBody: body.replace('read', 'failed') }, [TOKEN]);
      expect(check).toEqual({ valid: false, reason: SignatureFailureReason.BodyHashMismatch });
    });

    it('refuses a JSON body without bodySHA256', () => {
      expect(verifyTwilioSignature({ url: URL, signature: sign({}, URL), rawJsonBody: body }, [TOKEN])).toEqual({
        valid: false,
        reason: SignatureFailureReason.MissingBodyHash,
      });
    });
  });

  describe('behind proxies', () => {
    it('checks the configured public URL, whatever host and scheme reached the process', () => {
      const publicUrl = publicWebhookUrl(URL, '/api/v1/whatsapp/status');
      expect(publicUrl).toBe(URL);
      expect(verifyTwilioSignature({ url: publicUrl, signature: sign(PARAMS), params: PARAMS }, [TOKEN]).valid).toBe(true);
    });

    it('keeps a path prefix the proxy strips, and the query string as received', () => {
      const configured = 'https://edge.example.com/wa/api/v1/whatsapp/status';
      expect(publicWebhookUrl(configured, '/api/v1/whatsapp/status?tenant=7&x=a%20b')).toBe('https://edge.example.com/wa/api/v1/whatsapp/status?tenant=7&x=a%20b');
    });

    it('validates whether Twilio signed the URL with or without the default port', () => {
      const withPort = 'https://api.example.com:443/api/v1/whatsapp/status';
      expect(verifyTwilioSignature({ url: URL, signature: sign(PARAMS, withPort), params: PARAMS }, [TOKEN]).valid).toBe(true);
      expect(verifyTwilioSignature({ url: withPort, signature: sign(PARAMS, URL), params: PARAMS }, [TOKEN]).valid).toBe(true);
    });

    it('keeps a non-default port, which Twilio signs as part of the URL', () => {
      const configured = 'https://api.example.com:8443/api/v1/whatsapp/status';
      const url = publicWebhookUrl(configured, '/api/v1/whatsapp/status');
      expect(url).toBe(configured);
      expect(verifyTwilioSignature({ url, signature: sign(PARAMS, configured), params: PARAMS }, [TOKEN]).valid).toBe(true);
      // The twilio validator also tries the URL without its port (some proxies drop it).
      expect(verifyTwilioSignature({ url, signature: sign(PARAMS, URL), params: PARAMS }, [TOKEN]).valid).toBe(true);
      expect(verifyTwilioSignature({ url, signature: sign(PARAMS, 'https://other.example.com:8443/api/v1/whatsapp/status'), params: PARAMS }, [TOKEN]).valid).toBe(false);
    });
  });
});
