import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Job, UnrecoverableError } from 'bullmq';
import { ThrottledLog } from '../../../common/logging/throttled-log';
import { AppConfig } from '../../../config/configuration';
import { WebhookDeliveryService } from '../webhook-delivery.service';
import { WEBHOOKS_QUEUE, WebhookJobName, WebhookJobPayloads } from './webhook-jobs';

type Handlers = { [K in WebhookJobName]: (job: Job<WebhookJobPayloads[K]>) => Promise<unknown> };

/** Runs the jobs of the `webhooks` queue, WEBHOOK_WORKERS at a time per process. */
@Processor(WEBHOOKS_QUEUE)
export class WebhookDeliveryProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger(WebhookDeliveryProcessor.name);
  private readonly workerErrors = new ThrottledLog((line) => this.logger.warn(line));

  private readonly handlers: Handlers = {
    [WebhookJobName.Deliver]: (job) => this.deliveries.attempt(job.data.deliveryId),
  };

  constructor(
    private readonly deliveries: WebhookDeliveryService,
    private readonly config: ConfigService<AppConfig, true>,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    for (const name of Object.values(WebhookJobName)) {
      if (typeof this.handlers[name] !== 'function') throw new Error(`Job ${name} has no handler`);
    }
    this.worker.concurrency = this.config.get('outboundWebhooks', { infer: true }).workers;
  }

  async process(job: Job): Promise<unknown> {
    const handler = this.handlers[job.name as WebhookJobName] as ((job: Job) => Promise<unknown>) | undefined;
    if (!handler) throw new UnrecoverableError(`No handler for job ${job.name}`);
    return handler(job);
  }

  /** The job's own work failed (not the receiver: that is a recorded attempt): BullMQ retries it. */
  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, err: Error): void {
    this.workerErrors.log(`Webhook job ${job?.id ?? '?'} failed: ${err.message}`);
  }

  @OnWorkerEvent('error')
  onError(err: Error): void {
    this.workerErrors.log(`Webhook worker error: ${err.message}`);
  }
}
