import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** How many jobs wait in the outbox: readable by every process, whether or not it runs the relay. */
@Injectable()
export class OutboxBacklog {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Jobs due but not yet in BullMQ (delayed retries, such as a 30003's later attempt, are not backlog). */
  async count(): Promise<number> {
    const [{ count }] = await this.dataSource.query('SELECT count(*)::int AS count FROM outbox WHERE "availableAt" <= now()');
    return count;
  }
}
