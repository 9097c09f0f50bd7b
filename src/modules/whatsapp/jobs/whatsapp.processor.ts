import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ROOT_LOGGER } from '../../../common/logging/logging.module';
import { LogContext } from '../../../common/logging/log-context';
import { RootLogger } from '../../../common/logging/root-logger';
import { ConfigService } from '@nestjs/config';
import { DelayedError, Job, UnrecoverableError } from 'bullmq';
import { AppConfig } from '../../../config/configuration';
import { ThrottledLog } from '../../../common/logging/throttled-log';
import { DispatchError, DispatchOutcome, MessageDispatchService } from '../message-dispatch.service';
import { ReconciliationService } from '../reconciliation.service';
import { JobName, JobPayloads, WHATSAPP_QUEUE } from './whatsapp-jobs';

type Handlers = { [K in JobName]: (job: Job<JobPayloads[K]>, token?: string) => Promise<unknown> };

/** Runs the jobs of the `whatsapp` queue (sends and reconciliation), WHATSAPP_WORKERS at a time per process. */
@Processor(WHATSAPP_QUEUE)
export class WhatsAppProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger(WhatsAppProcessor.name);
  private readonly workerErrors = new ThrottledLog((line) => this.logger.warn(line));

  /** One handler per job name; the type makes a missing one a compile error. */
  private readonly handlers: Handlers = {
    [JobName.SendMessage]: (job, token) => this.sendMessage(job, token),
    [JobName.Reconcile]: () => this.reconciliation.reconcileOnce(),
  };

  constructor(
    private readonly dispatcher: MessageDispatchService,
    private readonly reconciliation: ReconciliationService,
    @Inject(ROOT_LOGGER) private readonly root: RootLogger,
    private readonly config: ConfigService<AppConfig, true>,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    for (const name of Object.values(JobName)) {
      if (typeof this.handlers[name] !== 'function') throw new Error(`Job ${name} has no handler`);
    }
    // The reconciliation schedule is declared (and declared again when Redis loses it) by WhatsAppQueueState.
    this.worker.concurrency = this.config.get('whatsapp', { infer: true }).workers;
  }

  async process(job: Job, token?: string): Promise<unknown> {
    const handler = this.handlers[job.name as JobName] as ((job: Job, token?: string) => Promise<unknown>) | undefined;
    // An unknown job name is a deployment mistake; retrying cannot fix it.
    if (!handler) throw new UnrecoverableError(`No handler for job ${job.name}`);
    // Every line logged while the job runs carries its id, as request lines carry the request id.
    return new LogContext(this.root.logger, { jobId: job.id, job: job.name, attempt: job.attemptsMade + 1 }).run(() => handler(job, token));
  }

  private async sendMessage(job: Job<JobPayloads[JobName.SendMessage]>, token?: string): Promise<{ outcome: string; messageSid: string | null }> {
    const maxAttempts = job.opts.attempts ?? 1;
    try {
      const result = await this.dispatcher.dispatch(job.data.messageId, { attempt: job.attemptsMade + 1, maxAttempts });
      if ((result.outcome === DispatchOutcome.Deferred || result.outcome === DispatchOutcome.RateLimited) && result.retryAt) {
        // Waiting for Twilio to be done with an unanswered request, or for the sender's turn, is
        // not an attempt, and holds no worker: the job waits in the delayed set.
        await job.moveToDelayed(result.retryAt.getTime(), token);
        throw new DelayedError();
      }
      return { outcome: result.outcome, messageSid: result.message.messageSid };
    } catch (err) {
      if (err instanceof DispatchError && err.final) throw new UnrecoverableError(err.message);
      throw err;
    }
  }

  @OnWorkerEvent('error')
  onError(err: Error): void {
    this.workerErrors.log(`Worker error: ${err.message}`);
  }
}
