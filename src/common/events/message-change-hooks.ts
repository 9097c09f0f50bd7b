import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { MessageStatusAppliedEvent } from './domain-events';

/** An inbound message as stored, told to the hooks in the transaction that stored it. */
export interface InboundStoredEvent {
  messageId: string;
  messageSid: string;
  from: string;
  to: string;
  body: string;
  mediaUrls: string[];
  mediaContentTypes: string[];
  profileName: string | null;
  waId: string | null;
  metadata: Record<string, string | number | boolean | null>;
  status: string;
  receivedAt: Date;
}

/**
 * What a feature records in the same transaction as a message change (outbound webhooks write
 * their deliveries there, so a crash after the commit loses none). A hook must do no SQL when it
 * has nothing to record: it runs on the status path, which is measured.
 */
export interface MessageChangeHook {
  statusesApplied(tx: EntityManager, events: readonly MessageStatusAppliedEvent[]): Promise<void>;
  inboundStored(tx: EntityManager, events: readonly InboundStoredEvent[]): Promise<void>;
}

/**
 * The hooks registered by feature modules, called by the WhatsApp domain inside its transactions,
 * so that the domain knows no feature that listens to it (and no two modules import each other).
 */
@Injectable()
export class MessageChangeHooks {
  private hooks: MessageChangeHook[] = [];

  register(hook: MessageChangeHook): () => void {
    this.hooks = [...this.hooks, hook];
    return () => (this.hooks = this.hooks.filter((h) => h !== hook));
  }

  async statusesApplied(tx: EntityManager, events: readonly MessageStatusAppliedEvent[]): Promise<void> {
    if (events.length === 0) return;
    for (const hook of this.hooks) await hook.statusesApplied(tx, events);
  }

  async inboundStored(tx: EntityManager, events: readonly InboundStoredEvent[]): Promise<void> {
    if (events.length === 0) return;
    for (const hook of this.hooks) await hook.inboundStored(tx, events);
  }
}
