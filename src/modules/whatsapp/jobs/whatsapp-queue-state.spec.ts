import { ConfigService } from '@nestjs/config';
import { Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import { AppConfig } from '../../../config/configuration';
import { RedisEpochWatch } from '../../queue/redis-epoch-watch';
import { OutboxWriter } from '../../../database/outbox/outbox.writer';
import { MessageStatus } from '../message-status';
import { WhatsAppMessageRepository } from '../messages/whatsapp-message.repository';
import { createWhatsAppTestKit, SENDER } from '../testing/whatsapp-test-kit';
import { RECONCILE_SCHEDULER_ID, sendMessageJob } from './whatsapp-jobs';
import { WhatsAppQueueState } from './whatsapp-queue-state';

describe('WhatsAppQueueState', () => {
  const config = { get: () => ({ reconcileIntervalMs: 60_000 }) } as unknown as ConfigService<AppConfig, true>;

  beforeEach(() => jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  it('declares the reconciliation schedule at the first check, then only when it is missing', async () => {
    const schedulers = new Map<string, unknown>();
    const queue = {
      getJobScheduler: jest.fn(async (id: string) => schedulers.get(id)),
      upsertJobScheduler: jest.fn(async (id: string, repeat: unknown) => schedulers.set(id, repeat)),
    };
    const state = new WhatsAppQueueState({} as RedisEpochWatch, {} as WhatsAppMessageRepository, {} as never, queue as unknown as Queue, config);

    await state.ensureRedisState();
    await state.ensureRedisState();
    expect(queue.upsertJobScheduler).toHaveBeenCalledTimes(1);

    schedulers.clear(); // Redis lost it
    await state.ensureRedisState();
    expect(queue.upsertJobScheduler).toHaveBeenCalledTimes(2);
    expect(queue.upsertJobScheduler).toHaveBeenLastCalledWith(RECONCILE_SCHEDULER_ID, { every: 60_000 }, expect.objectContaining({ name: 'reconcile' }));
  });

  it('queues again every unsent message with no job in the outbox, and nothing else', async () => {
    const kit = createWhatsAppTestKit();
    const jobless = [await kit.queued(), await kit.queued()];
    const waiting = await kit.queued();
    await kit.store.messages.transaction((tx) => kit.store.outbox.add(tx, [sendMessageJob({ id: waiting, from: SENDER }, { availableAt: new Date(Date.now() + 900_000) })]));
    await kit.queued({ status: MessageStatus.Failed });
    await kit.queued({ messageSid: 'SM00000000000000000000000000000001', status: MessageStatus.Sent });
    const state = new WhatsAppQueueState(
      {} as RedisEpochWatch,
      kit.store.messages as unknown as WhatsAppMessageRepository,
      kit.store.outbox as unknown as OutboxWriter,
      {} as Queue,
      config,
    );

    expect(await state.redisDataLost()).toBe(2);
    const jobs = kit.store.outboxJobs().map((j) => j.jobId);
    expect(jobs.sort()).toEqual([...jobless.map((id) => `send-${id}`), `send-${waiting}`].sort());
    // A second rebuild finds every message with a job waiting.
    expect(await state.redisDataLost()).toBe(0);
  });
});
