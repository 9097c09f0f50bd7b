import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { createTestDatabase, deleteRedisPrefix, freePort, TEST_REDIS_URL, uniqueName, waitFor } from '../support/test-app';

/**
 * The Dockerfile's stages, run without Docker: each stage gets a directory, its COPY and RUN lines
 * are carried out there in order (RUN through sh, with the stage's ENV), and the build context is
 * the repository's files that git does not ignore, as a clean clone would have them. It reuses
 * this machine's npm cache, so no package is downloaded twice. Takes one to four minutes on two
 * cores (two `npm ci`s and a full build); `npm test` runs it last, so the deploy cannot rot unseen.
 */

const ROOT = resolve(__dirname, '../..');

interface Stage {
  name: string;
  dir: string;
  env: Record<string, string>;
  cmd?: string[];
}

function tracked(): string[] {
  return execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
}

/** Runs the Dockerfile's instructions; returns the stages by name. */
function runDockerfile(workDir: string, log: (line: string) => void): Map<string, Stage> {
  const context = join(workDir, 'context');
  for (const file of tracked()) if (existsSync(join(ROOT, file))) cpSync(join(ROOT, file), join(context, file));
  const lines = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
  const stages = new Map<string, Stage>();
  let stage: Stage | undefined;
  for (const line of lines) {
    const [instruction, ...rest] = line.trim().split(/\s+/);
    const args = rest.join(' ');
    switch (instruction) {
      case 'FROM': {
        const name = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? `stage${stages.size}`;
        stage = { name, dir: join(workDir, name), env: {} };
        mkdirSync(stage.dir, { recursive: true });
        stages.set(name, stage);
        break;
      }
      case 'ENV': {
        const [key, value] = args.split('=');
        stage!.env[key] = value;
        break;
      }
      case 'COPY': {
        const from = /^--from=(\S+)\s+/.exec(args)?.[1];
        const paths = args.replace(/^--from=\S+\s+/, '').split(/\s+/);
        const rawDest = paths.pop()!;
        const intoDirectory = rawDest.endsWith('/') || rawDest === '.';
        for (const src of paths) {
          // Another stage's /app is that stage's directory.
          const source = from ? join(stages.get(from)!.dir, src.replace(/^\/app\/?/, '')) : join(context, src);
          const target = intoDirectory && src !== '.' ? join(stage!.dir, rawDest, basename(src)) : join(stage!.dir, rawDest);
          cpSync(source, target, { recursive: true });
        }
        break;
      }
      case 'RUN': {
        // BuildKit cache mounts have no meaning here: the machine's npm cache plays their part.
        const command = args.replace(/--mount=\S+\s+/g, '');
        // It runs on this machine, whose npm cache other work shares: never clear it.
        if (/npm cache clean/.test(command)) throw new Error(`Refusing to run "${command}" outside Docker: keep the npm cache in a cache mount instead`);
        log(`[${stage!.name}] ${command}`);
        const res = spawnSync('sh', ['-c', command], {
          cwd: stage!.dir,
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', ...stage!.env },
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
        });
        if (res.status !== 0) throw new Error(`[${stage!.name}] ${command} failed (${res.status}):\n${res.stdout}\n${res.stderr}`);
        break;
      }
      case 'CMD':
        stage!.cmd = JSON.parse(args) as string[];
        break;
      default:
        // WORKDIR, USER, EXPOSE: the stage directory stands for /app.
        break;
    }
  }
  return stages;
}

describe('production deploy: the Dockerfile stages without Docker (npm run test:deploy)', () => {
  let workDir: string;
  let stages: Map<string, Stage>;
  const children: ChildProcess[] = [];
  const prefix = uniqueName('wa-deploy');
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;

  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'wa-deploy-'));
    stages = runDockerfile(workDir, (line) => process.stdout.write(`${line}\n`));
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await deleteRedisPrefix(TEST_REDIS_URL, prefix);
    await db?.drop();
    rmSync(workDir, { recursive: true, force: true });
  });

  const start = (command: string[], cwd: string, env: Record<string, string>) => {
    const child = spawn(command[0], command.slice(1), { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    children.push(child);
    return { child, output: () => output };
  };

  it('the runtime stage has dist/ and production dependencies only', () => {
    const runtime = stages.get('runtime')!;
    expect(existsSync(join(runtime.dir, 'dist/src/main.js'))).toBe(true);
    expect(existsSync(join(runtime.dir, 'dist/scripts/migrate.js'))).toBe(true);
    expect(existsSync(join(runtime.dir, 'node_modules/@nestjs/core'))).toBe(true);
    // Dev-only packages: the test runner, the CLI, and type packages the build needs. (typescript
    // and @types/node come in as dependencies of production packages, so they prove nothing.)
    for (const dev of ['jest', '@nestjs/cli', '@types/pg', '@types/passport-jwt', 'playwright-core']) {
      expect({ dev, installed: existsSync(join(runtime.dir, 'node_modules', dev)) }).toEqual({ dev, installed: false });
    }
    expect(existsSync(join(runtime.dir, 'src'))).toBe(false);
    expect(runtime.env.NODE_ENV).toBe('production');
  });

  it('migrates with npm run migration:run:prod, then starts in production with its CMD and answers /health and /health/ready', async () => {
    const runtime = stages.get('runtime')!;
    db = await createTestDatabase();
    const [port, twilioPort] = [await freePort(), await freePort()];
    const twilio = { sid: 'AC' + '1'.repeat(32), token: '0123456789abcdef0123456789abcdef' };
    // Twilio is the sandbox, started from the runtime stage's own dist/ as a separate process.
    const sandbox = start(
      ['node', 'dist/libs/twilio-sandbox/sandbox.cli.js', '--port', String(twilioPort), '--host', '127.0.0.1', '--account-sid', twilio.sid, '--auth-token', twilio.token],
      runtime.dir,
      {},
    );
    const env = {
      ...runtime.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: db.url,
      DATABASE_MIGRATIONS_RUN: 'false',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: prefix,
      JWT_SECRET: 'deploy-test-jwt-secret-of-at-least-32-bytes',
      ADMIN_EMAIL: 'ops@example.com',
      ADMIN_PASSWORD: 'deploy-test-admin-password',
      TWILIO_ACCOUNT_SID: twilio.sid,
      TWILIO_AUTH_TOKEN: twilio.token,
      TWILIO_API_BASE_URL: `http://127.0.0.1:${twilioPort}`,
      TWILIO_WHATSAPP_FROM: 'whatsapp:+14155238886',
      WEBHOOK_URL: 'https://wa.example.com/api/v1/whatsapp/webhook',
      STATUS_CALLBACK_URL: 'https://wa.example.com/api/v1/whatsapp/status',
      LOG_LEVEL: 'warn',
    };
    await waitFor(async () => (await fetch(`http://127.0.0.1:${twilioPort}/2010-04-01/Accounts.json`).catch(() => undefined)) !== undefined, `the sandbox (${sandbox.output()})`, 30_000, 200);

    const migrate = spawnSync('npm', ['run', 'migration:run:prod'], { cwd: runtime.dir, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, encoding: 'utf8' });
    expect({ status: migrate.status, stderr: migrate.stderr }).toEqual({ status: 0, stderr: '' });
    expect(migrate.stdout).toMatch(/Applied \d+ migration\(s\)/);
    const again = spawnSync('npm', ['run', 'migration:run:prod'], { cwd: runtime.dir, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, encoding: 'utf8' });
    expect(again.stdout).toMatch(/Database is up to date/);

    const service = start(runtime.cmd!, runtime.dir, env);
    const base = `http://127.0.0.1:${port}/api/v1`;
    await waitFor(
      async () => {
        if (service.child.exitCode !== null) throw new Error(`the service exited: ${service.output()}`);
        return (await fetch(`${base}/health`).catch(() => undefined))?.status === 200;
      },
      'the service to answer /health',
      60_000,
      250,
    );
    const ready = await waitFor(async () => {
      const res = await fetch(`${base}/health/ready`);
      return res.status === 200 ? res.json() : undefined;
    }, 'readiness (database, migrations, redis, workers, twilio)', 30_000);
    expect(ready).toMatchObject({ status: 'ok' });
    const login = await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ops@example.com', password: 'deploy-test-admin-password' }) });
    expect(login.status).toBe(200);
    // No checkout, so no log files: stdout only, as a container should.
    expect(existsSync(join(runtime.dir, 'logs'))).toBe(false);
    service.child.kill('SIGTERM');
    await new Promise((r) => service.child.once('exit', r));
    expect(service.child.exitCode).toBe(0);
  });
});
