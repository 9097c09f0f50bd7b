import { Client } from 'pg';

const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Drops test databases left behind by runs that were killed before their afterAll (their names
 * carry the process id that created them; only dead processes' databases are dropped).
 */
export default async function globalSetup(): Promise<void> {
  const client = new Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'wa\\_e2e\\_%'`);
    for (const { datname } of rows) {
      const pid = Number(/^wa_e2e_(\d+)_/.exec(datname)?.[1]);
      if (pid && !alive(pid)) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => undefined);
    }
  } catch {
    // No Postgres (a unit-only run): nothing to clean.
  } finally {
    await client.end().catch(() => undefined);
  }
}
