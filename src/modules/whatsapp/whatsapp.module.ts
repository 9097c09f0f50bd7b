import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../../config/configuration';
import { OutboxModule } from '../../database/outbox/outbox.module';
import { AuthModule } from '../auth/auth.module';
import { QueueModule } from '../queue/queue.module';
import { TemplatesModule } from '../templates/templates.module';
import { TwilioModule } from '../twilio/twilio.module';
import { BulkSendService } from './bulk-send.service';
import { ContactPolicyService } from './contact-policy.service';
import { Contact } from './entities/contact.entity';
import { IdempotencyKey } from './idempotency/idempotency-key.entity';
import { IdempotencyKeyRepository } from './idempotency/idempotency-key.repository';
import { IDEMPOTENCY_LEASE, IdempotencyService, leaseFor } from './idempotency/idempotency.service';
import { InboundMessageService } from './inbound-message.service';
import { PendingSendJobs } from './jobs/pending-send-jobs';
import { WhatsAppJobRoutes } from './jobs/whatsapp-job-routes';
import { MessageLifecycleService } from './lifecycle/message-lifecycle.service';
import { MessageAcceptor } from './message-acceptor';
import { MessageCancelService } from './message-cancel.service';
import { MessageDispatchService } from './message-dispatch.service';
import { MessageQueryService } from './message-query.service';
import { MessageSendService } from './message-send.service';
import { ContactRepository } from './messages/contact.repository';
import { MessageEventRepository } from './messages/message-event.repository';
import { WhatsAppMessageRepository } from './messages/whatsapp-message.repository';
import { ReconciliationService } from './reconciliation.service';
import { RetryService } from './retry.service';
import { SendersService } from './senders.service';

/**
 * The WhatsApp domain every process needs. Its HTTP face is WhatsAppApiModule and its queue worker
 * WhatsAppJobsModule, each imported only by the processes of the role that runs it.
 */
@Module({
  imports: [TypeOrmModule.forFeature([Contact, IdempotencyKey]), OutboxModule, QueueModule, TwilioModule, TemplatesModule, AuthModule],
  providers: [
    WhatsAppMessageRepository,
    MessageEventRepository,
    ContactRepository,
    MessageSendService,
    MessageAcceptor,
    BulkSendService,
    MessageQueryService,
    MessageCancelService,
    MessageDispatchService,
    MessageLifecycleService,
    InboundMessageService,
    ContactPolicyService,
    IdempotencyService,
    IdempotencyKeyRepository,
    {
      provide: IDEMPOTENCY_LEASE,
      inject: [ConfigService],
      useFactory: (config: ConfigService<AppConfig, true>) =>
        config.get('whatsapp', { infer: true }).idempotencyLeaseMs ?? leaseFor(config.get('twilio', { infer: true }).timeoutMs),
    },
    RetryService,
    ReconciliationService,
    SendersService,
    WhatsAppJobRoutes,
    PendingSendJobs,
  ],
  exports: [
    MessageSendService,
    MessageQueryService,
    MessageCancelService,
    MessageLifecycleService,
    InboundMessageService,
    ContactPolicyService,
    BulkSendService,
    IdempotencyService,
    RetryService,
    SendersService,
    MessageDispatchService,
    ReconciliationService,
    WhatsAppMessageRepository,
  ],
})
export class WhatsAppModule {}
