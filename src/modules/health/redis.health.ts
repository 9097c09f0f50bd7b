import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Queue } from 'bullmq';
import { withTimeout } from '../../common/with-timeout';
import { QueueName } from '../queue/queue.types';

const PING_TIMEOUT_MS = 1000;

/**
 * Redis answers on the connection the service enqueues through: the WhatsApp queue's, which
 * fails at once while disconnected instead of queueing the command. A separate connection
 * could be back while this one still waits to reconnect.
 */
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
      const client = await withTimeout(this.queue.getBackend().client, PING_TIMEOUT_MS, 'redis');
      // BullMQ's client interface has no PING; a GET of a key nobody writes is the same round trip,
      // and stays inside the queue's key prefix for deployments whose Redis user is limited to it.
      await withTimeout(client.get(this.queue.toKey('health-check')), PING_TIMEOUT_MS, 'redis');
      return indicator.up({ responseTimeMs: Date.now() - started });
    } catch (err) {
      return indicator.down({ message: (err as Error).message });
    }
  }
}
