import { DataSourceOptions } from 'typeorm';
import { DatabaseSettings } from '../config/configuration';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

export const MIGRATIONS_TABLE = 'migrations';

export function typeOrmOptions(db: DatabaseSettings): DataSourceOptions {
  return {
    type: 'postgres',
    url: db.url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: MIGRATIONS_TABLE,
    // Schema changes only ever come from reviewed migrations.
    synchronize: false,
    // gen_random_uuid() is built into Postgres 13+, so no extension (and no superuser) is needed.
    uuidExtension: 'pgcrypto',
    installExtensions: false,
    migrationsRun: false,
    extra: {
      min: db.poolMin,
      max: db.poolMax,
      // Fail fast instead of hanging a request when the pool or the server is stuck.
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30000,
      application_name: 'whatsapp-service',
    },
  };
}
