import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { Queue, Worker } from 'bullmq';
import Redis from 'ioredis';
import { buildConfiguration } from '../src/config/configuration';
import { QueueName } from '../src/modules/queue/queue.types';
import { deleteRedisPrefix, TEST_REDIS_URL, uniqueName, waitFor } from './support/test-app';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..');

describe('npm run queue:stats and the runbook Redis commands (e2e)', () => {
  const prefix = uniqueName('bull-stats');
  let queue: Queue;
  let redis: Redis;

  beforeAll(async () => {
    queue = new Queue(QueueName.WhatsApp, { connection: { url: TEST_REDIS_URL }, prefix });
    redis = new Redis(TEST_REDIS_URL);
    // One job that failed for good, then two waiting and one delayed (no worker left to take them).
    await queue.add('send', { n: 0 }, { jobId: 'send-failed', attempts: 1 });
    const worker = new Worker(QueueName.WhatsApp, async () => Promise.reject(new Error('Twilio said no')), { connection: { url: TEST_REDIS_URL, maxRetriesPerRequest: null }, prefix });
    await waitFor(async () => (await queue.getJobCounts('failed')).failed === 1, 'the job to fail');
    await worker.close();
    await queue.add('send', { n: 1 }, { jobId: 'send-1' });
    await queue.add('send', { n: 2 }, { jobId: 'send-2' });
    await queue.add('send', { n: 3 }, { jobId: 'send-3', delay: 3_600_000 });
  });
  const queueStats = (...args: string[]) =>
    run(process.execPath, [require.resolve('ts-node/dist/bin.js'), '--transpile-only', 'scripts/queue-stats.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix },
    });
  afterAll(async () => {
    await queue?.close();
    redis?.disconnect();
    await deleteRedisPrefix(TEST_REDIS_URL, prefix);
  });

  it('the default key prefix is bull, so the keys are bull:whatsapp:<state>', () => {
    expect(buildConfiguration({ NODE_ENV: 'test' }).redis.prefix).toBe('bull');
  });

  it('prints every state with the redis-cli command that gives the same count, matching BullMQ', async () => {
    const { stdout } = await queueStats();
    const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'failed', 'completed', 'prioritized');
    expect(counts).toMatchObject({ wait: 2, active: 0, delayed: 1, failed: 1 });
    for (const [state, command] of [['wait', 'LLEN'], ['active', 'LLEN'], ['delayed', 'ZCARD'], ['failed', 'ZCARD'], ['completed', 'ZCARD'], ['prioritized', 'ZCARD']]) {
      expect(stdout).toMatch(new RegExp(`^${state} +${counts[state]} +redis-cli ${command} ${prefix}:whatsapp:${state}\\b`, 'm'));
    }
  });

  it('the commands the runbook gives work on these keys: lists for wait and active, sorted sets for the rest', async () => {
    const key = (state: string) => `${prefix}:whatsapp:${state}`;
    expect(await redis.type(key('wait'))).toBe('list');
    expect(await redis.type(key('delayed'))).toBe('zset');
    expect(await redis.type(key('failed'))).toBe('zset');
    expect(await redis.llen(key('wait'))).toBe(2);
    expect(await redis.zcard(key('delayed'))).toBe(1);
    expect(await redis.zrange(key('failed'), 0, 9)).toEqual(['send-failed']);
    expect(await redis.hget(key('send-failed'), 'failedReason')).toBe('Twilio said no');
  });

  it('answers --json for scripts', async () => {
    const { stdout } = await queueStats('--json');
    const body = JSON.parse(stdout) as { states: { state: string; count: number }[] };
    expect(Object.fromEntries(body.states.map((s) => [s.state, s.count]))).toMatchObject({ wait: 2, delayed: 1, failed: 1, active: 0 });
  });
});
