import { DataSource } from 'typeorm';
import { runMigrationsLocked } from '../src/database/database.module';
import { MIGRATIONS } from '../src/database/migrations';
import { typeOrmOptions } from '../src/database/typeorm-options';
import { createTestDatabase } from './support/test-app';

describe('migrations (e2e)', () => {
  it('apply on an empty database, match the entities, revert completely and apply again', async () => {
    const db = await createTestDatabase();
    const ds = await new DataSource(typeOrmOptions({ url: db.url, poolMin: 0, poolMax: 2, migrationsRun: false })).initialize();
    try {
      expect(await runMigrationsLocked(ds)).toBe(MIGRATIONS.length);
      expect(await runMigrationsLocked(ds)).toBe(0);
      // The schema the migrations build is the one the entities describe (no pending diff).
      const diff = await ds.driver.createSchemaBuilder().log();
      expect(diff.upQueries.map((q) => q.query)).toEqual([]);

      for (let i = 0; i < MIGRATIONS.length; i++) await ds.undoLastMigration({ transaction: 'all' });
      const tables = await ds.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN ('migrations', 'typeorm_metadata') ORDER BY 1`);
      expect(tables).toEqual([]);
      expect(await ds.query(`SELECT * FROM typeorm_metadata`)).toEqual([]);

      expect(await runMigrationsLocked(ds)).toBe(MIGRATIONS.length);
    } finally {
      await ds.destroy();
      await db.drop();
    }
  });
});
