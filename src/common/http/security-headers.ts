import type { FastifyInstance } from 'fastify';

/**
 * Headers every answer carries. The API serves JSON, but /docs and the queue dashboard are
 * pages: no framing (clickjacking), no MIME sniffing, no referrer leaking a URL's query string.
 * Content-Security-Policy stays at frame-ancestors only, since Swagger UI and bull-board run inline
 * scripts of their own.
 */
const ALWAYS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};
/** Production runs behind https (WEBHOOK_URL must be https there); a browser then never tries http. */
const HSTS = 'max-age=31536000; includeSubDomains';

export function registerSecurityHeaders(fastify: FastifyInstance, options: { hsts: boolean }): void {
  const headers = options.hsts ? { ...ALWAYS, 'strict-transport-security': HSTS } : ALWAYS;
  fastify.addHook('onSend', async (_request, reply) => {
    for (const [name, value] of Object.entries(headers)) if (!reply.hasHeader(name)) reply.header(name, value);
  });
}
