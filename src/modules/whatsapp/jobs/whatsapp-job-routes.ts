import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Queue } from 'bullmq';
import { AppConfig } from '../../../config/configuration';
import { OutboxRoutes } from '../../../database/outbox/outbox-routes';
import { SenderRateLimiter } from '../../twilio/sender-rate-limiter';
import { JobName, SendMessageJob, sendJobOptions, WHATSAPP_QUEUE } from './whatsapp-jobs';

/** Tells the outbox relay where this module's jobs go and with which retry preset. */
@Injectable()
export class WhatsAppJobRoutes implements OnModuleInit {
  constructor(
    private readonly routes: OutboxRoutes,
    @InjectQueue(WHATSAPP_QUEUE) private readonly queue: Queue,
    private readonly config: ConfigService<AppConfig, true>,
    private readonly rateLimiter: SenderRateLimiter,
  ) {}

  onModuleInit(): void {
    this.routes.register(JobName.SendMessage, {
      queue: this.queue,
      options: sendJobOptions(this.config.get('whatsapp', { infer: true })),
      delays: (payloads) => this.sendTurns(payloads as Partial<SendMessageJob>[]),
    });
  }

  /**
   * Each send waits in the delayed set for its turn in its sender's line, so that a sender's
   * backlog never stands in front of another sender's messages in the waiting list. Jobs written
   * before the sender was part of the payload get a turn when a worker first picks them.
   */
  private async sendTurns(payloads: Partial<SendMessageJob>[]): Promise<number[]> {
    const delays = payloads.map(() => 0);
    const bySender = new Map<string, number[]>();
    payloads.forEach((p, i) => {
      if (!p.from) return;
      const indexes = bySender.get(p.from) ?? [];
      indexes.push(i);
      bySender.set(p.from, indexes);
    });
    for (const [sender, indexes] of bySender) {
      const turns = await this.rateLimiter.takeTurns(sender, indexes.length);
      indexes.forEach((index, k) => (delays[index] = turns[k]));
    }
    return delays;
  }
}
