import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { PHONE_PAGE_PATH } from './phone-page.routes';
import { DEFAULT_STATUS_DELAY_MS, TwilioSandbox } from './twilio-sandbox';

export const CLI_DEFAULTS = {
  accountSid: 'AC00000000000000000000000000000000',
  authToken: 'sandbox-auth-token-0000000000000',
  host: '127.0.0.1',
  port: 4010,
  heapGrowthPercent: 100,
} as const;

const USAGE = `Usage: sandbox.cli [options]
  --port <n>                  port to listen on (default ${CLI_DEFAULTS.port}; 0 = any free port)
  --host <host>               interface to bind (default ${CLI_DEFAULTS.host})
  --account-sid <AC...>       account SID clients authenticate as (default ${CLI_DEFAULTS.accountSid})
  --auth-token <token>        auth token: Basic auth password and webhook signing key
  --api-key <SK...:secret>    an API key also accepted for Basic auth (repeatable)
  --status-delay-ms <n>       delay between status stages (default ${DEFAULT_STATUS_DELAY_MS})
  --inbound-webhook-url <url> where inbound messages are posted
  --heap-growth-percent <n>   how far the heap may grow past what the last full collection kept
                              (default ${CLI_DEFAULTS.heapGrowthPercent}; 0 = V8 decides, up to 4x on a large machine)
  --help`;

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function parseInteger(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) {
    return fallback;
  }
  if (!/^\d+$/.test(raw)) {
    fail(`--${name} must be a non-negative integer, got "${raw}"`);
  }
  return Number(raw);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'account-sid': { type: 'string' },
      'auth-token': { type: 'string' },
      'api-key': { type: 'string', multiple: true },
      'status-delay-ms': { type: 'string' },
      'inbound-webhook-url': { type: 'string' },
      'heap-growth-percent': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  // The sandbox keeps every message it was sent; under a long run V8 would otherwise let garbage
  // pile up to several times that before collecting (the service does the same: HEAP_GROWTH_PERCENT).
  const heapGrowthPercent = parseInteger('heap-growth-percent', values['heap-growth-percent'], CLI_DEFAULTS.heapGrowthPercent);
  if (heapGrowthPercent > 0) {
    setFlagsFromString(`--heap-growing-percent=${heapGrowthPercent}`);
  }
  const apiKeys = (values['api-key'] ?? []).map((pair) => {
    const separator = pair.indexOf(':');
    if (separator <= 0) {
      fail(`--api-key must be SK...:secret, got "${pair}"`);
    }
    return { sid: pair.slice(0, separator), secret: pair.slice(separator + 1) };
  });

  const sandbox = new TwilioSandbox({
    accountSid: values['account-sid'] ?? CLI_DEFAULTS.accountSid,
    authToken: values['auth-token'] ?? CLI_DEFAULTS.authToken,
    apiKeys,
    host: values.host ?? CLI_DEFAULTS.host,
    port: parseInteger('port', values.port, CLI_DEFAULTS.port),
    statusDelayMs: parseInteger('status-delay-ms', values['status-delay-ms'], DEFAULT_STATUS_DELAY_MS),
    inboundWebhookUrl: values['inbound-webhook-url'],
  });
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) {
      return;
    }
    stopping = true;
    console.error(`[twilio-sandbox] ${signal}: stopping`);
    sandbox.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`[twilio-sandbox] stop failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  // Installed before the URL is printed: whoever reads the URL may signal at once.
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);

  const baseUrl = await sandbox.start();
  console.log(baseUrl);
  // stdout stays the bare URL for scripts that read it.
  console.error(`[twilio-sandbox] phone page: ${baseUrl}${PHONE_PAGE_PATH}`);
}

// Only when run as a program: importing CLI_DEFAULTS must not start a server.
if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`[twilio-sandbox] ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
