import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { OutboxEntry } from './outbox-entry.entity';
import { OutboxSignal } from './outbox-signal';

export interface OutboxJob {
  queue: string;
  jobName: string;
  jobId: string;
  payload: Record<string, unknown>;
  /** Not relayed before this time (default: now). */
  availableAt?: Date;
}

/** An outbox INSERT to run inside another statement: its SQL, its parameters, and the jobs it writes. */
export interface OutboxInsert {
  sql: string;
  params: unknown[];
  jobs: OutboxJob[];
}

/**
 * Writes jobs in the caller's transaction. They reach BullMQ only if that transaction commits,
 * and they reach it even when Redis is down at that moment (the relay keeps trying).
 */
@Injectable()
export class OutboxWriter {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly signal: OutboxSignal,
  ) {}

  async add(manager: EntityManager, jobs: OutboxJob[]): Promise<void> {
    if (jobs.length === 0) return;
    const { sql, params } = this.insertStatement(jobs);
    await manager.query(sql, params);
    // The relays are woken once the caller's transaction commits.
    this.signal.written(manager.queryRunner);
  }

  /**
   * The INSERT of `jobs`, its parameters numbered from `firstParam`, for a caller that writes them
   * in one statement with its own rows (then it calls written() once that statement succeeded).
   * One parameter however many jobs: a 1,000-message bulk send costs ~10 ms here instead of
   * ~85 ms through the query builder.
   */
  insertStatement(jobs: OutboxJob[], firstParam = 1): OutboxInsert {
    return {
      sql: `INSERT INTO outbox (queue, "jobName", "jobId", payload, "availableAt")
            SELECT queue, "jobName", "jobId", payload, COALESCE("availableAt", now())
              FROM jsonb_to_recordset($${firstParam}::jsonb) AS j(queue text, "jobName" text, "jobId" text, payload jsonb, "availableAt" timestamptz)`,
      params: [JSON.stringify(jobs)],
      jobs,
    };
  }

  /** Wakes the relays for jobs an insertStatement() wrote in a statement of its own (no transaction). */
  written(): void {
    this.signal.written(undefined);
  }

  /** Drops a job that is no longer needed (not yet relayed); in `tx` when given. */
  async cancel(tx: EntityManager | undefined, jobId: string): Promise<void> {
    await (tx ?? this.dataSource.manager).delete(OutboxEntry, { jobId });
  }

  /** Makes a delayed job due now and wakes the relays; in `tx` when given. */
  async releaseNow(tx: EntityManager | undefined, jobId: string): Promise<void> {
    const db = tx ?? this.dataSource.manager;
    await db.update(OutboxEntry, { jobId }, { availableAt: () => 'now()' });
    this.signal.written(tx?.queryRunner);
  }
}
