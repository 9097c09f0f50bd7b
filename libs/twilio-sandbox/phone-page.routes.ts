import { FastifyInstance } from 'fastify';
import { PhonePage, buildPhonePage } from './phone-page';

export const PHONE_PAGE_PATH = '/sandbox';

// Built when a sandbox first starts, not at import: the service imports the sandbox in production too.
let phonePage: PhonePage | undefined;

/** The browser phone: one page, everything inline, driving the control API from the browser. */
export function registerPhonePage(app: FastifyInstance): void {
  phonePage ??= buildPhonePage();
  const { html, csp } = phonePage;
  app.get(PHONE_PAGE_PATH, async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('Content-Security-Policy', csp)
      .header('Cache-Control', 'no-store')
      .header('X-Content-Type-Options', 'nosniff')
      .header('Referrer-Policy', 'no-referrer')
      .send(html),
  );
  app.get(`${PHONE_PAGE_PATH}/`, async (_request, reply) => reply.redirect(PHONE_PAGE_PATH));
}
