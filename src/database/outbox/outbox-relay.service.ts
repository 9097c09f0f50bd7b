import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { ThrottledLog } from '../../common/logging/throttled-log';
import { AppConfig } from '../../config/configuration';
import { OutboxRoutes } from './outbox-routes';
import { OUTBOX_CHANNEL, OutboxSignal } from './outbox-signal';

const BATCH_SIZE = 500;
const POLL_INTERVAL_MS = 1000;
/** Longest wait between two relay attempts of a row while Redis is down. */
const MAX_RELAY_BACKOFF_S = 10;

interface OutboxRow {
  id: string;
  jobName: string;
  jobId: string;
  payload: Record<string, unknown>;
}

/**
 * Moves committed outbox rows into BullMQ. Woken after commits (this process's at once, other
 * processes' by a coalesced NOTIFY) and by a poll (delayed rows, missed notifications, rows left
 * by a crashed process). Several processes can run it: rows are claimed with SKIP LOCKED and
 * deleted only after BullMQ has the job.
 */
@Injectable()
export class OutboxRelayService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelayService.name);
  private listener?: Client;
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private again = false;
  private stopped = false;
  // One line per 10 s per cause is enough during an outage; the causes are told apart, since the
  // operator's next step differs (Redis down, Postgres down, a job no queue takes).
  private readonly redisErrors = new ThrottledLog((line) => this.logger.warn(line));
  private readonly handOffErrors = new ThrottledLog((line) => this.logger.warn(line));
  private readonly databaseErrors = new ThrottledLog((line) => this.logger.warn(line));

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly routes: OutboxRoutes,
    private readonly signal: OutboxSignal,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Without a listener BullMQ prints every reconnect failure to stderr; one throttled line is enough.
    for (const queue of this.routes.queues()) queue.on('error', (err) => this.redisErrors.log(`Redis connection of queue ${queue.name}: ${err.message}`));
    this.signal.onCommitted(() => this.kick());
    await this.listen();
    this.timer = setInterval(() => this.kick(), POLL_INTERVAL_MS);
    this.timer.unref();
    this.kick();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
    await this.listener?.end().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({ connectionString: this.config.get('database', { infer: true }).url });
    // This process's own commits already woke it (OutboxSignal); the payload is the sender's pid.
    client.on('notification', (msg) => {
      if (msg.payload !== String(process.pid)) this.kick();
    });
    client.on('error', (err: Error) => {
      this.logger.warn(`Outbox listener lost its connection (${err.message}); polling until it is back`);
      this.listener = undefined;
      setTimeout(() => void this.listen().catch(() => undefined), 2000).unref();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
      this.listener = client;
    } catch (err) {
      await client.end().catch(() => undefined);
      this.logger.warn(`Outbox listener could not connect (${(err as Error).message}); polling only`);
      setTimeout(() => void this.listen().catch(() => undefined), 5000).unref();
    }
  }

  /** Runs a drain now, or once more right after the one in progress. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      // Reading, updating or deleting outbox rows failed: the database, not Redis (hand-off
      // failures are caught and logged in relayBatch).
      .catch((err: Error) => this.databaseErrors.log(`Outbox relay cannot read or update the outbox in Postgres: ${err.message}`))
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Relays everything that is due; returns how many jobs were handed to BullMQ. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const moved = await this.relayBatch();
      total += moved;
      if (moved < BATCH_SIZE || this.stopped) return total;
    }
  }

  private async relayBatch(): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      const rows: OutboxRow[] = await manager.query(
        `SELECT id, "jobName", "jobId", payload FROM outbox
          WHERE "availableAt" <= now() ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [BATCH_SIZE],
      );
      if (rows.length === 0) return 0;
      try {
        const byName = new Map<string, OutboxRow[]>();
        for (const r of rows) byName.set(r.jobName, [...(byName.get(r.jobName) ?? []), r]);
        for (const [jobName, list] of byName) {
          const route = this.routes.routeFor(jobName);
          // A deployment mistake (a job written by a newer version?): kept, retried, and logged.
          if (!route) throw new Error(`No queue is registered for outbox job ${jobName}`);
          const delays = route.delays ? await route.delays(list.map((r) => r.payload)) : [];
          await route.queue.addBulk(
            list.map((r, i) => ({ name: r.jobName, data: r.payload, opts: { ...route.options, jobId: r.jobId, ...(delays[i] > 0 ? { delay: delays[i] } : {}) } })),
          );
        }
      } catch (err) {
        // Redis unreachable (or no queue for the job): keep the rows, try again later with a growing pause.
        await manager.query(
          `UPDATE outbox SET "relayAttempts" = "relayAttempts" + 1, "lastError" = $2,
             "availableAt" = now() + make_interval(secs => LEAST($3, power(2, LEAST("relayAttempts", 5)))::int)
           WHERE id = ANY($1::bigint[])`,
          [rows.map((r) => r.id), (err as Error).message.slice(0, 500), MAX_RELAY_BACKOFF_S],
        );
        this.handOffErrors.log(`Outbox relay could not hand ${rows.length} job(s) to the queue, kept in the outbox: ${(err as Error).message}`);
        return 0;
      }
      await manager.query('DELETE FROM outbox WHERE id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
      return rows.length;
    });
  }
}
