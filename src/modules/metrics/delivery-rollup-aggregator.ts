import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** Journal rows folded per statement: large enough to amortise, small enough to keep the lock short. */
const BATCH = 20_000;
/** A read folds at most this much before answering, so a backlog cannot stall the metrics API. */
const READ_FOLD_LIMIT = 5;

/**
 * Folds the rollup journal (see the RollupJournal migration) into the delivery rollups: about once
 * a second in the processes that run jobs (DeliveryRollupSchedule), and before a metrics read.
 * Every process may fold: the fold takes an advisory lock, and one that finds it taken skips that
 * turn (or, for a read, waits).
 */
@Injectable()
export class DeliveryRollupAggregator {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Folds pending journal rows, at most `maxBatches` batches; returns how many rows it folded.
   * With `wait` it waits for a fold in progress elsewhere, then folds what is left (a metrics
   * read does this, so it sees every committed write unless a large backlog is pending).
   */
  async fold(opts: { wait: boolean; maxBatches?: number }): Promise<number> {
    let total = 0;
    for (let i = 0; i < (opts.maxBatches ?? Number.POSITIVE_INFINITY); i++) {
      const [{ n }] = await this.dataSource.query<{ n: number }[]>('SELECT delivery_rollup_fold_journal($1, $2) AS n', [BATCH, opts.wait]);
      if (n <= 0) return total;
      total += n;
      if (n < BATCH) return total;
    }
    return total;
  }

  /** Before a read: what has been committed so far, within READ_FOLD_LIMIT batches. */
  foldForRead(): Promise<number> {
    return this.fold({ wait: true, maxBatches: READ_FOLD_LIMIT });
  }
}
