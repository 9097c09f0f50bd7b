import { FastifyInstance } from 'fastify';
import { SANDBOX_TEMPLATES, findTemplate, toContentResource } from './content-templates';
import { SandboxAccount } from './sandbox-account';
import { TwilioApiError } from './simulated-errors';
import { TWILIO_CONTENT_ORIGIN } from './twilio-format';

const DEFAULT_PAGE_SIZE = 50;

/**
 * The read side of Twilio's Content API v1 (served by content.twilio.com in
 * production; here on the same server as the Messages API): the demo templates.
 */
export function registerContentApi(app: FastifyInstance, account: SandboxAccount): void {
  app.get<{ Querystring: { PageSize?: string; Page?: string } }>('/v1/Content', async (request) => {
    account.assertAuthorized(request.headers.authorization);
    const requestedSize = Number(request.query.PageSize);
    const pageSize = Number.isInteger(requestedSize) && requestedSize >= 1 && requestedSize <= 1000 ? requestedSize : DEFAULT_PAGE_SIZE;
    const requestedPage = Number(request.query.Page);
    const page = Number.isInteger(requestedPage) && requestedPage >= 0 ? requestedPage : 0;
    const pageUrl = (index: number): string =>
      `${TWILIO_CONTENT_ORIGIN}/v1/Content?PageSize=${pageSize}&Page=${index}&PageToken=PA${index * pageSize}`;
    const start = page * pageSize;
    const hasNext = start + pageSize < SANDBOX_TEMPLATES.length;
    return {
      contents: SANDBOX_TEMPLATES.slice(start, start + pageSize).map((template) =>
        toContentResource(template, account.accountSid),
      ),
      meta: {
        page,
        page_size: pageSize,
        first_page_url: `${TWILIO_CONTENT_ORIGIN}/v1/Content?PageSize=${pageSize}&Page=0`,
        previous_page_url: page > 0 ? pageUrl(page - 1) : null,
        url: pageUrl(page),
        next_page_url: hasNext ? pageUrl(page + 1) : null,
        key: 'contents',
      },
    };
  });

  app.get<{ Params: { Sid: string } }>('/v1/Content/:Sid', async (request) => {
    account.assertAuthorized(request.headers.authorization);
    const template = findTemplate(request.params.Sid);
    if (!template) {
      throw TwilioApiError.notFound(`/v1/Content/${request.params.Sid}`);
    }
    return toContentResource(template, account.accountSid);
  });
}
