import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Queue } from 'bullmq';
import { withTimeout } from '../../common/with-timeout';
import { QueueName } from '../queue/queue.types';

const PING_TIMEOUT_MS = 1000;

@Injectable()
export class RedisHealthIndicator {
  constructor(
    @InjectQueue(QueueName.WhatsApp) private readonly queue: Queue,
    private readonly health: HealthIndicatorService,
  ) {}

  async isHealthy(key = 'redis') {
    const indicator = this.health.check(key);
    const started = Date.now();
    try {
      const client = (await withTimeout(this.queue.getBackend().client, PING_TIMEOUT_MS, 'redis')) as unknown as { ping(): Promise<string> };
      await withTimeout(client.ping(), PING_TIMEOUT_MS, 'redis');
      return indicator.up({ responseTimeMs: Date.now() - started });
    } catch (err) {
      return indicator.down({ message: (err as Error).message });
    }
  }
}
