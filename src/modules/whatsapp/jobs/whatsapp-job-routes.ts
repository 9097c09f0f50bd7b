import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Queue } from 'bullmq';
import { AppConfig } from '../../../config/configuration';
import { OutboxRoutes } from '../../../database/outbox/outbox-routes';
import { JobName, sendJobOptions, WHATSAPP_QUEUE } from './whatsapp-jobs';

/** Tells the outbox relay where this module's jobs go and with which retry preset. */
@Injectable()
export class WhatsAppJobRoutes implements OnModuleInit {
  constructor(
    private readonly routes: OutboxRoutes,
    @InjectQueue(WHATSAPP_QUEUE) private readonly queue: Queue,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  onModuleInit(): void {
    this.routes.register(JobName.SendMessage, { queue: this.queue, options: sendJobOptions(this.config.get('whatsapp', { infer: true })) });
  }
}
