import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { MessageChangeHooks } from '../../../common/events/message-change-hooks';
import { DomainEvents, DomainEventType, MessageStatusAppliedEvent } from '../../../common/events/domain-events';
import { AppConfig, buildConfiguration } from '../../../config/configuration';
import { OutboxWriter } from '../../../database/outbox/outbox.writer';
import { FakeTwilioMessagingClient } from '../../twilio/testing/fake-twilio-messaging-client';
import { TwilioMessagingClient } from '../../twilio/twilio-messaging.client';
import { ContactPolicyService } from '../contact-policy.service';
import { MessageLifecycleService } from '../lifecycle/message-lifecycle.service';
import { MessageDispatchService } from '../message-dispatch.service';
import { MessageDirection, MessageStatus } from '../message-status';
import { contactKey } from '../phone-number';
import { MessageEventRepository } from '../messages/message-event.repository';
import { InMemoryMessageStore } from '../messages/testing/in-memory-message-store';
import { NewMessage, WhatsAppMessageRepository } from '../messages/whatsapp-message.repository';
import { PendingSendJobs } from '../jobs/pending-send-jobs';
import { ReconciliationService } from '../reconciliation.service';
import { RetryService } from '../retry.service';

export const SENDER = 'whatsapp:+14155238886';
export const STATUS_CALLBACK_URL = 'https://hooks.example.com/api/v1/whatsapp/status';

/**
 * Opt-outs as ContactPolicyService answers them, from the store's contacts table (the one the
 * claim reads too), under the same contact key.
 */
export class FakeContactPolicy implements Pick<ContactPolicyService, 'optedOutAmong'> {
  private failure?: Error;

  constructor(private readonly store: InMemoryMessageStore) {}

  /** The number (E.164, as WhatsApp writes it) replied STOP: stored as the inbound path stores it. */
  optOut(phone: string, at = new Date()): void {
    this.store.putContact(contactKey(phone), { optedOutAt: at });
  }

  /** The next look-up fails (the contacts table is unreachable). */
  failNext(error: Error): void {
    this.failure = error;
  }

  async optedOutAmong(phones: string[]): Promise<Set<string>> {
    const failure = this.failure;
    this.failure = undefined;
    if (failure) throw failure;
    return new Set(phones.filter((p) => !!this.store.contactRows.get(contactKey(p))?.optedOutAt));
  }
}

/** The ConfigService the services read, answering from a configuration built like the app's. */
export function configServiceFor(config: AppConfig): ConfigService<AppConfig, true> {
  return { get: (key: keyof AppConfig) => config[key] } as unknown as ConfigService<AppConfig, true>;
}

let recipients = 0;
/** A recipient no other message of the test run has. */
export function newRecipient(): string {
  recipients += 1;
  return `whatsapp:+1415555${String(2000 + recipients).padStart(4, '0')}`;
}

/** Lets listeners started by published events (they run detached) finish their work. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The whatsapp services wired as the module wires them, on the in-memory store (opt-outs in its
 * contacts), a fake Twilio and the real DomainEvents, with configuration built from `env` like
 * the app's.
 */
export function createWhatsAppTestKit(env: Record<string, string> = {}) {
  // The services log every failure they handle; the tests assert on outcomes instead.
  Logger.overrideLogger(false);
  const store = new InMemoryMessageStore();
  const twilio = new FakeTwilioMessagingClient();
  const contacts = new FakeContactPolicy(store);
  const events = new DomainEvents();
  const published: MessageStatusAppliedEvent[] = [];
  events.on(DomainEventType.MessageStatusApplied, (e) => published.push(e));
  const config = buildConfiguration({ NODE_ENV: 'test', STATUS_CALLBACK_URL, TWILIO_WHATSAPP_FROM: SENDER, ...env });
  const configService = configServiceFor(config);

  const messages = store.messages as unknown as WhatsAppMessageRepository;
  const outbox = store.outbox as unknown as OutboxWriter;
  const twilioProvider = twilio as unknown as TwilioMessagingClient;
  const contactPolicy = contacts as unknown as ContactPolicyService;
  const hooks = new MessageChangeHooks();
  const lifecycle = new MessageLifecycleService(messages, store.events as unknown as MessageEventRepository, events, hooks);
  const dispatcher = new MessageDispatchService(messages, twilioProvider, lifecycle, configService, events, hooks);
  const retries = new RetryService(messages, outbox, events, configService, contactPolicy);
  retries.onModuleInit();
  /** Messages whose send job is still in the queue (PendingSendJobs). */
  const jobsWaiting = new Set<string>();
  const pendingJobs = { waiting: async (m: { id: string }) => jobsWaiting.has(m.id) } as unknown as PendingSendJobs;
  const reconciliation = new ReconciliationService(messages, twilioProvider, lifecycle, dispatcher, configService, events, outbox, retries, pendingJobs, hooks);

  /** Stores an outbound message as an accepted send does (queued, not yet attempted). */
  async function queued(over: Partial<NewMessage> = {}): Promise<string> {
    const [row] = await store.messages.insert(undefined, [
      {
        direction: MessageDirection.Outbound,
        from: SENDER,
        to: newRecipient(),
        body: 'Your order has shipped',
        mediaUrls: [],
        status: MessageStatus.Queued,
        queuedAt: new Date(),
        ...over,
      },
    ]);
    if (!row) throw new Error('the message was not inserted (a taken id, SID or retryOf?)');
    return row.id;
  }

  return { store, twilio, contacts, events, published, config, lifecycle, dispatcher, retries, reconciliation, queued, jobsWaiting };
}

export type WhatsAppTestKit = ReturnType<typeof createWhatsAppTestKit>;
