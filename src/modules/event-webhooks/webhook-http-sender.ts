import { Injectable } from '@nestjs/common';
import { request as httpRequest, IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { guardedLookup, parseReceiverUrl, UrlPolicy, WebhookUrlError } from './url-policy';

export interface SendOutcome {
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
}

/** What is kept of a refusing receiver's answer, for the attempt log. */
const MAX_ERROR_BODY_CHARS = 200;
const MAX_READ_BYTES = 64 * 1024;

/**
 * POSTs one signed delivery. A 2xx is success; any other status, a redirect (never followed), a
 * timeout, a refused connection or a forbidden address is a failure with its reason. Nothing here
 * throws: every outcome is an attempt to record.
 */
@Injectable()
export class WebhookHttpSender {
  async post(rawUrl: string, headers: Record<string, string>, body: string, opts: { timeoutMs: number; policy: UrlPolicy }): Promise<SendOutcome> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let url: URL;
    try {
      // Checked again at every attempt: the rules or the address may have changed since creation.
      url = parseReceiverUrl(rawUrl, opts.policy);
    } catch (err) {
      return { ok: false, statusCode: null, durationMs: elapsed(), error: (err as WebhookUrlError).message };
    }
    return new Promise<SendOutcome>((resolve) => {
      let settled = false;
      const done = (outcome: Omit<SendOutcome, 'durationMs'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolve({ ...outcome, durationMs: elapsed() });
      };
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(
        url,
        {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'whatsapp-delivery-service-webhooks/1' },
          // Names are resolved and checked here, and the connection goes to the checked address.
          ...(opts.policy.allowPrivate ? {} : { lookup: guardedLookup as never }),
          agent: false,
        },
        (res: IncomingMessage) => {
          const status = res.statusCode ?? 0;
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            if (size < MAX_READ_BYTES) chunks.push(chunk);
            size += chunk.length;
          });
          res.on('error', (err) => done({ ok: false, statusCode: status, error: `response: ${err.message}` }));
          res.on('end', () => {
            if (status >= 200 && status < 300) return done({ ok: true, statusCode: status, error: null });
            const text = Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').trim().slice(0, MAX_ERROR_BODY_CHARS);
            const redirect = status >= 300 && status < 400 ? ` (redirect to ${res.headers.location ?? '?'} not followed)` : '';
            done({ ok: false, statusCode: status, error: `HTTP ${status}${redirect}${text ? `: ${text}` : ''}` });
          });
        },
      );
      const deadline = setTimeout(() => {
        done({ ok: false, statusCode: null, error: `timeout: no answer within ${opts.timeoutMs} ms` });
        req.destroy();
      }, opts.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => done({ ok: false, statusCode: null, error: err.code ? `${err.code}: ${err.message}` : err.message }));
      req.end(body);
    });
  }
}

