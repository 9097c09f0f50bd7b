import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Queue } from 'bullmq';
import { AppConfig } from '../../../config/configuration';
import { OutboxWriter } from '../../../database/outbox/outbox.writer';
import { RedisEpochWatch, RedisStateOwner } from '../../queue/redis-epoch-watch';
import { WhatsAppMessageRepository } from '../messages/whatsapp-message.repository';
import { JobName, RECONCILE_JOB_OPTIONS, RECONCILE_SCHEDULER_ID, sendMessageJob, WHATSAPP_QUEUE } from './whatsapp-jobs';

/** Messages queued again per transaction after Redis lost its data. */
const REQUEUE_PAGE = 1000;

/**
 * What the whatsapp module keeps in Redis and puts back: the send job of every unsent message
 * (queued again through the outbox when Redis lost its data) and the reconciliation schedule
 * (declared at start, then again whenever it is missing).
 */
@Injectable()
export class WhatsAppQueueState implements RedisStateOwner, OnModuleInit {
  private readonly logger = new Logger(WhatsAppQueueState.name);
  private scheduleDeclared = false;

  constructor(
    private readonly watch: RedisEpochWatch,
    private readonly messages: WhatsAppMessageRepository,
    private readonly outbox: OutboxWriter,
    @InjectQueue(WHATSAPP_QUEUE) private readonly queue: Queue,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  onModuleInit(): void {
    this.watch.register(this);
  }

  /**
   * A new send job for every unsent message that has none waiting in the outbox: its job, if it
   * had one, went with Redis's data. One still being sent is safe: the claim lets one attempt
   * through, and one that may have reached Twilio is looked up there before any new send.
   */
  async redisDataLost(): Promise<number> {
    let queued = 0;
    for (let after: string | null = null; ; ) {
      const page = await this.messages.unsentWithoutOutboxJob(after, REQUEUE_PAGE);
      if (page.length === 0) break;
      await this.messages.transaction((tx) => this.outbox.add(tx, page.map((message) => sendMessageJob(message))));
      queued += page.length;
      after = page[page.length - 1].id;
    }
    if (queued > 0) this.logger.warn(`${queued} unsent message(s) had no job left in Redis; queued again`);
    return queued;
  }

  /**
   * Declared at start (the interval may have changed since the last deployment), then only when
   * missing. Upserting is idempotent: every process declares the same scheduler and BullMQ runs
   * it once per interval.
   */
  async ensureRedisState(): Promise<void> {
    if (this.scheduleDeclared && (await this.queue.getJobScheduler(RECONCILE_SCHEDULER_ID))) return;
    const every = this.config.get('whatsapp', { infer: true }).reconcileIntervalMs;
    await this.queue.upsertJobScheduler(RECONCILE_SCHEDULER_ID, { every }, { name: JobName.Reconcile, data: {}, opts: RECONCILE_JOB_OPTIONS });
    if (this.scheduleDeclared) this.logger.warn('The reconciliation schedule was missing from Redis; declared again');
    this.scheduleDeclared = true;
  }
}
