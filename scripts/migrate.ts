import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { configurationFromProcess, loadDotEnv } from '../src/config/configuration';
import { ConfigError } from '../src/config/env.validation';
import { runMigrationsLocked } from '../src/database/database.module';
import { MIGRATIONS } from '../src/database/migrations';
import { typeOrmOptions } from '../src/database/typeorm-options';

/**
 * Applies pending migrations from the built code (`npm run migration:run:prod`), where the
 * TypeORM CLI's TypeScript loader (a dev dependency) is not installed. Takes the same lock as a
 * starting instance, so it is safe to run while instances start.
 */
async function main(): Promise<void> {
  loadDotEnv();
  const dataSource = await new DataSource(typeOrmOptions(configurationFromProcess().database)).initialize();
  try {
    const applied = await runMigrationsLocked(dataSource);
    process.stdout.write(applied === 0 ? `Database is up to date (${MIGRATIONS.length} migrations)\n` : `Applied ${applied} migration(s); ${MIGRATIONS.length} in all\n`);
  } finally {
    await dataSource.destroy();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err instanceof ConfigError ? err.message : `Migrations failed: ${err.message}`}\n`);
  process.exit(1);
});
