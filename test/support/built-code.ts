import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { SANDBOX_CLI, SERVICE_MAIN } from '../../bench/support/processes';

export const ROOT = resolve(__dirname, '..', '..');

/** `npm test` builds first; a bare `jest test/...` may not have: build then, once. */
export async function ensureBuilt(): Promise<void> {
  if ([SERVICE_MAIN, SANDBOX_CLI].every((entry) => existsSync(join(ROOT, entry)))) return;
  await promisify(execFile)('npm', ['run', 'build'], { cwd: ROOT, timeout: 180_000 });
}
