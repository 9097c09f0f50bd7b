import { Global, Module } from '@nestjs/common';
import { DomainEvents } from './domain-events';
import { MessageChangeHooks } from './message-change-hooks';

@Global()
@Module({ providers: [DomainEvents, MessageChangeHooks], exports: [DomainEvents, MessageChangeHooks] })
export class EventsModule {}
