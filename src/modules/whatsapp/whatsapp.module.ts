import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OutboxModule } from '../../database/outbox/outbox.module';
import { AuthModule } from '../auth/auth.module';
import { TwilioModule } from '../twilio/twilio.module';
import { Contact } from './entities/contact.entity';
import { MessageEvent } from './entities/message-event.entity';
import { WhatsAppMessage } from './entities/whatsapp-message.entity';
import { InboundMessageService } from './inbound-message.service';
import { MessageLifecycleService } from './lifecycle/message-lifecycle.service';
import { MessageDispatchService } from './message-dispatch.service';
import { WhatsAppController } from './whatsapp.controller';
import { WhatsAppService } from './whatsapp.service';
import { ContactPolicyService } from './contact-policy.service';
import { MessageQueryService } from './message-query.service';
import { BulkSendService } from './bulk-send.service';
import { IdempotencyKey } from './idempotency/idempotency-key.entity';
import { IdempotencyKeyRepository } from './idempotency/idempotency-key.repository';
import { IDEMPOTENCY_LEASE, IdempotencyService, leaseFor } from './idempotency/idempotency.service';
import { ConfigService } from '@nestjs/config';
import { AppConfig } from '../../config/configuration';
import { ReconciliationService } from './reconciliation.service';
import { RetryController } from './retry.controller';
import { RetryService } from './retry.service';
import { SendersController } from './senders.controller';
import { SendersService } from './senders.service';

@Module({
  imports: [TypeOrmModule.forFeature([WhatsAppMessage, MessageEvent, Contact, IdempotencyKey]), OutboxModule, TwilioModule, AuthModule],
  controllers: [WhatsAppController, RetryController, SendersController],
  providers: [WhatsAppService, MessageDispatchService, MessageLifecycleService, InboundMessageService, ContactPolicyService, MessageQueryService, BulkSendService, IdempotencyService, IdempotencyKeyRepository,
    {
      provide: IDEMPOTENCY_LEASE,
      inject: [ConfigService],
      useFactory: (config: ConfigService<AppConfig, true>) => leaseFor(config.get('twilio', { infer: true }).timeoutMs),
    }, RetryService, ReconciliationService, SendersService],
  exports: [WhatsAppService, MessageDispatchService, MessageLifecycleService, InboundMessageService, ContactPolicyService, ReconciliationService],
})
export class WhatsAppModule {}
