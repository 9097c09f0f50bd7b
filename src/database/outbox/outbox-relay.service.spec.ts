import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/configuration';
import { OutboxRelayService } from './outbox-relay.service';
import { OutboxRoutes } from './outbox-routes';
import { OutboxSignal } from './outbox-signal';

/** Lets the drain started by kick() settle. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

function relayOn(dataSource: Partial<DataSource>, routes: Partial<OutboxRoutes> = { routeFor: () => undefined, queues: () => [] }): OutboxRelayService {
  return new OutboxRelayService(dataSource as DataSource, routes as OutboxRoutes, {} as OutboxSignal, {} as ConfigService<AppConfig, true>);
}

describe('OutboxRelayService logs', () => {
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  it('blames Postgres, not Redis, when the outbox itself cannot be read', async () => {
    const relay = relayOn({ transaction: jest.fn().mockRejectedValue(new Error('connect ECONNREFUSED 127.0.0.1:5432')) as never });
    relay.kick();
    await settle();
    expect(warn).toHaveBeenCalledTimes(1);
    const line = String(warn.mock.calls[0][0]);
    expect(line).toContain('Postgres');
    expect(line).toContain('ECONNREFUSED 127.0.0.1:5432');
    expect(line).not.toMatch(/redis/i);
  });

  it('says the jobs stay in the outbox, with Redis\'s own error, when the hand-off fails', async () => {
    const queries: string[] = [];
    const manager = {
      query: jest.fn(async (sql: string) => {
        queries.push(sql);
        return sql.startsWith('SELECT') ? [{ id: '1', jobName: 'send-message', jobId: 'send-1', payload: {} }] : [];
      }),
    };
    const queue = { addBulk: jest.fn().mockRejectedValue(new Error("Stream isn't writeable and enableOfflineQueue options is false")) };
    const relay = relayOn(
      { transaction: (async (fn: (m: typeof manager) => Promise<unknown>) => fn(manager)) as never },
      { routeFor: () => ({ queue, options: {} }) as never, queues: () => [] },
    );
    relay.kick();
    await settle();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/could not hand 1 job\(s\) to the queue, kept in the outbox: Stream isn't writeable/);
    expect(queries.some((q) => q.startsWith('UPDATE outbox'))).toBe(true);
    expect(queries.some((q) => q.startsWith('DELETE'))).toBe(false);
  });
});
