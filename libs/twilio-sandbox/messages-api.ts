import { ContentLibrary } from './content-library';
import { CreateMessageRequest, parseCreateMessageRequest } from './create-message-request';
import { DeliverySimulation } from './delivery-simulation';
import { CreateFaultKind, FaultInjector } from './fault-injector';
import { MessageStore } from './message-store';
import { RequestLog } from './request-log';
import { SandboxAccount, basicAuthUser } from './sandbox-account';
import { SandboxTimers } from './sandbox-timers';
import {
  CreateRequestOutcome,
  PostedParams,
  SandboxMessage,
  SandboxRequestRecord,
  TwilioMessageResource,
  TwilioMessageStatus,
} from './sandbox.types';
import { TwilioApiError } from './simulated-errors';
import { SidPrefix, countSegments, firstValue, newSid } from './twilio-format';

/** What the HTTP layer answers; null means the request is never answered (an injected hang). */
export interface ApiAnswer {
  httpStatus: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface MessagesApiDeps {
  account: SandboxAccount;
  store: MessageStore;
  requestLog: RequestLog;
  faults: FaultInjector;
  timers: SandboxTimers;
  delivery: DeliverySimulation;
  templates: ContentLibrary;
}

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;
const LIST_FILTERS = ['To', 'From', 'DateSent', 'DateSent<', 'DateSent>'] as const;

function errorAnswer(error: TwilioApiError): ApiAnswer {
  const headers = error.retryAfterSeconds === null ? undefined : { 'Retry-After': String(error.retryAfterSeconds) };
  return { httpStatus: error.httpStatus, body: error.toBody(), ...(headers ? { headers } : {}) };
}

function parseNonNegativeInteger(raw: string | undefined): number | undefined {
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
}

/** Twilio's Messages resource (2010-04-01) without HTTP: create, fetch, list, delete, with the API faults applied. */
export class MessagesApi {
  constructor(private readonly deps: MessagesApiDeps) {}

  /** Latency the faults add to every Messages API request; false when the sandbox stopped meanwhile. */
  addLatency(): Promise<boolean> {
    return this.deps.timers.sleep(this.deps.faults.latencyMs);
  }

  async create(pathAccountSid: string, params: PostedParams, authorization: string | undefined): Promise<ApiAnswer | null> {
    const { account, requestLog, faults, timers } = this.deps;
    const record = requestLog.begin(pathAccountSid, params, basicAuthUser(authorization));
    if (!account.isAuthorized(authorization, pathAccountSid)) {
      return this.finish(record, CreateRequestOutcome.Unauthorized, errorAnswer(TwilioApiError.unauthorized()));
    }
    if (!(await this.addLatency())) {
      return null;
    }
    const fault = faults.pickCreateFault();
    if (fault?.kind === CreateFaultKind.Error) {
      return this.finish(record, CreateRequestOutcome.Fault, errorAnswer(fault.error));
    }

    let answer: ApiAnswer;
    let outcome: CreateRequestOutcome;
    try {
      const message = this.createMessage(parseCreateMessageRequest(params, (sid, variables) => this.deps.templates.render(sid, variables)));
      record.sid = message.sid;
      answer = { httpStatus: 201, body: structuredClone(message.resource) };
      outcome = CreateRequestOutcome.Created;
    } catch (error) {
      if (!(error instanceof TwilioApiError)) {
        throw error;
      }
      answer = errorAnswer(error);
      outcome = CreateRequestOutcome.Rejected;
    }

    if (fault?.kind === CreateFaultKind.Timeout) {
      record.outcome = CreateRequestOutcome.Timeout;
      if (fault.answerAfterMs === null) {
        await timers.untilStopped();
        return null;
      }
      if (!(await timers.sleep(fault.answerAfterMs))) {
        return null;
      }
      record.httpStatus = answer.httpStatus;
      return answer;
    }
    return this.finish(record, outcome, answer);
  }

  fetch(sid: string, path: string): TwilioMessageResource {
    const message = this.deps.store.get(sid);
    if (!message) {
      throw TwilioApiError.notFound(path);
    }
    return structuredClone(message.resource);
  }

  delete(sid: string, path: string): void {
    if (!this.deps.store.get(sid)) {
      throw TwilioApiError.notFound(path);
    }
    this.deps.delivery.cancel(sid);
    this.deps.store.delete(sid);
  }

  /** `ListMessageResponse` of the 2010-04-01 spec. */
  list(pathAccountSid: string, query: Record<string, string | string[] | undefined>): Record<string, unknown> {
    const value = (key: string): string | undefined => {
      const raw = firstValue(query[key]);
      return raw === undefined || raw === '' ? undefined : raw;
    };
    const pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, parseNonNegativeInteger(value('PageSize')) ?? DEFAULT_PAGE_SIZE));
    const page = parseNonNegativeInteger(value('Page')) ?? 0;
    const pageToken = value('PageToken');
    const result = this.deps.store.list({
      to: value('To'),
      from: value('From'),
      dateSent: value('DateSent'),
      dateSentBefore: value('DateSent<'),
      dateSentAfter: value('DateSent>'),
      pageSize,
      page,
      pageToken,
    });

    const filters = new URLSearchParams();
    for (const key of LIST_FILTERS) {
      const filterValue = value(key);
      if (filterValue !== undefined) {
        filters.append(key, filterValue);
      }
    }
    const uriFor = (pageIndex: number, token?: string | null): string => {
      const params = new URLSearchParams(filters);
      params.append('PageSize', String(pageSize));
      params.append('Page', String(pageIndex));
      if (token) {
        params.append('PageToken', token);
      }
      return `/2010-04-01/Accounts/${pathAccountSid}/Messages.json?${params.toString()}`;
    };
    const start = page * pageSize;
    return {
      end: result.messages.length > 0 ? start + result.messages.length - 1 : start,
      first_page_uri: uriFor(0),
      messages: result.messages.map((message) => structuredClone(message.resource)),
      next_page_uri: result.nextPageToken ? uriFor(page + 1, result.nextPageToken) : null,
      page,
      page_size: pageSize,
      previous_page_uri: result.previousPageToken ? uriFor(Math.max(0, page - 1), result.previousPageToken) : null,
      start,
      uri: uriFor(page, pageToken),
    };
  }

  private finish(record: SandboxRequestRecord, outcome: CreateRequestOutcome, answer: ApiAnswer): ApiAnswer {
    record.outcome = outcome;
    record.httpStatus = answer.httpStatus;
    if (answer.httpStatus >= 400) {
      const body = answer.body as { code: number; message: string };
      record.errorCode = body.code;
      record.errorMessage = body.message;
    }
    return answer;
  }

  private createMessage(request: CreateMessageRequest): SandboxMessage {
    const now = new Date();
    const sid = newSid(SidPrefix.Message);
    // Without a From, a Messaging Service has yet to pick the sender: Twilio answers `accepted`.
    const status = request.from === null ? TwilioMessageStatus.Accepted : TwilioMessageStatus.Queued;
    const message: SandboxMessage = {
      sid,
      resource: {
        ...this.deps.account.newMessageResource(sid, now),
        body: request.body,
        from: request.from,
        messaging_service_sid: request.messagingServiceSid,
        num_media: String(request.mediaUrls.length),
        // Twilio's spec: "initially 0" for Messaging Service sends, since no sender is assigned yet.
        num_segments: request.from === null ? '0' : String(countSegments(request.body, request.channel)),
        status,
        to: request.to,
      },
      channel: request.channel,
      statusCallback: request.statusCallback,
      contentSid: request.contentSid,
      contentVariables: request.contentVariables,
      mediaUrls: request.mediaUrls,
      statusHistory: [{ status, at: now.toISOString(), errorCode: null }],
    };
    this.deps.store.add(message);
    this.deps.delivery.start(message, request);
    return message;
  }
}
