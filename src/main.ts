import 'reflect-metadata';
import { AppConfig, configurationFromProcess, loadDotEnv, servesApi } from './config/configuration';
import { ConfigError } from './config/env.validation';
import { createApp, shutdownApp } from './app.factory';
import { limitHeapGrowth } from './common/runtime/heap-growth';
import { ROOT_LOGGER } from './common/logging/logging.module';
import type { RootLogger } from './common/logging/root-logger';
import { AdminBootstrapService } from './modules/auth/admin-bootstrap.service';
import { startBanner, workerBanner } from './start-banner';
import { TWILIO_SANDBOX } from './modules/twilio/twilio.module';
import type { TwilioSandbox } from '../libs/twilio-sandbox/twilio-sandbox';

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
  limitHeapGrowth(config.app.heapGrowthPercent);
  const app = await createApp(config);
  await app.listen({ port: config.app.port, host: config.app.host });
  const url = `http://localhost:${config.app.port}`;
  if (servesApi(config.app.role)) {
    const sandbox = app.get<TwilioSandbox | null>(TWILIO_SANDBOX);
    process.stdout.write(startBanner(config, url, app.get(AdminBootstrapService).createdAdmin, sandbox?.baseUrl));
  } else {
    process.stdout.write(workerBanner(config, url));
  }

  const logs = app.get<RootLogger>(ROOT_LOGGER);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      shutdownApp(app, config).then(
        () => {
          logs.flush();
          process.exit(0);
        },
        (err: unknown) => {
          logs.flush();
          process.stderr.write(`Shutdown did not complete cleanly: ${err instanceof Error ? err.message : String(err)}\n`);
          process.exit(1);
        },
      );
    });
  }
}

bootstrap().catch((err: unknown) => {
  process.stderr.write(`Failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
