import { ChildProcess, spawn } from 'node:child_process';
import Redis from 'ioredis';
import { freePort, startTestApp, TestApp } from './test-app';

/** A private redis-server for tests that stop and restart Redis (the shared one is left alone). */
export class TestRedisServer {
  private child?: ChildProcess;

  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
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
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
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
