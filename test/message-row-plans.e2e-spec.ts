import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, Logger as TypeOrmLogger } from 'typeorm';
import { runMigrationsLocked } from '../src/database/database.module';
import { typeOrmOptions } from '../src/database/typeorm-options';
import { WhatsAppMessageRepository } from '../src/modules/whatsapp/messages/whatsapp-message.repository';
import { createTestDatabase } from './support/test-app';

class QuietLogger extends Logger {
  override log(): void {}
}

/** Every statement the data source runs, with its parameters. */
class StatementLog implements TypeOrmLogger {
  readonly statements: { sql: string; params: unknown[] }[] = [];
  logQuery(sql: string, params?: unknown[]): void {
    this.statements.push({ sql, params: params ?? [] });
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

const BACKLOG = 20_000;

/**
 * The statements on one message find it by its address, whatever the planner believes about the
 * table: here a campaign of 20,000 queued messages arrived after the last ANALYZE (autovacuum off,
 * as it is for the minutes before it gets to a busy table). With the status predicate matched to
 * the (status, createdAt) index, such a claim walked the whole backlog: every claim cost O(backlog).
 */
describe('statements on one message under stale statistics', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let source: DataSource;
  const log = new StatementLog();

  beforeAll(async () => {
    db = await createTestDatabase();
    source = await new DataSource({ ...typeOrmOptions({ url: db.url, poolMin: 0, poolMax: 2, migrationsRun: false }), logging: ['query'], logger: log }).initialize();
    await runMigrationsLocked(source, new QuietLogger());
    await source.query(`ALTER TABLE "WhatsAppMessage" SET (autovacuum_enabled = false)`);
    const insert = (count: number, status: string, sid: boolean) =>
      source.query(
        `INSERT INTO "WhatsAppMessage" (id, direction, "from", "to", body, status, "messageSid", "queuedAt")
         SELECT gen_random_uuid(), 'outbound', 'whatsapp:+14155238886', 'whatsapp:+1415555' || lpad((i % 10000)::text, 4, '0'), 'x', $2::varchar,
                CASE WHEN $3::boolean THEN 'SM' || md5(i::text || $2::text) END, now()
           FROM generate_series(1, $1::int) i`,
        [count, status, sid],
      );
    await insert(3_000, 'read', true);
    await source.query(`ANALYZE "WhatsAppMessage"`);
    await insert(BACKLOG, 'queued', false);
  }, 120_000);

  afterAll(async () => {
    await source?.destroy();
    await db?.drop();
  });

  it('claims, renews, returns, fails and re-queues a message of the backlog through its address, never through the status index', async () => {
    const repo = new WhatsAppMessageRepository(source);
    const [{ id }] = await source.query(`SELECT id FROM "WhatsAppMessage" WHERE status = 'queued' ORDER BY id OFFSET 5000 LIMIT 1`);
    const [{ id: other }] = await source.query(`SELECT id FROM "WhatsAppMessage" WHERE status = 'queued' ORDER BY id OFFSET 9000 LIMIT 1`);
    log.statements.length = 0;

    const claim = await repo.claim(id, 30_000);
    expect(claim?.message.attempts).toBe(1);
    expect(await repo.renewLease(id, 1, 30_000)).toBe(true);
    await repo.returnClaim(id, 1, null);
    expect(await repo.recordFailure(id, { errorCode: 30001, errorMessage: 'Queue overflow', ambiguousSince: null, busyUntil: null, failedAt: null })).toBe(true);
    expect(await repo.transaction((tx) => repo.takeForRequeue(tx, other, 0, new Date(Date.now() + 60_000), false))).toBe(true);
    expect(await repo.failUnanswered(other, 0, 'gave up', new Date())).toBe(true);

    const statements = log.statements.filter((s) => /^\s*(WITH|UPDATE)\b/.test(s.sql) && s.sql.includes('"WhatsAppMessage"'));
    expect(statements).toHaveLength(6);
    for (const { sql, params } of statements) {
      const [{ 'QUERY PLAN': [{ Plan: plan }] }] = await source.query(`EXPLAIN (FORMAT JSON) ${sql}`, params);
      const scans = nodes(plan as PlanNode).filter((n) => n['Relation Name'] === 'WhatsAppMessage');
      expect({ sql, indexes: scans.map((n) => n['Index Name']).filter(Boolean) }).toEqual({ sql, indexes: ['PK_9c64fa8d43e45afbc4f3c82428b'] });
      expect(scans.map((n) => n['Node Type'])).toContain('Tid Scan');
    }
  });

  it('finds nothing for an id that does not exist', async () => {
    const repo = new WhatsAppMessageRepository(source);
    expect(await repo.claim(randomUUID(), 30_000)).toBeNull();
    expect(await repo.renewLease(randomUUID(), 1, 30_000)).toBe(false);
  });
});
