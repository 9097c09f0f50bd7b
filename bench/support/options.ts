import { resolve } from 'node:path';

export enum Section {
  Accept = 'accept',
  Callbacks = 'callbacks',
  EndToEnd = 'e2e',
  Lookups = 'lookups',
  ScaleOut = 'scaleout',
}

export const ALL_SECTIONS: readonly Section[] = [Section.Accept, Section.Callbacks, Section.EndToEnd, Section.Lookups, Section.ScaleOut];

export interface BenchOptions {
  sections: Section[];
  /** Tiny sizes so the harness can be exercised in a few seconds (the test suite's smoke run). */
  smoke: boolean;
  /** Exit 1 when any target fails. */
  strict: boolean;
  out: string;
  keepLogs: boolean;
  /** The bench's own admin connection (CREATE/DROP DATABASE, pg_stat_activity); not the service's configuration. */
  adminUrl: string;
  redisUrl: string;
  connections: number;
  durationS: number;
  warmupS: number;
  /** Upper bound of the callback rate the callback plan is sized for; the run stops early if it is used up. */
  callbackPlanRate: number;
  e2eMessages: number;
  e2eTimeoutS: number;
  e2eWorkers: number;
  e2eMps: number;
  /** Messages of each of the scale-out section's two end-to-end runs. */
  scaleOutMessages: number;
  statusDelayMs: number;
  lookupRows: number;
  lookupRequests: number;
  metricsRequests: number;
}

const USAGE = `Usage: npm run bench -- [options]
  --only accept,callbacks,e2e,lookups,scaleout   sections to run (default: all)
  --smoke                               tiny sizes, a few seconds per section (BENCH_SMOKE=1)
  --strict                              exit 1 when a target fails
  --out <file>                          results file (default bench/results.json; BENCH_RESULTS)
  --duration <s>                        measured seconds per load run (default 10; BENCH_DURATION_S)
  --warmup <s>                          warm-up seconds before each load run (default 2)
  --connections <n>                     load connections (default 50)
  --messages <n>                        end-to-end messages (default 20000)
  --e2e-timeout <s>                     how long to wait for the last read (default 240)
  --scaleout-messages <n>               messages of each scale-out run: 1 all process, then 1 api + 1 worker (default 5000)
  --workers <n>                         WHATSAPP_WORKERS for the end-to-end run (default 10)
  --rows <n>                            messages stored for the lookups (default 1000000)
  --keep-logs                           keep the processes' logs even when everything passed
  --help`;

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got "${raw}"`);
  return value;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions {
  if (argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value`);
    return value;
  };
  const smoke = argv.includes('--smoke') || env.BENCH_SMOKE === '1';
  const only = flag('only');
  const sections = only
    ? only.split(',').map((s) => {
        const section = ALL_SECTIONS.find((known) => known === s.trim());
        if (!section) throw new Error(`--only: unknown section "${s}" (known: ${ALL_SECTIONS.join(', ')})`);
        return section;
      })
    : [...ALL_SECTIONS];
  return {
    sections,
    smoke,
    strict: argv.includes('--strict'),
    out: resolve(flag('out') ?? env.BENCH_RESULTS ?? resolve(__dirname, '..', 'results.json')),
    keepLogs: argv.includes('--keep-logs'),
    adminUrl: env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    connections: positive('connections', flag('connections'), smoke ? 10 : 50),
    durationS: positive('duration', flag('duration') ?? env.BENCH_DURATION_S, smoke ? 1 : 10),
    warmupS: flag('warmup') === '0' ? 0 : positive('warmup', flag('warmup'), smoke ? 0.5 : 2),
    callbackPlanRate: smoke ? 3000 : 6000,
    e2eMessages: Math.round(positive('messages', flag('messages'), smoke ? 100 : 20_000)),
    e2eTimeoutS: positive('e2e-timeout', flag('e2e-timeout'), smoke ? 90 : 240),
    e2eWorkers: Math.round(positive('workers', flag('workers'), 50)),
    e2eMps: 1000,
    scaleOutMessages: Math.round(positive('scaleout-messages', flag('scaleout-messages'), smoke ? 100 : 5_000)),
    statusDelayMs: 20,
    lookupRows: Math.round(positive('rows', flag('rows'), smoke ? 10_000 : 1_000_000)),
    lookupRequests: smoke ? 100 : 2000,
    metricsRequests: smoke ? 50 : 600,
  };
}
