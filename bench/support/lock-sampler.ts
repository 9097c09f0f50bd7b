import { Client } from 'pg';
import { connect } from './infra';
import { round } from './stats';

export interface Contention {
  /** Snapshots of pg_stat_activity taken. */
  samples: number;
  /** Active backends of the database summed over all snapshots. */
  activeBackendSamples: number;
  /** Of those, the ones waiting on a lock (wait_event_type = 'Lock': rows, transaction ids, advisory locks, relations). */
  lockWaitSamples: number;
  /** lockWaitSamples / activeBackendSamples, in percent. */
  lockWaitPercent: number;
  /** Mean active backends per snapshot. */
  meanActiveBackends: number;
  /** What active backends were doing, most frequent first ("CPU" when not waiting), in percent of activeBackendSamples. */
  topWaitEvents: { event: string; percent: number }[];
  /** The statements seen waiting on a lock most often (their first 120 characters), in percent of lockWaitSamples. */
  topLockedStatements: { statement: string; percent: number }[];
}

/**
 * Samples the active backends of one database every `intervalMs` from its own connection (to the
 * admin database, so it never counts itself), for the share of them that wait on a lock.
 */
export class LockSampler {
  private client?: Client;
  private running = false;
  private loop?: Promise<void>;
  private samples = 0;
  private active = 0;
  private lockWaits = 0;
  private readonly events = new Map<string, number>();
  private readonly lockedStatements = new Map<string, number>();

  constructor(
    private readonly adminUrl: string,
    private readonly database: string,
    private readonly intervalMs = 50,
  ) {}

  async start(): Promise<void> {
    this.client = await connect(this.adminUrl);
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<Contention> {
    this.running = false;
    await this.loop;
    await this.client?.end().catch(() => undefined);
    const top = [...this.events.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
    const locked = [...this.lockedStatements.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
    return {
      samples: this.samples,
      activeBackendSamples: this.active,
      lockWaitSamples: this.lockWaits,
      lockWaitPercent: this.active > 0 ? round((100 * this.lockWaits) / this.active, 2) : 0,
      meanActiveBackends: this.samples > 0 ? round(this.active / this.samples, 2) : 0,
      topWaitEvents: top.map(([event, n]) => ({ event, percent: round((100 * n) / Math.max(1, this.active), 1) })),
      topLockedStatements: locked.map(([statement, n]) => ({ statement, percent: round((100 * n) / Math.max(1, this.lockWaits), 1) })),
    };
  }

  private async run(): Promise<void> {
    while (this.running) {
      const started = Date.now();
      const { rows } = await this.client!.query<{ wait_event_type: string | null; wait_event: string | null; statement: string }>(
        `SELECT wait_event_type, wait_event, regexp_replace(left(query, 120), '\\s+', ' ', 'g') AS statement FROM pg_stat_activity
          WHERE datname = $1 AND state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
        [this.database],
      );
      this.samples++;
      for (const row of rows) {
        this.active++;
        if (row.wait_event_type === 'Lock') {
          this.lockWaits++;
          this.lockedStatements.set(row.statement, (this.lockedStatements.get(row.statement) ?? 0) + 1);
        }
        const event = row.wait_event_type ? `${row.wait_event_type}:${row.wait_event}` : 'CPU';
        this.events.set(event, (this.events.get(event) ?? 0) + 1);
      }
      const wait = this.intervalMs - (Date.now() - started);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
