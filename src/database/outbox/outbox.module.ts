import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OutboxEntry } from './outbox-entry.entity';
import { OutboxRelayService } from './outbox-relay.service';
import { OutboxRoutes } from './outbox-routes';
import { OutboxSignal } from './outbox-signal';
import { OutboxWriter } from './outbox.writer';

/** The transactional outbox: the writer joins the caller's transaction, the relay moves due jobs into BullMQ. */
@Module({
  imports: [TypeOrmModule.forFeature([OutboxEntry])],
  providers: [OutboxWriter, OutboxRelayService, OutboxRoutes, OutboxSignal],
  exports: [OutboxWriter, OutboxRelayService, OutboxRoutes],
})
export class OutboxModule {}
