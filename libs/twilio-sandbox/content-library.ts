import { SANDBOX_TEMPLATES, SandboxTemplate, TemplateApprovalStatus, findTemplate, renderTemplate, RenderedTemplate } from './content-templates';
import { SandboxControlError } from './sandbox-control.error';
import { SidPrefix, newSid, toIsoSecond } from './twilio-format';

const CONTENT_SID_PATTERN = /^HX[0-9a-fA-F]{32}$/;

/** What a test or demo posts to add a template (`POST /sandbox/control/templates`). */
export interface NewTemplateInput {
  /** HX + 32 hex; generated when left out. */
  sid?: string;
  friendlyName: string;
  language?: string;
  variables?: Record<string, string>;
  types: Record<string, Record<string, unknown>>;
  approvalStatus?: TemplateApprovalStatus;
}

/** One request the Content API received (so tests can count listings). */
export interface ContentRequestRecord {
  method: string;
  /** Path and query, e.g. `/v1/ContentAndApprovals?PageSize=100&Page=1&PageToken=PA100`. */
  url: string;
  receivedAt: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks a (JSON-sourced) new template, so a typo in a test fails loudly instead of adding a template Twilio could not hold. */
export function validateNewTemplate(input: unknown): NewTemplateInput {
  if (!isRecord(input)) throw new SandboxControlError('a template must be a JSON object');
  const known = new Set(['sid', 'friendlyName', 'language', 'variables', 'types', 'approvalStatus']);
  const unknown = Object.keys(input).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new SandboxControlError(`unknown template field(s): ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
  if (input.sid !== undefined && (typeof input.sid !== 'string' || !CONTENT_SID_PATTERN.test(input.sid))) {
    throw new SandboxControlError('sid must be HX followed by 32 hex characters');
  }
  if (typeof input.friendlyName !== 'string' || input.friendlyName.trim() === '') throw new SandboxControlError('friendlyName must be a non-empty string');
  if (input.language !== undefined && (typeof input.language !== 'string' || input.language.trim() === '')) {
    throw new SandboxControlError('language must be a non-empty string (e.g. en)');
  }
  if (input.variables !== undefined && (!isRecord(input.variables) || Object.values(input.variables).some((v) => typeof v !== 'string'))) {
    throw new SandboxControlError('variables must be an object of strings (the default values)');
  }
  if (!isRecord(input.types) || Object.keys(input.types).length === 0 || Object.values(input.types).some((t) => !isRecord(t))) {
    throw new SandboxControlError('types must be an object of content types, e.g. { "twilio/text": { "body": "Hi {{1}}" } }');
  }
  const statuses = Object.values(TemplateApprovalStatus) as string[];
  if (input.approvalStatus !== undefined && (typeof input.approvalStatus !== 'string' || !statuses.includes(input.approvalStatus))) {
    throw new SandboxControlError(`approvalStatus must be one of ${statuses.join(', ')}`);
  }
  return input as unknown as NewTemplateInput;
}

/**
 * The account's Content API templates: the demo ones, and any a test or demo adds (or removes)
 * through the control API; reset goes back to the demo ones.
 */
export class ContentLibrary {
  private templates: SandboxTemplate[] = structuredClone([...SANDBOX_TEMPLATES]) as SandboxTemplate[];
  private requests: ContentRequestRecord[] = [];

  all(): readonly SandboxTemplate[] {
    return this.templates;
  }

  find(sid: string): SandboxTemplate | undefined {
    return findTemplate(sid, this.templates);
  }

  render(contentSid: string, rawVariables: string | undefined): RenderedTemplate {
    return renderTemplate(contentSid, rawVariables, this.templates);
  }

  add(input: unknown): SandboxTemplate {
    const checked = validateNewTemplate(input);
    const sid = checked.sid ?? newSid(SidPrefix.Content);
    if (this.find(sid)) throw new SandboxControlError(`template ${sid} already exists`, 409);
    const now = toIsoSecond(new Date());
    const template: SandboxTemplate = {
      sid,
      friendlyName: checked.friendlyName,
      language: checked.language ?? 'en',
      variables: { ...(checked.variables ?? {}) },
      types: structuredClone(checked.types),
      approvalStatus: checked.approvalStatus ?? TemplateApprovalStatus.Approved,
      dateCreated: now,
      dateUpdated: now,
    };
    this.templates.push(template);
    return structuredClone(template);
  }

  /** False when there was no such template. */
  remove(sid: string): boolean {
    const before = this.templates.length;
    this.templates = this.templates.filter((template) => template.sid !== sid);
    return this.templates.length < before;
  }

  recordRequest(method: string, url: string): void {
    this.requests.push({ method, url, receivedAt: new Date().toISOString() });
  }

  receivedRequests(): ContentRequestRecord[] {
    return structuredClone(this.requests);
  }

  reset(): void {
    this.templates = structuredClone([...SANDBOX_TEMPLATES]) as SandboxTemplate[];
    this.requests = [];
  }
}
