import 'reflect-metadata';
import { AppConfig, configurationFromProcess, loadDotEnv } from './config/configuration';
import { ConfigError } from './config/env.validation';
import { createApp } from './app.factory';
import { AdminBootstrapService } from './modules/auth/admin-bootstrap.service';
import { startBanner } from './start-banner';

function loadConfigOrExit(): AppConfig {
  try {
    loadDotEnv();
    return configurationFromProcess();
  } catch (err) {
    if (err instanceof ConfigError) {
      // One line naming the variable, and no stack: this is an operator's mistake, not a bug.
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit();
  const app = await createApp(config);
  await app.listen({ port: config.app.port, host: config.app.host });
  const url = `http://localhost:${config.app.port}`;
  process.stdout.write(startBanner(config, url, app.get(AdminBootstrapService).createdAdmin));
}

bootstrap().catch((err: unknown) => {
  process.stderr.write(`Failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
