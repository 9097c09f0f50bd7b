import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Queue } from 'bullmq';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  DomainEvents,
  DomainEventType,
  MessageAcceptedEvent,
  MessageStatusAppliedEvent,
  TwilioCallCompletedEvent,
  WebhookRefusedEvent,
  WebhookVerifiedEvent,
} from '../../common/events/domain-events';
import { withTimeout } from '../../common/with-timeout';
import { OutboxBacklog } from '../../database/outbox/outbox-backlog';
import { QueueName } from '../queue/queue.types';
import { MessageStatus } from '../whatsapp/message-status';

/** The names the alert rules and the dashboard use (config/prometheus, config/grafana). */
export enum MetricName {
  HttpRequestDuration = 'http_request_duration_seconds',
  MessagesAccepted = 'whatsapp_messages_accepted_total',
  MessagesSent = 'whatsapp_messages_sent_total',
  MessagesDelivered = 'whatsapp_messages_delivered_total',
  MessagesRead = 'whatsapp_messages_read_total',
  MessagesFailed = 'whatsapp_messages_failed_total',
  QueuedToStage = 'whatsapp_message_queued_to_stage_seconds',
  TwilioRequestDuration = 'twilio_request_duration_seconds',
  TwilioApiErrors = 'twilio_api_errors_total',
  WebhookSignatureFailures = 'whatsapp_webhook_signature_failures_total',
  WebhookRefused = 'whatsapp_webhook_refused_total',
  WebhookSignatureMatches = 'whatsapp_webhook_signature_matches_total',
  WebhookConsecutiveFailures = 'whatsapp_webhook_signature_consecutive_failures',
  WebhookDuration = 'whatsapp_webhook_duration_seconds',
  WebhookConsecutiveTimeouts = 'whatsapp_webhook_consecutive_timeouts',
  QueueJobs = 'whatsapp_queue_jobs',
  OutboxBacklog = 'whatsapp_outbox_backlog',
  DatabaseConnectionErrors = 'whatsapp_database_connection_errors_total',
  CollectErrors = 'whatsapp_metrics_collect_errors_total',
  TemplateChecksSkipped = 'whatsapp_template_checks_skipped_total',
}

const NO_CODE = 'none';
/** Route label of requests no route matched, so scanners cannot blow up the label set. */
export const UNMATCHED_ROUTE = 'unmatched';
const COLLECT_TIMEOUT_MS = 1000;
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
/**
 * Twilio waits 15 seconds for a webhook's answer, then gives up on the request (and retries a
 * status callback later): an answer slower than this is lost on Twilio's side.
 */
export const TWILIO_WEBHOOK_TIMEOUT_SECONDS = 15;
/** The Twilio webhooks' routes (POST), by the kind label their metrics carry. */
const WEBHOOK_ROUTES: Readonly<Record<string, 'status' | 'inbound'>> = {
  '/api/v1/whatsapp/status': 'status',
  '/api/v1/whatsapp/webhook': 'inbound',
};

/** Where a status sits on the way to the handset; failures and cancellation are not on it. */
const PROGRESS_RANK: Partial<Record<string, number>> = {
  [MessageStatus.Accepted]: 2,
  [MessageStatus.Scheduled]: 2,
  [MessageStatus.Queued]: 2,
  [MessageStatus.Sending]: 3,
  [MessageStatus.Sent]: 4,
  [MessageStatus.PartiallyDelivered]: 5,
  [MessageStatus.Delivered]: 6,
  [MessageStatus.Read]: 7,
};
const FAILURES = new Set<string>([MessageStatus.Failed, MessageStatus.Undelivered]);

/** Stages a status change newly reached (a jump from queued to read reaches sent, delivered and read). */
export function stagesReached(previous: string, current: string): ('sent' | 'delivered' | 'read' | 'failed')[] {
  if (FAILURES.has(current)) return FAILURES.has(previous) ? [] : ['failed'];
  const before = PROGRESS_RANK[previous] ?? 0;
  const after = PROGRESS_RANK[current] ?? 0;
  const reached: ('sent' | 'delivered' | 'read')[] = [];
  if (after >= PROGRESS_RANK.sent! && before < PROGRESS_RANK.sent!) reached.push('sent');
  if (after >= PROGRESS_RANK.delivered! && before < PROGRESS_RANK.delivered!) reached.push('delivered');
  if (after >= PROGRESS_RANK.read! && before < PROGRESS_RANK.read!) reached.push('read');
  return reached;
}

/**
 * The service's Prometheus metrics, in a Registry of its own (several app instances in one
 * process, as in the tests, do not collide). Message and Twilio metrics come from domain events;
 * queue and outbox gauges are read when scraped.
 */
@Injectable()
export class PrometheusMetricsService implements OnModuleInit, OnApplicationShutdown {
  readonly registry = new Registry();
  private readonly unsubscribe: (() => void)[] = [];

  private readonly httpDuration = new Histogram({
    name: MetricName.HttpRequestDuration,
    help: 'HTTP request duration by route pattern, method and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly accepted = new Counter({
    name: MetricName.MessagesAccepted,
    help: 'Outbound messages stored and accepted for sending',
    labelNames: ['mode'],
    registers: [this.registry],
  });
  private readonly sent = this.stageCounter(MetricName.MessagesSent, 'Outbound messages that reached sent (or later)');
  private readonly delivered = this.stageCounter(MetricName.MessagesDelivered, 'Outbound messages that reached delivered (or read)');
  private readonly read = this.stageCounter(MetricName.MessagesRead, 'Outbound messages that were read');
  private readonly failed = new Counter({
    name: MetricName.MessagesFailed,
    help: 'Outbound messages that ended failed or undelivered, by final status and Twilio error code',
    labelNames: ['status', 'error_code'],
    registers: [this.registry],
  });
  private readonly queuedToStage = new Histogram({
    name: MetricName.QueuedToStage,
    help: 'Time from queued to sent, delivered and read',
    labelNames: ['stage'],
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 1800, 3600],
    registers: [this.registry],
  });
  private readonly twilioDuration = new Histogram({
    name: MetricName.TwilioRequestDuration,
    help: "Duration of calls to Twilio's REST API by operation and outcome",
    labelNames: ['operation', 'outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30],
    registers: [this.registry],
  });
  private readonly twilioErrors = new Counter({
    name: MetricName.TwilioApiErrors,
    help: 'Failed calls to Twilio by operation and code (Twilio error code, HTTP status or network error)',
    labelNames: ['operation', 'code'],
    registers: [this.registry],
  });
  private readonly signatureFailures = new Counter({
    name: MetricName.WebhookSignatureFailures,
    help: 'Webhooks refused for a missing or invalid X-Twilio-Signature, by webhook and reason',
    labelNames: ['kind', 'reason'],
    registers: [this.registry],
  });
  private readonly webhooksRefused = new Counter({
    name: MetricName.WebhookRefused,
    help: 'Validly signed webhooks refused before anything was stored, by webhook and reason (malformed, another AccountSid, To not one of our senders)',
    labelNames: ['kind', 'reason'],
    registers: [this.registry],
  });
  private readonly signatureMatches = new Counter({
    name: MetricName.WebhookSignatureMatches,
    help: 'Webhooks accepted, by webhook and index of the auth token that matched (0 = current; >0 = a rotation is unfinished)',
    labelNames: ['kind', 'token_index'],
    registers: [this.registry],
  });
  private readonly consecutiveFailures = new Gauge({
    name: MetricName.WebhookConsecutiveFailures,
    help: 'Signature failures in a row since the last valid webhook of the kind, in this process',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  private readonly webhookDuration = new Histogram({
    name: MetricName.WebhookDuration,
    help: 'Time to answer a Twilio webhook (POST), by webhook, signature check and storage included',
    labelNames: ['kind'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, TWILIO_WEBHOOK_TIMEOUT_SECONDS, 30],
    registers: [this.registry],
  });
  private readonly consecutiveTimeouts = new Gauge({
    name: MetricName.WebhookConsecutiveTimeouts,
    help: `Webhooks in a row answered after Twilio's ${TWILIO_WEBHOOK_TIMEOUT_SECONDS} s timeout, since the last timely answer of the kind, in this process`,
    labelNames: ['kind'],
    registers: [this.registry],
  });
  private readonly templateChecksSkipped = new Counter({
    name: MetricName.TemplateChecksSkipped,
    help: 'Template sends accepted without checking their contentVariables, the Content API being unreachable',
    registers: [this.registry],
  });
  private readonly collectErrors = new Counter({
    name: MetricName.CollectErrors,
    help: 'Scrape-time reads that failed (the gauge is left without a sample)',
    labelNames: ['source'],
    registers: [this.registry],
  });
  readonly databaseConnectionErrors = new Counter({
    name: MetricName.DatabaseConnectionErrors,
    help: 'Postgres connections that could not be opened or broke while idle in the pool',
    labelNames: ['kind'],
    registers: [this.registry],
  });

  constructor(
    private readonly events: DomainEvents,
    private readonly outbox: OutboxBacklog,
    @InjectQueue(QueueName.WhatsApp) private readonly queue: Queue,
  ) {
    collectDefaultMetrics({ register: this.registry });
    const collectErrors = this.collectErrors;
    const jobs = this.queue;
    new Gauge({
      name: MetricName.QueueJobs,
      help: 'BullMQ jobs by state, read when scraped',
      labelNames: ['queue', 'state'],
      registers: [this.registry],
      async collect() {
        try {
          const counts = await withTimeout(jobs.getJobCounts(...QUEUE_STATES), COLLECT_TIMEOUT_MS, 'queue counts');
          for (const state of QUEUE_STATES) this.set({ queue: jobs.name, state }, counts[state] ?? 0);
        } catch {
          this.reset();
          collectErrors.inc({ source: 'queue' });
        }
      },
    });
    const outboxBacklog = () => this.outbox.count();
    new Gauge({
      name: MetricName.OutboxBacklog,
      help: 'Outbox rows not yet relayed to BullMQ, read when scraped',
      registers: [this.registry],
      async collect() {
        try {
          this.set(await withTimeout(outboxBacklog(), COLLECT_TIMEOUT_MS, 'outbox backlog'));
        } catch {
          this.reset();
          collectErrors.inc({ source: 'outbox' });
        }
      },
    });
    // Series that alerts divide by exist from the start, so a ratio is 0 rather than absent.
    this.databaseConnectionErrors.inc({ kind: 'connect' }, 0);
    this.accepted.inc({ mode: 'queued' }, 0);
    this.failed.inc({ status: MessageStatus.Failed, error_code: NO_CODE }, 0);
    for (const kind of Object.values(WEBHOOK_ROUTES)) this.consecutiveTimeouts.set({ kind }, 0);
  }

  onModuleInit(): void {
    this.unsubscribe.push(
      this.events.on(DomainEventType.MessageAccepted, (e) => this.onAccepted(e)),
      this.events.on(DomainEventType.MessageStatusApplied, (e) => this.onStatusApplied(e)),
      this.events.on(DomainEventType.TwilioCallCompleted, (e) => this.onTwilioCall(e)),
      this.events.on(DomainEventType.WebhookVerified, (e) => this.onWebhookVerified(e)),
      this.events.on(DomainEventType.WebhookRefused, (e: WebhookRefusedEvent) => this.webhooksRefused.inc({ kind: e.kind, reason: e.reason })),
      this.events.on(DomainEventType.TemplateCheckSkipped, () => this.templateChecksSkipped.inc()),
    );
  }

  /** Not at module destroy: the jobs that finish during a graceful shutdown still count. */
  onApplicationShutdown(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  /** Prometheus text exposition of every metric. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  observeHttp(method: string, route: string | undefined, statusCode: number, seconds: number): void {
    this.httpDuration.observe({ method, route: route ?? UNMATCHED_ROUTE, status_code: String(statusCode) }, seconds);
    const webhook = method === 'POST' && route ? WEBHOOK_ROUTES[route] : undefined;
    if (webhook) this.observeWebhook(webhook, seconds);
  }

  private observeWebhook(kind: string, seconds: number): void {
    this.webhookDuration.observe({ kind }, seconds);
    if (seconds > TWILIO_WEBHOOK_TIMEOUT_SECONDS) this.consecutiveTimeouts.inc({ kind });
    else this.consecutiveTimeouts.set({ kind }, 0);
  }

  private stageCounter(name: MetricName, help: string): Counter<'error_code'> {
    return new Counter({ name, help: `${help}, by Twilio error code (none when there is none)`, labelNames: ['error_code'], registers: [this.registry] });
  }

  private onAccepted(e: MessageAcceptedEvent): void {
    this.accepted.inc({ mode: e.immediate ? 'immediate' : 'queued' });
  }

  private onStatusApplied(e: MessageStatusAppliedEvent): void {
    if (!e.statusChanged) return;
    const error_code = e.errorCode === null ? NO_CODE : String(e.errorCode);
    for (const stage of stagesReached(e.previousStatus, e.status)) {
      if (stage === 'failed') {
        this.failed.inc({ status: e.status, error_code });
        continue;
      }
      ({ sent: this.sent, delivered: this.delivered, read: this.read })[stage].inc({ error_code });
      const at = { sent: e.sentAt, delivered: e.deliveredAt, read: e.readAt }[stage];
      if (at && e.queuedAt) {
        const seconds = (new Date(at).getTime() - new Date(e.queuedAt).getTime()) / 1000;
        if (seconds >= 0) this.queuedToStage.observe({ stage }, seconds);
      }
    }
  }

  private onTwilioCall(e: TwilioCallCompletedEvent): void {
    this.twilioDuration.observe({ operation: e.operation, outcome: e.ok ? 'ok' : 'error' }, e.durationMs / 1000);
    if (!e.ok) this.twilioErrors.inc({ operation: e.operation, code: String(e.twilioCode ?? e.networkCode ?? e.httpStatus ?? 'unknown') });
  }

  private onWebhookVerified(e: WebhookVerifiedEvent): void {
    if (e.ok) {
      this.consecutiveFailures.set({ kind: e.kind }, 0);
      if (e.tokenIndex !== null) this.signatureMatches.inc({ kind: e.kind, token_index: String(e.tokenIndex) });
      return;
    }
    this.signatureFailures.inc({ kind: e.kind, reason: e.reason ?? 'unknown' });
    this.consecutiveFailures.inc({ kind: e.kind });
  }
}
