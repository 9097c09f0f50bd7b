import { FastifyInstance, FastifyRequest } from 'fastify';
import { ContentLibrary } from './content-library';
import { SandboxTemplate, toContentAndApprovalsResource, toContentResource } from './content-templates';
import { FaultInjector } from './fault-injector';
import { SandboxAccount } from './sandbox-account';
import { SimulatedErrorCode, TwilioApiError } from './simulated-errors';
import { TWILIO_CONTENT_ORIGIN } from './twilio-format';

const DEFAULT_PAGE_SIZE = 50;

export interface ContentApiParts {
  account: SandboxAccount;
  library: ContentLibrary;
  faults: FaultInjector;
}

type PageQuery = { PageSize?: string; Page?: string };

/** Twilio's list page: `contents` and `meta` with the page URLs the official client follows. */
function listPage(path: string, query: PageQuery, templates: readonly SandboxTemplate[], toResource: (template: SandboxTemplate) => Record<string, unknown>) {
  const requestedSize = Number(query.PageSize);
  const pageSize = Number.isInteger(requestedSize) && requestedSize >= 1 && requestedSize <= 1000 ? requestedSize : DEFAULT_PAGE_SIZE;
  const requestedPage = Number(query.Page);
  const page = Number.isInteger(requestedPage) && requestedPage >= 0 ? requestedPage : 0;
  const pageUrl = (index: number): string => `${TWILIO_CONTENT_ORIGIN}${path}?PageSize=${pageSize}&Page=${index}&PageToken=PA${index * pageSize}`;
  const start = page * pageSize;
  const hasNext = start + pageSize < templates.length;
  return {
    contents: templates.slice(start, start + pageSize).map(toResource),
    meta: {
      page,
      page_size: pageSize,
      first_page_url: `${TWILIO_CONTENT_ORIGIN}${path}?PageSize=${pageSize}&Page=0`,
      previous_page_url: page > 0 ? pageUrl(page - 1) : null,
      url: pageUrl(page),
      next_page_url: hasNext ? pageUrl(page + 1) : null,
      key: 'contents',
    },
  };
}

/**
 * The read side of Twilio's Content API v1 (served by content.twilio.com in production; here on
 * the same server as the Messages API): the account's templates, and their WhatsApp approvals.
 */
export function registerContentApi(app: FastifyInstance, { account, library, faults }: ContentApiParts): void {
  const admit = (request: FastifyRequest): void => {
    library.recordRequest(request.method, request.url);
    account.assertAuthorized(request.headers.authorization);
    if (faults.contentApiUnavailable) throw new TwilioApiError(503, SimulatedErrorCode.ServiceUnavailable);
  };

  app.get<{ Querystring: PageQuery }>('/v1/Content', async (request) => {
    admit(request);
    return listPage('/v1/Content', request.query, library.all(), (template) => toContentResource(template, account.accountSid));
  });

  app.get<{ Querystring: PageQuery }>('/v1/ContentAndApprovals', async (request) => {
    admit(request);
    return listPage('/v1/ContentAndApprovals', request.query, library.all(), (template) => toContentAndApprovalsResource(template, account.accountSid));
  });

  app.get<{ Params: { Sid: string } }>('/v1/Content/:Sid', async (request) => {
    admit(request);
    const template = library.find(request.params.Sid);
    if (!template) {
      throw TwilioApiError.notFound(`/v1/Content/${request.params.Sid}`);
    }
    return toContentResource(template, account.accountSid);
  });
}
