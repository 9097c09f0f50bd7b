import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool, PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { PrometheusMetricsService } from './prometheus-metrics.service';

type ConnectCallback = (err: Error | undefined, client: PoolClient | undefined, release: (err?: Error | boolean) => void) => void;

/**
 * Counts Postgres connection failures for the alert on whatsapp_database_connection_errors_total:
 * a connection the pool could not open (server down, refused, auth, pool timeout) and an idle
 * pooled connection that broke. Query errors on a working connection are not counted.
 */
@Injectable()
export class DatabaseConnectionMonitor implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly metrics: PrometheusMetricsService,
  ) {}

  onModuleInit(): void {
    const pool = (this.dataSource.driver as unknown as { master?: Pool }).master;
    if (!pool) return;
    const counter = this.metrics.databaseConnectionErrors;
    pool.on('error', () => counter.inc({ kind: 'idle' }));
    const connect = pool.connect.bind(pool) as (cb?: ConnectCallback) => Promise<PoolClient> | void;
    // TypeORM calls connect(callback); other code may use the promise form.
    (pool as unknown as { connect: (cb?: ConnectCallback) => Promise<PoolClient> | void }).connect = (cb?: ConnectCallback) => {
      if (typeof cb === 'function') {
        return connect((err, client, release) => {
          if (err) counter.inc({ kind: 'connect' });
          cb(err, client, release);
        });
      }
      return (connect() as Promise<PoolClient>).catch((err: unknown) => {
        counter.inc({ kind: 'connect' });
        throw err;
      });
    };
  }
}
