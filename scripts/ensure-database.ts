import { Client } from 'pg';
import { configurationFromProcess, loadDotEnv } from '../src/config/configuration';
import { ConfigError } from '../src/config/env.validation';

/**
 * Creates the database named in DATABASE_URL when it does not exist yet, so a fresh machine
 * goes from `npm start` to a running service. The service itself then applies the migrations.
 */
async function main(): Promise<void> {
  loadDotEnv();
  const { url } = configurationFromProcess().database;
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) throw new ConfigError('Invalid configuration: DATABASE_URL must name a database');
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      process.stdout.write(`Created database ${name}\n`);
    }
  } finally {
    await client.end();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err instanceof ConfigError ? err.message : `Could not prepare the database: ${err.message}`}\n`);
  process.exit(1);
});
