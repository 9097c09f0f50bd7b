import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { freePort, startTestApp, TestApp } from './test-app';

export interface TestRedisOptions {
  /**
   * Keep the data across a kill -9 (an append-only file synced on every write), as a Redis with
   * persistence does; without it a restarted server starts empty.
   */
  persistent?: boolean;
}

/** A private redis-server for tests that stop and restart Redis (the shared one is left alone). */
export class TestRedisServer {
  private child?: ChildProcess;
  private dir?: string;

  constructor(
    readonly port: number,
    private readonly options: TestRedisOptions = {},
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const persistence = this.options.persistent
      ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', (this.dir ??= mkdtempSync(join(tmpdir(), 'test-redis-')))]
      : ['--appendonly', 'no'];
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', ...persistence], {
      stdio: 'ignore',
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      try {
        await probe.connect();
        if ((await probe.ping()) === 'PONG') return;
      } catch {
        if (Date.now() > deadline) throw new Error(`redis-server on ${this.port} did not start`);
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        probe.disconnect();
      }
    }
  }

  /** Kills the server the hard way, like a crash or a network cut. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** Runs one command on a connection of its own (FLUSHALL, a key count). */
  async command(name: string, ...args: (string | number)[]): Promise<unknown> {
    const client = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await client.connect();
      return await client.call(name, ...args);
    } finally {
      client.disconnect();
    }
  }

  /** Stops the server and removes its files. */
  async destroy(): Promise<void> {
    await this.stop();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A test app on its own redis-server, for tests that stop and restart Redis under the service. */
export async function startTestAppWithPrivateRedis(env: Record<string, string> = {}): Promise<{ redis: TestRedisServer; t: TestApp }> {
  const redis = new TestRedisServer(await freePort());
  await redis.start();
  try {
    return { redis, t: await startTestApp({ REDIS_URL: redis.url, ...env }) };
  } catch (err) {
    await redis.stop();
    throw err;
  }
}
