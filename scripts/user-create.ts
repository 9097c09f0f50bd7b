import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { configurationFromProcess, loadDotEnv } from '../src/config/configuration';
import { ConfigError } from '../src/config/env.validation';
import { runMigrationsLocked } from '../src/database/database.module';
import { typeOrmOptions } from '../src/database/typeorm-options';
import { User, UserRole } from '../src/modules/auth/entities/user.entity';
import { UserAlreadyExistsError, UsersService } from '../src/modules/auth/users.service';

const USAGE = 'Usage: npm run user:create -- --email user@example.com --role admin|sender [--password <at least 12 characters>]';

/** Creates an API user. Without --password a strong one is generated and printed once. */
async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { email: { type: 'string' }, role: { type: 'string', default: UserRole.Sender }, password: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const email = values.email?.trim();
  const role = values.role as UserRole;
  if (!email || !/^[^@\s]+@[^@\s]+$/.test(email)) return fail(`--email must be an email address\n${USAGE}`);
  if (!Object.values(UserRole).includes(role)) return fail(`--role must be one of ${Object.values(UserRole).join(', ')}\n${USAGE}`);
  if (values.password !== undefined && values.password.length < 12) return fail(`--password must be at least 12 characters\n${USAGE}`);

  loadDotEnv();
  const dataSource = await new DataSource(typeOrmOptions(configurationFromProcess().database)).initialize();
  try {
    await runMigrationsLocked(dataSource);
    const users = new UsersService(dataSource.getRepository(User));
    const { user, generatedPassword } = await users.create(email, role, values.password);
    process.stdout.write(`Created ${user.role} ${user.email} (${user.id})\n`);
    if (generatedPassword) process.stdout.write(`Password: ${generatedPassword}\n(shown once; store it now)\n`);
    return 0;
  } catch (err) {
    if (err instanceof UserAlreadyExistsError) return fail(err.message);
    throw err;
  } finally {
    await dataSource.destroy();
  }
}

function fail(message: string): number {
  process.stderr.write(`${message}\n`);
  return 2;
}

main()
  .then((code) => process.exit(code))
  .catch((err: Error) => {
    process.stderr.write(`${err instanceof ConfigError ? err.message : `user:create failed: ${err.message}`}\n`);
    process.exit(1);
  });
