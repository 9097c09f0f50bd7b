import { TwilioApiError, SimulatedErrorCode } from './simulated-errors';
import { TWILIO_CONTENT_ORIGIN } from './twilio-format';

/** Fixed SIDs so the service's seeds and tests can name the demo templates. */
export enum SandboxTemplateSid {
  AppointmentReminder = 'HX0000000000000000000000000000a001',
  OrderUpdate = 'HX0000000000000000000000000000a002',
  OneTimeCode = 'HX0000000000000000000000000000a003',
}

/** A template's WhatsApp approval, as `approval_requests.status` of the ContentAndApprovals list says it. */
export enum TemplateApprovalStatus {
  Unsubmitted = 'unsubmitted',
  Received = 'received',
  Pending = 'pending',
  Approved = 'approved',
  Rejected = 'rejected',
  Paused = 'paused',
  Disabled = 'disabled',
}

export interface SandboxTemplate {
  sid: string;
  friendlyName: string;
  language: string;
  /** Default values, used for any variable the send does not supply. */
  variables: Record<string, string>;
  types: Record<string, Record<string, unknown>>;
  /** WhatsApp approval; the demo templates are approved. */
  approvalStatus?: TemplateApprovalStatus;
  dateCreated?: string;
  dateUpdated?: string;
}

export const SANDBOX_TEMPLATES: readonly SandboxTemplate[] = [
  {
    sid: SandboxTemplateSid.AppointmentReminder,
    friendlyName: 'appointment_reminder',
    language: 'en',
    variables: { '1': '12/1', '2': '3pm' },
    types: {
      'twilio/text': { body: 'Your appointment is coming up on {{1}} at {{2}}. Reply C to confirm or R to reschedule.' },
    },
  },
  {
    sid: SandboxTemplateSid.OrderUpdate,
    friendlyName: 'order_update',
    language: 'en',
    variables: { '1': 'there', '2': '#1001', '3': 'on its way' },
    types: {
      'twilio/text': { body: 'Hi {{1}}, your order {{2}} is {{3}}. Thank you for shopping with us!' },
    },
  },
  {
    sid: SandboxTemplateSid.OneTimeCode,
    friendlyName: 'one_time_code',
    language: 'en',
    variables: { '1': '123456' },
    types: {
      'twilio/text': { body: '{{1}} is your verification code. For your security, do not share this code.' },
    },
  },
];

// Template dates are fixed: the demo templates were "approved" long before any sandbox started.
const TEMPLATE_CREATED_AT = '2026-01-01T00:00:00Z';
const CONTENT_SID_PATTERN = /^HX[0-9a-fA-F]{32}$/;

export function findTemplate(sid: string, templates: readonly SandboxTemplate[] = SANDBOX_TEMPLATES): SandboxTemplate | undefined {
  return templates.find((template) => template.sid === sid);
}

/** `content.v1.content` as the Content API answers it. */
export function toContentResource(template: SandboxTemplate, accountSid: string): Record<string, unknown> {
  const url = `${TWILIO_CONTENT_ORIGIN}/v1/Content/${template.sid}`;
  return {
    sid: template.sid,
    account_sid: accountSid,
    friendly_name: template.friendlyName,
    language: template.language,
    variables: { ...template.variables },
    types: structuredClone(template.types),
    url,
    date_created: template.dateCreated ?? TEMPLATE_CREATED_AT,
    date_updated: template.dateUpdated ?? TEMPLATE_CREATED_AT,
    links: {
      approval_create: `${url}/ApprovalRequests/whatsapp`,
      approval_fetch: `${url}/ApprovalRequests`,
    },
  };
}

/** `content.v1.content_and_approvals`: the resource without its links, with its WhatsApp approval. */
export function toContentAndApprovalsResource(template: SandboxTemplate, accountSid: string): Record<string, unknown> {
  const { url: _url, links: _links, ...resource } = toContentResource(template, accountSid);
  const status = template.approvalStatus ?? TemplateApprovalStatus.Approved;
  return {
    ...resource,
    approval_requests: {
      name: template.friendlyName,
      category: status === TemplateApprovalStatus.Unsubmitted ? '' : 'UTILITY',
      content_type: Object.keys(template.types)[0] ?? '',
      status,
      rejection_reason: status === TemplateApprovalStatus.Rejected ? 'The template was rejected by WhatsApp' : '',
      allow_category_change: true,
    },
  };
}

export interface RenderedTemplate {
  body: string;
  variables: Record<string, string>;
}

/** Resolves a send's ContentSid + ContentVariables to the text the recipient sees, or the error Twilio gives. */
export function renderTemplate(contentSid: string, rawVariables: string | undefined, templates: readonly SandboxTemplate[] = SANDBOX_TEMPLATES): RenderedTemplate {
  const template = CONTENT_SID_PATTERN.test(contentSid) ? findTemplate(contentSid, templates) : undefined;
  if (!template) {
    throw TwilioApiError.badRequest(SimulatedErrorCode.InvalidContentSid);
  }
  const supplied = parseContentVariables(rawVariables);
  const variables = { ...template.variables, ...supplied };
  const text = template.types['twilio/text']?.body;
  const body = typeof text === 'string' ? text.replace(/\{\{\s*([^}\s]+)\s*\}\}/g, (match, key: string) => variables[key] ?? match) : '';
  return { body, variables };
}

function parseContentVariables(raw: string | undefined): Record<string, string> {
  if (raw === undefined || raw.trim() === '') {
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw TwilioApiError.badRequest(SimulatedErrorCode.InvalidContentVariables);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw TwilioApiError.badRequest(SimulatedErrorCode.InvalidContentVariables);
  }
  const variables: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw TwilioApiError.badRequest(SimulatedErrorCode.InvalidContentVariables);
    }
    variables[key] = String(value);
  }
  return variables;
}
