import Redis from 'ioredis';
import { configurationFromProcess, loadDotEnv } from '../src/config/configuration';
import { ConfigError } from '../src/config/env.validation';
import { QueueName } from '../src/modules/queue/queue.types';

/**
 * Where BullMQ 6 keeps each job state and which Redis command counts it: `wait`, `active` and
 * `paused` are lists; the other states are sorted sets (BullMQ's own getCounts script reads them
 * the same way). The runbook quotes these exact commands.
 */
export const QUEUE_STATE_KEYS = [
  { state: 'wait', command: 'LLEN', meaning: 'jobs waiting for a worker' },
  { state: 'active', command: 'LLEN', meaning: 'jobs being sent right now' },
  { state: 'paused', command: 'LLEN', meaning: 'jobs held while the queue is paused' },
  { state: 'prioritized', command: 'ZCARD', meaning: 'waiting jobs with a priority' },
  { state: 'delayed', command: 'ZCARD', meaning: 'retries waiting for their backoff' },
  { state: 'waiting-children', command: 'ZCARD', meaning: 'jobs waiting for child jobs' },
  { state: 'completed', command: 'ZCARD', meaning: 'jobs kept after success' },
  { state: 'failed', command: 'ZCARD', meaning: 'jobs that gave up (the message row says why)' },
] as const;

export interface QueueStateCount {
  state: string;
  key: string;
  /** The redis-cli command that gives the same number. */
  command: string;
  count: number;
  meaning: string;
}

export async function queueStats(redis: Redis, prefix: string, queue: string = QueueName.WhatsApp): Promise<QueueStateCount[]> {
  const pipeline = redis.pipeline();
  const rows = QUEUE_STATE_KEYS.map(({ state, command, meaning }) => {
    const key = `${prefix}:${queue}:${state}`;
    if (command === 'LLEN') pipeline.llen(key);
    else pipeline.zcard(key);
    return { state, key, command: `${command} ${key}`, meaning };
  });
  const results = (await pipeline.exec()) ?? [];
  return rows.map((row, i) => {
    const [err, count] = results[i] ?? [new Error('no reply'), 0];
    if (err) throw new Error(`${row.command} failed: ${err.message}`);
    return { ...row, count: Number(count) };
  });
}

export function formatStats(queue: string, prefix: string, rows: QueueStateCount[]): string {
  const header = ['STATE', 'COUNT', 'REDIS COMMAND', ''];
  const cells = rows.map((r) => [r.state, String(r.count), `redis-cli ${r.command}`, r.meaning]);
  const widths = [0, 1, 2].map((i) => Math.max(header[i].length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i < 3 ? v.padEnd(widths[i]) : v)).join('  ').trimEnd();
  return [`Queue ${queue} (key prefix ${prefix})`, line(header), ...cells.map(line), ''].join('\n');
}

async function main(): Promise<number> {
  loadDotEnv();
  const { url, prefix } = configurationFromProcess().redis;
  const json = process.argv.includes('--json');
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5000, retryStrategy: () => null });
  try {
    await redis.connect();
    const rows = await queueStats(redis, prefix);
    process.stdout.write(json ? `${JSON.stringify({ queue: QueueName.WhatsApp, prefix, states: rows })}\n` : formatStats(QueueName.WhatsApp, prefix, rows));
    return 0;
  } finally {
    redis.disconnect();
  }
}

if (require.main === module) {
  main()
    .then((code) => (process.exitCode = code))
    .catch((err: Error) => {
      process.stderr.write(`${err instanceof ConfigError ? err.message : `Could not read the queue: ${err.message}`}\n`);
      process.exit(1);
    });
}
