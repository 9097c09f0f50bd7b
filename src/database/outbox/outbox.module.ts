import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OutboxEntry } from './outbox-entry.entity';
import { OutboxBacklog } from './outbox-backlog';
import { OutboxRoutes } from './outbox-routes';
import { OutboxSignal } from './outbox-signal';
import { OutboxWriter } from './outbox.writer';

/**
 * The transactional outbox as every process sees it: the writer joins the caller's transaction and
 * the signal wakes the relays after commit. The relay itself is OutboxRelayModule.
 */
@Module({
  imports: [TypeOrmModule.forFeature([OutboxEntry])],
  providers: [OutboxWriter, OutboxBacklog, OutboxRoutes, OutboxSignal],
  exports: [OutboxWriter, OutboxBacklog, OutboxRoutes, OutboxSignal],
})
export class OutboxModule {}
