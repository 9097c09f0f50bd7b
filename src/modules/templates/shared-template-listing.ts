import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Cluster, Redis } from 'ioredis';
import { withTimeout } from '../../common/with-timeout';
import { AppConfig } from '../../config/configuration';
import { ContentTemplateSnapshot } from '../twilio/twilio.types';

export const TEMPLATES_REDIS = Symbol('TEMPLATES_REDIS');

/** A Content API listing as one process made it. */
export interface ListingRecord {
  templates: ContentTemplateSnapshot[];
  syncedAt: Date;
}

/** Redis is a shortcut here, never a dependency: a slow or absent Redis costs a listing, not a send. */
const REDIS_TIMEOUT_MS = 500;

type StoredTemplate = Omit<ContentTemplateSnapshot, 'dateUpdated'> & { dateUpdated: string | null };

/**
 * The last Content API listing any process made, in Redis for CONTENT_TEMPLATES_TTL_MS, so that a
 * process starting cold (or whose listing went stale) takes it rather than listing Twilio again.
 */
@Injectable()
export class SharedTemplateListing {
  private readonly logger = new Logger(SharedTemplateListing.name);
  private readonly key: string;
  private readonly ttlMs: number;

  constructor(
    @Inject(TEMPLATES_REDIS) private readonly redis: Redis | Cluster,
    config: ConfigService<AppConfig, true>,
  ) {
    this.key = `${config.get('redis', { infer: true }).prefix}:content-templates`;
    this.ttlMs = config.get('whatsapp', { infer: true }).templatesTtlMs;
  }

  /** The shared listing, or null when there is none, or Redis cannot say. */
  async read(): Promise<ListingRecord | null> {
    try {
      const raw = await withTimeout(this.redis.get(this.key), REDIS_TIMEOUT_MS, 'shared template listing');
      if (!raw) return null;
      const stored = JSON.parse(raw) as { syncedAt: string; templates: StoredTemplate[] };
      return {
        syncedAt: new Date(stored.syncedAt),
        templates: stored.templates.map((t) => ({ ...t, dateUpdated: t.dateUpdated === null ? null : new Date(t.dateUpdated) })),
      };
    } catch (err) {
      this.logger.warn(`Shared template listing not read: ${(err as Error).message}`);
      return null;
    }
  }

  /** Never rejects: the listing is in this process either way. */
  async write(listing: ListingRecord): Promise<void> {
    try {
      const stored = {
        syncedAt: listing.syncedAt.toISOString(),
        templates: listing.templates.map((t) => ({ ...t, dateUpdated: t.dateUpdated?.toISOString() ?? null })),
      };
      await withTimeout(this.redis.set(this.key, JSON.stringify(stored), 'PX', this.ttlMs), REDIS_TIMEOUT_MS, 'shared template listing');
    } catch (err) {
      this.logger.warn(`Shared template listing not written: ${(err as Error).message}`);
    }
  }
}
