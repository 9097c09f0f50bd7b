import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import { isUUID } from 'class-validator';
import { randomBytes } from 'node:crypto';
import { Repository } from 'typeorm';
import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';
import { AppConfig } from '../../config/configuration';
import { CreateWebhookDto, UpdateWebhookDto } from './dto/webhook-subscription.dto';
import { ListDeliveriesQueryDto, WebhookDeliveryDto, WebhookDeliveryPageDto } from './dto/webhook-delivery.dto';
import { WebhookSubscription } from './entities/webhook-subscription.entity';
import { checkReceiverUrl, UrlRefusal, WebhookUrlError } from './url-policy';
import { WebhookDeliveryRepository } from './webhook-delivery.repository';
import { WEBHOOK_EVENT_TYPES } from './webhook-event-type';
import { WebhookSubscriptionCache } from './webhook-subscription-cache';

/** Subscriptions per deployment: each event is written once per subscription, on the status path. */
export const MAX_SUBSCRIPTIONS = 20;
const DEFAULT_PAGE = 50;
/** After a rotation the old secret signs too (a second signature) for this long, while receivers switch. */
export const SECRET_ROTATION_OVERLAP_MS = 24 * 3600_000;
/** Serialises creations so that two at once cannot pass the limit together. */
const CREATE_LOCK_KEY = 7_414;

/** The subscription with its secret: only for creation's answer. */
export type CreatedSubscription = WebhookSubscription & { secret: string };

/** Managing subscriptions (admins only) and reading or replaying their deliveries. */
@Injectable()
export class EventWebhooksService {
  constructor(
    @InjectRepository(WebhookSubscription) private readonly subscriptions: Repository<WebhookSubscription>,
    private readonly deliveries: WebhookDeliveryRepository,
    private readonly cache: WebhookSubscriptionCache,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  async create(dto: CreateWebhookDto, createdBy: string | null): Promise<CreatedSubscription> {
    const url = await this.checkUrl(dto.url);
    const events = checkEvents(dto.events);
    const secret = newSecret();
    const saved = await this.subscriptions.manager.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [CREATE_LOCK_KEY]);
      if ((await tx.count(WebhookSubscription)) >= MAX_SUBSCRIPTIONS) {
        throw new DomainException(ErrorCode.WebhookLimitReached, `At most ${MAX_SUBSCRIPTIONS} webhook subscriptions; delete one first`, { limit: MAX_SUBSCRIPTIONS });
      }
      return tx.save(tx.create(WebhookSubscription, { url, events, description: dto.description ?? null, secret, createdBy }));
    });
    await this.cache.reload();
    return { ...(await this.get(saved.id)), secret };
  }

  list(): Promise<WebhookSubscription[]> {
    return this.subscriptions.find({ order: { createdAt: 'DESC', id: 'DESC' } });
  }

  async get(id: string): Promise<WebhookSubscription> {
    const found = isUUID(id) ? await this.subscriptions.findOne({ where: { id } }) : null;
    if (!found) throw notFound(id);
    return found;
  }

  async update(id: string, dto: UpdateWebhookDto): Promise<WebhookSubscription> {
    const current = await this.get(id);
    const patch: Partial<WebhookSubscription> = {};
    if (dto.url !== undefined) patch.url = await this.checkUrl(dto.url);
    if (dto.events !== undefined) patch.events = checkEvents(dto.events);
    if (dto.description !== undefined) patch.description = dto.description;
    const enabling = dto.enabled === true && !current.enabled;
    if (enabling) Object.assign(patch, { enabled: true, disabledReason: null, disabledAt: null, consecutiveFailures: 0 });
    if (dto.enabled === false && current.enabled) Object.assign(patch, { enabled: false, disabledReason: 'Disabled by an admin', disabledAt: new Date() });
    await this.subscriptions.manager.transaction(async (tx) => {
      if (Object.keys(patch).length > 0) await tx.update(WebhookSubscription, { id }, patch);
      // The deliveries that waited while it was disabled go now, in their order.
      if (enabling) await this.deliveries.resumePending(tx, id);
    });
    await this.cache.reload();
    return this.get(id);
  }

  /** A new secret, answered once; the old one keeps signing for SECRET_ROTATION_OVERLAP_MS. */
  async rotateSecret(id: string): Promise<CreatedSubscription> {
    const secret = newSecret();
    if (!isUUID(id) || !(await this.deliveries.rotateSecret(id, secret, SECRET_ROTATION_OVERLAP_MS))) throw notFound(id);
    return { ...(await this.get(id)), secret };
  }

  async remove(id: string): Promise<WebhookSubscription> {
    const found = await this.get(id);
    await this.subscriptions.delete({ id });
    await this.cache.reload();
    return found;
  }

  async listDeliveries(id: string, q: ListDeliveriesQueryDto): Promise<WebhookDeliveryPageDto> {
    await this.get(id);
    const limit = q.limit ?? DEFAULT_PAGE;
    const rows = await this.deliveries.page({ subscriptionId: id, status: q.status, beforeSeq: q.cursor ? decodeCursor(q.cursor) : undefined, limit });
    const page = rows.slice(0, limit);
    const attempts = await this.deliveries.attemptsOf(page.map((d) => d.id));
    return {
      items: page.map((d) => WebhookDeliveryDto.from(d, attempts.filter((a) => a.deliveryId === d.id))),
      nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1].seq) : null,
    };
  }

  /** Starts a delivery over now, even one that succeeded: a new attempt, and retries if it fails. */
  async replay(id: string, deliveryId: string): Promise<WebhookDeliveryDto> {
    await this.get(id);
    const restarted = isUUID(deliveryId) ? await this.deliveries.transaction((tx) => this.deliveries.restart(tx, id, deliveryId)) : null;
    if (!restarted) throw new DomainException(ErrorCode.WebhookDeliveryNotFound, `No delivery ${deliveryId} for webhook subscription ${id}`, { id: deliveryId });
    return WebhookDeliveryDto.from(restarted, await this.deliveries.attemptsOf([deliveryId]));
  }

  private async checkUrl(raw: string): Promise<string> {
    const settings = this.config.get('outboundWebhooks', { infer: true });
    try {
      return (await checkReceiverUrl(raw.trim(), { allowPrivate: settings.allowPrivateUrls, requireHttps: settings.requireHttps })).toString();
    } catch (err) {
      if (!(err instanceof WebhookUrlError)) throw err;
      if (err.refusal === UrlRefusal.Forbidden) throw new DomainException(ErrorCode.WebhookUrlForbidden, err.message, { field: 'url' });
      throw new DomainException(ErrorCode.ValidationFailed, err.message, { field: 'url' });
    }
  }
}

function notFound(id: string): DomainException {
  return new DomainException(ErrorCode.WebhookSubscriptionNotFound, `No webhook subscription ${id}`, { id });
}

/** `whsec_` and base64 of 32 random bytes (Standard Webhooks libraries make 24; 32 is the top of the range). */
function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** The event types asked for, each once; unknown names are refused, all of them named. */
function checkEvents(events: string[]): string[] {
  const unknown = events.filter((e) => !WEBHOOK_EVENT_TYPES.includes(e));
  if (unknown.length > 0) {
    throw new DomainException(ErrorCode.ValidationFailed, `events has unknown event types: ${unknown.join(', ')} (known: ${WEBHOOK_EVENT_TYPES.join(', ')})`, {
      field: 'events',
      unknown,
    });
  }
  return [...new Set(events)];
}

function encodeCursor(seq: string): string {
  return Buffer.from(JSON.stringify({ s: String(seq) })).toString('base64url');
}

function decodeCursor(raw: string): string {
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { s?: unknown };
    if (typeof c.s === 'string' && /^\d{1,18}$/.test(c.s)) return c.s;
  } catch {
    // fall through
  }
  throw new DomainException(ErrorCode.ValidationFailed, 'cursor is not a cursor this API returned', { field: 'cursor' });
}
