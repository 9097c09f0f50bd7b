import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { basicAuth } from './sandbox-test-kit';

const CLI = path.resolve(__dirname, '../sandbox.cli.ts');

function startCli(args: string[]): { child: ChildProcess; baseUrl: Promise<string>; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', CLI, ...args], {
    cwd: path.resolve(__dirname, '../../..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const baseUrl = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n').find((candidate) => candidate.startsWith('http://'));
      if (line) {
        resolve(line.trim());
      }
    });
    child.once('exit', (code) => reject(new Error(`CLI exited with ${code} before printing its URL: ${stderr}`)));
  });
  // A test that expects the CLI to fail never awaits the URL; that rejection is not an error.
  baseUrl.catch(() => undefined);
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, baseUrl, exit };
}

describe('sandbox.cli', () => {
  it('prints its base URL, serves the API with the given credentials and stops cleanly on SIGTERM', async () => {
    const accountSid = 'AC11111111111111111111111111111111';
    const { child, baseUrl, exit } = startCli([
      '--port', '0',
      '--account-sid', accountSid,
      '--auth-token', 'cli-token',
      '--status-delay-ms', '20',
    ]);
    try {
      const url = await baseUrl;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const response = await fetch(`${url}/2010-04-01/Accounts/${accountSid}/Messages.json`, {
        method: 'POST',
        headers: { Authorization: basicAuth(accountSid, 'cli-token'), 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ To: 'whatsapp:+15551270001', From: 'whatsapp:+14155238886', Body: 'from the CLI' }),
      });
      expect(response.status).toBe(201);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exit).toBe(0);
  }, 30_000);

  it('stops on SIGINT too', async () => {
    const { child, baseUrl, exit } = startCli(['--port', '0']);
    await baseUrl;
    child.kill('SIGINT');
    expect(await exit).toBe(0);
  }, 30_000);

  it('refuses a bad option with a usage message', async () => {
    const { exit } = startCli(['--port', 'abc']);
    expect(await exit).toBe(2);
    const growth = startCli(['--heap-growth-percent', 'lots']);
    expect(await growth.exit).toBe(2);
  }, 30_000);
});
