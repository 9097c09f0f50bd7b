import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';
import { DomainEvents, DomainEventType } from '../../common/events/domain-events';
import { AppConfig } from '../../config/configuration';
import { TwilioContentClient } from '../twilio/twilio-content.client';
import { ContentTemplateSnapshot } from '../twilio/twilio.types';
import { SharedTemplateListing } from './shared-template-listing';
import { TemplateVariable, templateVariables, variablesProblem } from './template-variables';

/** A template with its variables worked out once per listing. */
export interface CatalogTemplate extends ContentTemplateSnapshot {
  variables: Record<string, string>;
  variableList: TemplateVariable[];
}

/** One listing of the Content API. */
export interface CatalogSnapshot {
  bySid: ReadonlyMap<string, CatalogTemplate>;
  templates: readonly CatalogTemplate[];
  syncedAt: Date;
}

/**
 * A send waits this long at most for a listing (the official client's own timeout is
 * TWILIO_TIMEOUT_MS, for sends): past it the send is accepted unchecked rather than held.
 */
export const CONTENT_SYNC_TIMEOUT_MS = 5_000;
/**
 * A SID missing from the listing lists again at once, but not more often than this: a client
 * sending an unknown SID in a loop must not turn every send into a Content API listing.
 */
export const MISS_RELIST_INTERVAL_MS = 1_000;
/** After a failed listing, sends do not try again for this long (a forced refresh does). */
export const FAILED_LISTING_BACKOFF_MS = 5_000;

/** Whether a template send's contentVariables were checked. */
export enum TemplateCheckOutcome {
  Valid = 'valid',
  /** The Content API could not be listed: accepted, Twilio decides. */
  Unchecked = 'unchecked',
}

function toCatalog(templates: ContentTemplateSnapshot[], syncedAt: Date): CatalogSnapshot {
  const list = templates.map((t) => ({ ...t, variableList: templateVariables(t.types, t.variables) }));
  return { bySid: new Map(list.map((t) => [t.sid, t])), templates: list, syncedAt };
}

/**
 * The account's Content API templates, cached in-process for CONTENT_TEMPLATES_TTL_MS and shared
 * through Redis (a process takes another's listing while it is fresh). A listing is single-flight
 * in a process: however many sends find the cache cold or stale at once, one listing runs and
 * they all use it. A stale cache still answers sends at once while it is renewed in the
 * background, so a send on a warm or stale cache makes no network call.
 */
@Injectable()
export class TemplateCatalog {
  private readonly logger = new Logger(TemplateCatalog.name);
  private snapshot: CatalogSnapshot | null = null;
  private inFlight: { promise: Promise<CatalogSnapshot>; maxSharedAgeMs: number } | null = null;
  private lastFailureAt = 0;
  private readonly ttlMs: number;

  constructor(
    private readonly content: TwilioContentClient,
    private readonly events: DomainEvents,
    config: ConfigService<AppConfig, true>,
    private readonly shared: SharedTemplateListing,
  ) {
    this.ttlMs = config.get('whatsapp', { infer: true }).templatesTtlMs;
  }

  /**
   * A new listing, or the one under way: the Content API's, or another process's shared listing
   * when it is younger than `maxSharedAgeMs` (0: the Content API's only). Rejects when the Content
   * API cannot be listed.
   */
  sync(maxSharedAgeMs = 0): Promise<CatalogSnapshot> {
    const running = this.inFlight;
    // A listing under way serves every caller that would accept what it may return.
    if (running && running.maxSharedAgeMs <= maxSharedAgeMs) return running.promise;
    const promise: Promise<CatalogSnapshot> = this.load(maxSharedAgeMs)
      .then(
        (snapshot) => {
          // A looser listing that ends after a stricter one must not put an older listing back.
          if (!this.snapshot || snapshot.syncedAt >= this.snapshot.syncedAt) this.snapshot = snapshot;
          this.lastFailureAt = 0;
          return this.snapshot;
        },
        (err: unknown) => {
          this.lastFailureAt = Date.now();
          throw err;
        },
      )
      .finally(() => {
        if (this.inFlight?.promise === promise) this.inFlight = null;
      });
    this.inFlight = { promise, maxSharedAgeMs };
    return promise;
  }

  private async load(maxSharedAgeMs: number): Promise<CatalogSnapshot> {
    if (maxSharedAgeMs > 0) {
      const shared = await this.shared.read();
      const newer = shared && Date.now() - shared.syncedAt.getTime() < maxSharedAgeMs && (!this.snapshot || shared.syncedAt > this.snapshot.syncedAt);
      if (newer) return toCatalog(shared.templates, shared.syncedAt);
    }
    const templates = await this.content.listTemplates(CONTENT_SYNC_TIMEOUT_MS);
    const syncedAt = new Date();
    await this.shared.write({ templates, syncedAt });
    return toCatalog(templates, syncedAt);
  }

  /** The listing, listed again first when older than the TTL (or forced). */
  async templates(force = false): Promise<CatalogSnapshot> {
    const current = this.snapshot;
    if (!force && current && !this.isStale(current)) return current;
    try {
      return await this.sync(force ? 0 : this.ttlMs);
    } catch (err) {
      if (force || !current) throw new DomainException(ErrorCode.TwilioUnavailable, `Twilio's Content API could not be listed: ${(err as Error).message}`);
      // A stale listing beats none: approved templates do not change, they are replaced.
      this.logger.warn(`Content API listing failed (${(err as Error).message}); answering the listing of ${current.syncedAt.toISOString()}`);
      return current;
    }
  }

  /**
   * Refuses a template send whose contentVariables miss a required variable or name one the
   * template does not have (TEMPLATE_VARIABLES_INVALID), or whose SID the account does not have
   * (TEMPLATE_NOT_FOUND). When the Content API cannot be listed, the send is not refused for
   * that: it is accepted unchecked and Twilio decides.
   */
  async check(contentSid: string, supplied: Record<string, unknown> | null | undefined): Promise<TemplateCheckOutcome> {
    const template = await this.find(contentSid);
    if (template === undefined) {
      this.logger.warn(`Content API unreachable: ${contentSid} accepted without checking its variables`);
      this.events.publish({ type: DomainEventType.TemplateCheckSkipped, contentSid });
      return TemplateCheckOutcome.Unchecked;
    }
    if (template === null) {
      throw new DomainException(ErrorCode.TemplateNotFound, `contentSid ${contentSid} is not a template of this Twilio account (GET /api/v1/whatsapp/templates lists them)`, {
        field: 'contentSid',
        contentSid,
      });
    }
    const { missing, unknown } = variablesProblem(template.variableList, supplied);
    if (missing.length === 0 && unknown.length === 0) return TemplateCheckOutcome.Valid;
    const problems = [
      ...(missing.length > 0 ? [`misses ${missing.join(', ')} (required: no default)`] : []),
      ...(unknown.length > 0 ? [`names ${unknown.join(', ')}, which the template does not have`] : []),
    ];
    const takes = template.variableList.map((v) => v.name).join(', ') || 'none';
    throw new DomainException(
      ErrorCode.TemplateVariablesInvalid,
      `contentVariables for template ${template.friendlyName} (${contentSid}) ${problems.join(' and ')}; its variables: ${takes}`,
      { field: 'contentVariables', contentSid, missing, unknown },
    );
  }

  /** The template; null when a fresh listing does not have it; undefined when the Content API could not say. */
  private async find(contentSid: string): Promise<CatalogTemplate | null | undefined> {
    let current = this.snapshot;
    if (!current) {
      current = await this.tryListing(this.ttlMs);
      if (!current) return undefined;
    } else if (this.isStale(current)) {
      // Answered from the stale listing now; the next send finds the renewed one.
      void this.tryListing(this.ttlMs);
    }
    const cached = current.bySid.get(contentSid);
    if (cached) return cached;
    if (Date.now() - current.syncedAt.getTime() < MISS_RELIST_INTERVAL_MS) return null;
    // Perhaps created since the listing: list once more before refusing.
    const fresh = await this.tryListing(MISS_RELIST_INTERVAL_MS);
    return fresh ? (fresh.bySid.get(contentSid) ?? null) : undefined;
  }

  private isStale(snapshot: CatalogSnapshot): boolean {
    return Date.now() - snapshot.syncedAt.getTime() >= this.ttlMs;
  }

  /** A listing for a send: the one under way, or a new one unless the last failed moments ago; null when there is none. */
  private async tryListing(maxSharedAgeMs: number): Promise<CatalogSnapshot | null> {
    if (!this.inFlight && Date.now() - this.lastFailureAt < FAILED_LISTING_BACKOFF_MS) return null;
    try {
      return await this.sync(maxSharedAgeMs);
    } catch (err) {
      this.logger.warn(`Content API listing failed: ${(err as Error).message}`);
      return null;
    }
  }
}
