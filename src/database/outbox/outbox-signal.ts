import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntitySubscriberInterface, QueryRunner, TransactionCommitEvent, TransactionRollbackEvent } from 'typeorm';

export const OUTBOX_CHANNEL = 'outbox';

/** Other processes hear of new outbox rows at most this often (they also poll every second). */
const NOTIFY_INTERVAL_MS = 50;

/**
 * Wakes the outbox relays when a transaction that wrote outbox rows commits, without a NOTIFY
 * inside that transaction (Postgres serialises every committing NOTIFY on one global lock): the
 * relay of this process is woken at once, other processes by one NOTIFY sent after the commit,
 * coalesced over NOTIFY_INTERVAL_MS however many transactions committed meanwhile.
 */
@Injectable()
export class OutboxSignal implements EntitySubscriberInterface, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(OutboxSignal.name);
  private readonly pending = new WeakSet<QueryRunner>();
  private readonly listeners = new Set<() => void>();
  private notifyTimer?: NodeJS.Timeout;
  private notifyAgain = false;
  private stopped = false;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  onModuleInit(): void {
    this.dataSource.subscribers.push(this);
  }

  onModuleDestroy(): void {
    this.stopped = true;
    if (this.notifyTimer) clearTimeout(this.notifyTimer);
    const i = this.dataSource.subscribers.indexOf(this);
    if (i >= 0) this.dataSource.subscribers.splice(i, 1);
  }

  /** Called when rows were written with `runner` (in its transaction, or on their own when null). */
  written(runner: QueryRunner | undefined): void {
    if (runner?.isTransactionActive) this.pending.add(runner);
    else this.committed();
  }

  onCommitted(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  afterTransactionCommit(event: TransactionCommitEvent): void {
    // A released savepoint is not a commit: wait for the outermost one.
    if (event.queryRunner.isTransactionActive || !this.pending.has(event.queryRunner)) return;
    this.pending.delete(event.queryRunner);
    this.committed();
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    if (!event.queryRunner.isTransactionActive) this.pending.delete(event.queryRunner);
  }

  private committed(): void {
    for (const listener of this.listeners) listener();
    this.notifyOthers();
  }

  private notifyOthers(): void {
    if (this.stopped) return;
    if (this.notifyTimer) {
      this.notifyAgain = true;
      return;
    }
    this.dataSource.query('SELECT pg_notify($1, $2)', [OUTBOX_CHANNEL, String(process.pid)]).catch((err: Error) => this.logger.debug(`NOTIFY failed: ${err.message}`));
    this.notifyTimer = setTimeout(() => {
      this.notifyTimer = undefined;
      if (this.notifyAgain) {
        this.notifyAgain = false;
        this.notifyOthers();
      }
    }, NOTIFY_INTERVAL_MS);
    this.notifyTimer.unref();
  }
}
