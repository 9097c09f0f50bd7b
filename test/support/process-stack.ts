import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { Cleanup } from '../../bench/support/cleanup';
import { freePort, sleep } from '../../bench/support/infra';
import { BenchProcess, ROOT, SANDBOX_CLI, SERVICE_MAIN, startSandbox, startService } from '../../bench/support/processes';
import { ADMIN_EMAIL, ADMIN_PASSWORD, DEFAULT_SENDER, SANDBOX_ACCOUNT_SID, SANDBOX_AUTH_TOKEN } from '../../bench/support/service-stack';

/** Statuses a message does not leave on its own. */
export const FINAL_STATUSES = ['read', 'delivered', 'failed', 'undelivered', 'canceled'] as const;

/** `npm test` builds first; a bare `jest test/...` may not have. */
export async function ensureBuilt(): Promise<void> {
  if ([SERVICE_MAIN, SANDBOX_CLI].every((entry) => existsSync(join(ROOT, entry)))) return;
  await promisify(execFile)('npm', ['run', 'build'], { cwd: ROOT, timeout: 300_000 });
}

export interface ProcessStackSpec {
  redisUrl: string;
  databaseUrl: string;
  /** Added to (and overriding) the service's environment. */
  env?: Record<string, string>;
  statusDelayMs?: number;
}

export interface ApiAnswer<T = any> {
  status: number;
  body: T;
}

/**
 * The built service and the standalone Twilio sandbox as separate processes (bench/support's),
 * configured as for a real Twilio account pointed at the sandbox, on the Redis and Postgres the
 * test gives it: the service can be killed, signalled and started again on the same port.
 */
export class ProcessStack {
  readonly cleanup = new Cleanup();
  readonly logDir = mkdtempSync(join(tmpdir(), 'process-stack-'));
  service!: BenchProcess;
  sandbox!: BenchProcess;
  baseUrl = '';
  sandboxUrl = '';
  token = '';
  private env: Record<string, string> = {};

  constructor(private readonly spec: ProcessStackSpec) {}

  async start(): Promise<void> {
    await ensureBuilt();
    const [port, sandboxPort] = [await freePort(), await freePort()];
    this.sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.sandbox = await startSandbox(
      { port: sandboxPort, accountSid: SANDBOX_ACCOUNT_SID, authToken: SANDBOX_AUTH_TOKEN, statusDelayMs: this.spec.statusDelayMs ?? 50, logDir: this.logDir },
      this.cleanup,
    );
    this.env = {
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      DATABASE_URL: this.spec.databaseUrl,
      DATABASE_POOL_MAX: '8',
      REDIS_URL: this.spec.redisUrl,
      REDIS_PREFIX: `wa-${randomBytes(3).toString('hex')}`,
      JWT_SECRET: randomBytes(32).toString('hex'),
      ADMIN_EMAIL,
      ADMIN_PASSWORD,
      TWILIO_ACCOUNT_SID: SANDBOX_ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: SANDBOX_AUTH_TOKEN,
      TWILIO_API_BASE_URL: this.sandboxUrl,
      TWILIO_WHATSAPP_FROM: DEFAULT_SENDER,
      WEBHOOK_URL: `${this.baseUrl}/api/v1/whatsapp/webhook`,
      STATUS_CALLBACK_URL: `${this.baseUrl}/api/v1/whatsapp/status`,
      API_RATE_LIMIT_PER_MINUTE: '1000000',
      SHUTDOWN_TIMEOUT_MS: '10000',
      ...this.spec.env,
    };
    await this.startService();
  }

  /** Starts the service (again) on the same port and logs in as its admin. */
  async startService(): Promise<void> {
    this.service = await startService(this.env, this.logDir, this.cleanup);
    const login = await this.api<{ accessToken?: string }>('/api/v1/auth/login', { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD }, token: null });
    if (login.status !== 200 || !login.body.accessToken) throw new Error(`login failed: HTTP ${login.status}`);
    this.token = login.body.accessToken;
  }

  /** Sends `signal` to the service and waits until it has exited; how it ended, or null if it did not within `ms`. */
  async signalService(signal: NodeJS.Signals, ms = 30_000): Promise<string | null> {
    try {
      process.kill(this.service.pid, signal);
    } catch {
      // already gone
    }
    const deadline = Date.now() + ms;
    while (this.service.exit() === null) {
      if (Date.now() > deadline) return null;
      await sleep(50);
    }
    return this.service.exit();
  }

  /** The service's log so far (every run of it: they share one file). */
  serviceLog(): string {
    try {
      return readFileSync(this.service.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  async api<T = any>(path: string, init: { body?: unknown; token?: string | null; headers?: Record<string, string>; method?: string; timeoutMs?: number } = {}): Promise<ApiAnswer<T>> {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const token = init.token === undefined ? this.token : init.token;
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(`${this.baseUrl}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    return { status: res.status, body: body as T };
  }

  async setSandboxFaults(faults: Record<string, unknown>): Promise<void> {
    const res = await fetch(`${this.sandboxUrl}/sandbox/control/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults) });
    if (!res.ok) throw new Error(`sandbox faults: HTTP ${res.status} ${await res.text()}`);
  }

  /** How many messages the sandbox holds for each body (a body is unique per message in these tests). */
  async sandboxMessagesByBody(): Promise<Map<string, number>> {
    const res = await fetch(`${this.sandboxUrl}/sandbox/control/messages`);
    const messages = (await res.json()) as { resource: { body: string } }[];
    const counts = new Map<string, number>();
    for (const m of messages) counts.set(m.resource.body, (counts.get(m.resource.body) ?? 0) + 1);
    return counts;
  }

  /** Stops every process; their logs are kept when KEEP_TEST_LOGS is set. */
  async stop(): Promise<void> {
    await this.cleanup.unwind();
    if (!process.env.KEEP_TEST_LOGS) rmSync(this.logDir, { recursive: true, force: true });
  }
}

/** Outbound messages per status, straight from the database (the service may be down). */
export async function statusCounts(databaseUrl: string): Promise<Record<string, number>> {
  const client = new Client({ connectionString: databaseUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<{ status: string; count: number }>(
      `SELECT status, count(*)::int AS count FROM "WhatsAppMessage" WHERE direction = 'outbound' GROUP BY status ORDER BY status`,
    );
    return Object.fromEntries(rows.map((r) => [r.status, r.count]));
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Waits until every outbound message is final; the last counts either way. */
export async function waitUntilAllFinal(databaseUrl: string, expected: number, timeoutMs: number): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let counts: Record<string, number> = {};
    try {
      counts = await statusCounts(databaseUrl);
    } catch {
      // the database may be restarting
    }
    const final = FINAL_STATUSES.reduce((n, s) => n + (counts[s] ?? 0), 0);
    if (final >= expected || Date.now() > deadline) return counts;
    await sleep(500);
  }
}

/**
 * Probes the service's liveness (`GET /health`) four times a second while it is meant to be up,
 * and counts the probes that got no answer within `silentAfterMs`.
 */
export class HealthWatch {
  probes = 0;
  silent = 0;
  private up = true;
  private running = true;
  private readonly loop: Promise<void>;

  constructor(
    private readonly stack: ProcessStack,
    private readonly silentAfterMs = 2000,
  ) {
    this.loop = this.run();
  }

  /** The service is being stopped or killed on purpose: no answer is expected until resume(). */
  pause(): void {
    this.up = false;
  }

  resume(): void {
    this.up = true;
  }

  async stop(): Promise<{ probes: number; silent: number }> {
    this.running = false;
    await this.loop;
    return { probes: this.probes, silent: this.silent };
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (this.up) {
        const probing = this.up;
        try {
          await this.stack.api('/api/v1/health', { token: null, timeoutMs: this.silentAfterMs });
          this.probes++;
        } catch {
          // Only a probe that was sent and ended while the service was meant to be up counts.
          if (probing && this.up) {
            this.probes++;
            this.silent++;
          }
        }
      }
      await sleep(250);
    }
  }
}

/** A unique body per message, so duplicates at the sandbox can be counted. */
export function uniqueBody(label: string, i: number): string {
  return `${label} ${i} ${randomUUID()}`;
}
