import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { withTimeout } from '../../common/with-timeout';
import { GracefulShutdown } from './graceful-shutdown.service';

const CHECK_TIMEOUT_MS = 1500;

@Injectable()
export class ReadinessIndicators {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly shutdown: GracefulShutdown,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  notShuttingDown(key = 'shutdown') {
    const indicator = this.health.check(key);
    return this.shutdown.draining ? indicator.down({ message: 'shutting down' }) : indicator.up();
  }

  /** Every migration this build knows has been applied. */
  async migrations(key = 'migrations') {
    const indicator = this.health.check(key);
    try {
      const pending = await withTimeout(this.dataSource.showMigrations(), CHECK_TIMEOUT_MS, 'migrations check');
      return pending ? indicator.down({ message: 'pending migrations: run npm run migration:run' }) : indicator.up();
    } catch (err) {
      return indicator.down({ message: (err as Error).message });
    }
  }

  /** The BullMQ workers of this process are running (not closed, not paused). */
  workers(key = 'workers') {
    const indicator = this.health.check(key);
    const workers = this.shutdown.workers();
    const stopped = workers.filter((w) => !w.isRunning() || w.isPaused()).map((w) => w.name);
    if (workers.length === 0) return indicator.down({ message: 'no queue worker in this process' });
    return stopped.length > 0 ? indicator.down({ message: `not running: ${stopped.join(', ')}`, running: workers.length - stopped.length }) : indicator.up({ running: workers.length });
  }
}
