import { Inject, Injectable, Optional } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { HealthIndicatorService } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { withTimeout } from '../../common/with-timeout';
import { AppConfig } from '../../config/configuration';
import type { TwilioSandbox } from '../../../libs/twilio-sandbox/twilio-sandbox';
import { TWILIO_SANDBOX } from '../twilio/twilio.module';
import { GracefulShutdown } from './graceful-shutdown.service';

const CHECK_TIMEOUT_MS = 1500;
/** Twilio's API is probed at most this often per process (probes come every few seconds). */
const TWILIO_PROBE_TTL_MS = 30_000;
const TWILIO_DEFAULT_BASE = 'https://api.twilio.com';

@Injectable()
export class ReadinessIndicators {
  private twilioProbe?: { at: number; result: { ok: boolean; detail: Record<string, unknown> } };

  constructor(
    private readonly health: HealthIndicatorService,
    private readonly shutdown: GracefulShutdown,
    private readonly config: ConfigService<AppConfig, true>,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Optional() @Inject(TWILIO_SANDBOX) private readonly sandbox: TwilioSandbox | null,
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

  /** The in-process sandbox is listening, or Twilio's API answers HTTP at all (any status). */
  async twilio(key = 'twilio') {
    const indicator = this.health.check(key);
    const settings = this.config.get('twilio', { infer: true });
    if (settings.useSandbox) {
      try {
        return indicator.up({ sandbox: this.sandbox?.baseUrl });
      } catch {
        return indicator.down({ sandbox: 'not running' });
      }
    }
    const now = Date.now();
    if (!this.twilioProbe || now - this.twilioProbe.at > TWILIO_PROBE_TTL_MS) {
      this.twilioProbe = { at: now, result: await this.probe(settings.apiBaseUrl ?? TWILIO_DEFAULT_BASE) };
    }
    const { ok, detail } = this.twilioProbe.result;
    return ok ? indicator.up(detail) : indicator.down(detail);
  }

  private async probe(base: string): Promise<{ ok: boolean; detail: Record<string, unknown> }> {
    const started = Date.now();
    try {
      const res = await fetch(base, { method: 'HEAD', signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) });
      return { ok: true, detail: { httpStatus: res.status, responseTimeMs: Date.now() - started } };
    } catch (err) {
      return { ok: false, detail: { message: `Twilio API unreachable: ${(err as Error).message}` } };
    }
  }
}
