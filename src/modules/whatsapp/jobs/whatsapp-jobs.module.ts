import { Module } from '@nestjs/common';
import { QueueModule } from '../../queue/queue.module';
import { WhatsAppModule } from '../whatsapp.module';
import { WhatsAppProcessor } from './whatsapp.processor';

/**
 * The `whatsapp` queue's worker and the reconciliation schedule (APP_ROLE worker or all). Left
 * out of an API process altogether: @nestjs/bullmq creates a BullMQ Worker for every @Processor
 * provider it finds, so the only way to have none is to provide none.
 */
@Module({
  imports: [WhatsAppModule, QueueModule],
  providers: [WhatsAppProcessor],
})
export class WhatsAppJobsModule {}
