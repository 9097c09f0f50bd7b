import { FastifyInstance } from 'fastify';
import { PHONE_PAGE_CSP, PHONE_PAGE_HTML } from './phone-page.html';

export const PHONE_PAGE_PATH = '/sandbox';

/** The browser phone: one page, everything inline, driving the control API from the browser. */
export function registerPhonePage(app: FastifyInstance): void {
  app.get(PHONE_PAGE_PATH, async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('Content-Security-Policy', PHONE_PAGE_CSP)
      .header('Cache-Control', 'no-store')
      .header('X-Content-Type-Options', 'nosniff')
      .header('Referrer-Policy', 'no-referrer')
      .send(PHONE_PAGE_HTML),
  );
  app.get(`${PHONE_PAGE_PATH}/`, async (_request, reply) => reply.redirect(PHONE_PAGE_PATH));
}
