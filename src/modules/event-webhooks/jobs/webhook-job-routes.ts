import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { Queue } from 'bullmq';
import { OutboxRoutes } from '../../../database/outbox/outbox-routes';
import { DELIVER_JOB_OPTIONS, WEBHOOKS_QUEUE, WebhookJobName } from './webhook-jobs';

/** Tells the outbox relay where delivery jobs go. */
@Injectable()
export class WebhookJobRoutes implements OnModuleInit {
  constructor(
    private readonly routes: OutboxRoutes,
    @InjectQueue(WEBHOOKS_QUEUE) private readonly queue: Queue,
  ) {}

  onModuleInit(): void {
    this.routes.register(WebhookJobName.Deliver, { queue: this.queue, options: DELIVER_JOB_OPTIONS });
  }
}
