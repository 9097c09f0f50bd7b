import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, deleteRedisPrefix, freePort, startTestApp, TEST_REDIS_URL, uniqueName, waitFor } from './support/test-app';
import { FORM, formBody } from './support/twilio-signing';

const ROOT = join(__dirname, '..');

const jsonLines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { level: number; msg?: string; context?: string });

describe('log files (e2e)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wa-log-files-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes logs/app.log and logs/error.log by default when run from a checkout, the signature failure in error.log', async () => {
    mkdirSync(join(dir, '.git')); // the working directory is a checkout
    const db = await createTestDatabase();
    const port = await freePort();
    const prefix = uniqueName('wa-logfiles');
    let child: ChildProcess | undefined;
    try {
      child = spawn(process.execPath, ['-r', require.resolve('ts-node/register/transpile-only'), join(ROOT, 'src/main.ts')], {
        cwd: dir,
        env: {
          PATH: process.env.PATH ?? '',
          TS_NODE_PROJECT: join(ROOT, 'tsconfig.json'),
          NODE_ENV: 'development',
          PORT: String(port),
          HOST: '127.0.0.1',
          DATABASE_URL: db.url,
          REDIS_URL: TEST_REDIS_URL,
          REDIS_PREFIX: prefix,
          SANDBOX_PORT: '0',
          ADMIN_PASSWORD: 'admin-password-for-tests',
          LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      await waitFor(
        async () => {
          if (child!.exitCode !== null) throw new Error(`the service exited: ${stderr}`);
          return (await fetch(`http://127.0.0.1:${port}/api/v1/health`).catch(() => undefined))?.status === 200;
        },
        'the service to start',
        90_000,
        250,
      );
      const forged = await fetch(`http://127.0.0.1:${port}/api/v1/whatsapp/status`, {
        method: 'POST',
        headers: { ...FORM, 'x-twilio-signature': 'Zm9yZ2VkIHNpZ25hdHVyZQ==' },
        body: formBody({ MessageSid: 'SM' + 'f'.repeat(32), MessageStatus: 'delivered' }),
      });
      expect(forged.status).toBe(403);

      const errors = await waitFor(
        async () => (existsSync(join(dir, 'logs/error.log')) ? jsonLines(join(dir, 'logs/error.log')).find((l) => l.context === 'TwilioSignature') : undefined),
        'the signature failure in logs/error.log',
      );
      expect(errors).toMatchObject({ level: 50, msg: expect.stringContaining('Rejected status webhook') });
      expect(jsonLines(join(dir, 'logs/app.log')).some((l) => l.level === 30)).toBe(true);
      child.kill('SIGTERM');
      await exited;
    } finally {
      if (child?.exitCode === null) child.kill('SIGKILL');
      await deleteRedisPrefix(TEST_REDIS_URL, prefix);
      await db.drop();
    }
  }, 120_000);

  it('rotates app.log by size, keeping LOG_MAX_FILES older files of whole lines', async () => {
    const t = await startTestApp({ LOG_DIR: dir, LOG_LEVEL: 'info', LOG_MAX_SIZE: '4k', LOG_MAX_FILES: '2' });
    try {
      // Each access line is several hundred bytes: enough for more rotations than are kept.
      for (let i = 0; i < 60; i++) await t.api(`/api/v1/whatsapp/messages?limit=1&i=${i}`, { token: t.adminToken });
      await waitFor(async () => existsSync(join(dir, 'app.log.2')), 'two rotations');
    } finally {
      await t.close();
    }
    expect(readdirSync(dir).filter((f) => f.startsWith('app.log')).sort()).toEqual(['app.log', 'app.log.1', 'app.log.2']);
    for (const file of ['app.log.1', 'app.log.2']) {
      // A file is closed at the first line that takes it past the limit; every line is whole JSON.
      expect(statSync(join(dir, file)).size).toBeGreaterThanOrEqual(2048);
      expect(statSync(join(dir, file)).size).toBeLessThan(4096 + 2048);
      expect(jsonLines(join(dir, file)).length).toBeGreaterThan(2);
    }
  });
});
