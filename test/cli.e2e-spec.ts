import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase, deleteRedisPrefix, freePort, TEST_REDIS_URL, uniqueName } from './support/test-app';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..');
const TS_NODE = [require.resolve('ts-node/dist/bin.js'), '--transpile-only'];

/** Runs a TypeScript entry point of the project as a separate process. */
async function runScript(script: string, args: string[], env: Record<string, string>, timeout = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...TS_NODE, script, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'test', ...env },
      timeout,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('command line (e2e)', () => {
  it('refuses to start on bad configuration with one line naming the variable', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ PORT: 'eighty' }, 'Invalid configuration: PORT must be an integer port number'],
      [{ NODE_ENV: 'production' }, 'Refusing to start in production: TWILIO_ACCOUNT_SID'],
      [{ REDIS_URL: 'localhost' }, 'Invalid configuration: REDIS_URL must be a redis:// or rediss:// URL'],
    ];
    for (const [env, line] of cases) {
      const res = await runScript('src/main.ts', [], env);
      expect(res.code).toBe(1);
      expect(res.stderr.trim()).toBe(res.stderr.trim().split('\n')[0]);
      expect(res.stderr).toContain(line);
    }
  }, 120_000);

  it('creates the first admin with a generated password, prints it once in the banner, and the CLI adds users', async () => {
    const db = await createTestDatabase();
    const port = await freePort();
    const env = {
      DATABASE_URL: db.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: uniqueName('wa-cli'),
      SANDBOX_PORT: '0',
      LOG_LEVEL: 'warn',
      ADMIN_EMAIL: 'first-admin@example.com',
    };
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [...TS_NODE, 'src/main.ts'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', NODE_ENV: 'development', ...env } });
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const deadline = Date.now() + 60_000;
      while (!out.includes('Send a message:') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain(`http://localhost:${port}/api/v1`);
      const password = /Password\s+(\S+)\s+\(generated now/.exec(out)?.[1];
      expect(password).toBeDefined();
      expect(out).toContain('curl -s');

      const login = await fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'first-admin@example.com', password }),
      });
      expect(login.status).toBe(200);

      const created = await runScript('scripts/user-create.ts', ['--email', 'ops@example.com', '--role', 'sender'], env);
      expect(created.code).toBe(0);
      const generated = /Password: (\S+)/.exec(created.stdout)?.[1];
      expect(generated).toBeDefined();
      const opsLogin = await fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'ops@example.com', password: generated }),
      });
      expect(opsLogin.status).toBe(200);
      const token = ((await opsLogin.json()) as { accessToken: string }).accessToken;
      const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
      expect(claims.role).toBe('sender');

      const duplicate = await runScript('scripts/user-create.ts', ['--email', 'OPS@example.com', '--role', 'admin', '--password', 'long-enough-password'], env);
      expect(duplicate.code).toBe(2);
      expect(duplicate.stderr).toContain('already exists');
      const badRole = await runScript('scripts/user-create.ts', ['--email', 'x@example.com', '--role', 'root'], env);
      expect(badRole.code).toBe(2);
      expect(badRole.stderr).toContain('--role must be one of admin, sender');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await db.drop();
      await deleteRedisPrefix(TEST_REDIS_URL, env.REDIS_PREFIX);
    }
  }, 180_000);
});
