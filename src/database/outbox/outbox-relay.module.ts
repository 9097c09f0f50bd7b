import { Module } from '@nestjs/common';
import { OutboxModule } from './outbox.module';
import { OutboxRelayService } from './outbox-relay.service';

/**
 * The relay on its own, imported only by processes that run jobs (APP_ROLE worker or all): an API
 * process writes outbox rows and wakes the relays elsewhere with its NOTIFY, and relays nothing.
 */
@Module({
  imports: [OutboxModule],
  providers: [OutboxRelayService],
  exports: [OutboxRelayService],
})
export class OutboxRelayModule {}
