import { Inject, Injectable } from '@nestjs/common';
import type { Twilio } from 'twilio';
import type { ContentAndApprovalsInstance } from 'twilio/lib/rest/content/v1/contentAndApprovals';
import { withTimeout } from '../../common/with-timeout';
import { TWILIO_CLIENT } from './twilio.constants';
import { TwilioMessagingClient } from './twilio-messaging.client';
import { ContentTemplateSnapshot } from './twilio.types';

/** Templates per Content API page (Twilio's maximum is 1000): most accounts fit in one page. */
export const CONTENT_PAGE_SIZE = 100;

function stringRecord(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, typeof v === 'string' ? v : JSON.stringify(v)]));
}

function snapshot(c: ContentAndApprovalsInstance): ContentTemplateSnapshot {
  const approval = c.approvalRequests as { status?: unknown } | null | undefined;
  return {
    sid: c.sid,
    friendlyName: c.friendlyName ?? '',
    language: c.language ?? '',
    variables: stringRecord(c.variables),
    types: (c.types ?? {}) as Record<string, unknown>,
    approvalStatus: typeof approval?.status === 'string' && approval.status !== '' ? approval.status : null,
    dateUpdated: c.dateUpdated ?? null,
  };
}

/**
 * The Content API (content.twilio.com, or the sandbox's) through the same official client and
 * HTTP layer as the Messages API: the account's templates with their WhatsApp approval.
 */
@Injectable()
export class TwilioContentClient {
  constructor(@Inject(TWILIO_CLIENT) private readonly client: Twilio) {}

  /**
   * Every template of the account, through all pages of ContentAndApprovals (one listing gives
   * the types, variables and approval at once). Rejects with a TwilioRequestError when the
   * Content API refuses or does not answer within `timeoutMs` in all.
   */
  async listTemplates(timeoutMs: number): Promise<ContentTemplateSnapshot[]> {
    try {
      const contents = await withTimeout(this.client.content.v1.contentAndApprovals.list({ pageSize: CONTENT_PAGE_SIZE }), timeoutMs, 'Content API listing');
      return contents.map(snapshot);
    } catch (err) {
      throw TwilioMessagingClient.toRequestError(err);
    }
  }
}
