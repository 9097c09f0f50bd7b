import { Module } from '@nestjs/common';
import { OutboxModule } from '../../../database/outbox/outbox.module';
import { QueueModule } from '../../queue/queue.module';
import { WhatsAppModule } from '../whatsapp.module';
import { WhatsAppProcessor } from './whatsapp.processor';
import { WhatsAppQueueState } from './whatsapp-queue-state';

/**
 * The `whatsapp` queue's worker, the reconciliation schedule and the re-drive after Redis lost
 * its data (APP_ROLE worker or all). Left out of an API process altogether: @nestjs/bullmq
 * creates a BullMQ Worker for every @Processor provider it finds, so the only way to have none is
 * to provide none.
 */
@Module({
  imports: [WhatsAppModule, QueueModule, OutboxModule],
  providers: [WhatsAppProcessor, WhatsAppQueueState],
})
export class WhatsAppJobsModule {}
