import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';
import { Cleanup } from './cleanup';
import { sleep } from './infra';

/** The built entry points the bench measures. The sandbox CLI is the one path to change when the sandbox moves. */
export const SANDBOX_CLI = 'dist/libs/twilio-sandbox/sandbox.cli.js';
export const SERVICE_MAIN = 'dist/src/main.js';

export const ROOT = resolve(__dirname, '..', '..');
const READY_TIMEOUT_MS = 90_000;

/** Processes that ended without being stopped (a crash, or a signal from elsewhere), oldest first. */
const unexpectedExits: string[] = [];

/** Takes the record of processes that ended on their own since the last call. */
export function takeUnexpectedExits(): string[] {
  return unexpectedExits.splice(0);
}
const STOP_TIMEOUT_MS = 15_000;

export interface BenchProcess {
  name: string;
  pid: number;
  logFile: string;
  /** Peak resident set size so far (VmHWM), in MB; null once the process is gone. */
  peakRssMb(): number | null;
  /** How and when it ended, if it did: a process that died under load explains a failed section. */
  exit(): string | null;
  stop(): Promise<void>;
}

interface StartSpec {
  name: string;
  /** Arguments to node. */
  args: string[];
  env: Record<string, string>;
  logDir: string;
  /** Polled until it answers 2xx. */
  readyUrl: string;
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export function peakRssMb(pid: number): number | null {
  try {
    const kb = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round((Number(kb) / 1024) * 10) / 10 : null;
  } catch {
    return null;
  }
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolveExit) => {
    const timer = setTimeout(() => resolveExit(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveExit(true);
    });
  });
}

/** Starts `node <args>` with only the given environment, its output in a log file, and waits until it is ready. */
export async function startProcess(spec: StartSpec, cleanup: Cleanup): Promise<BenchProcess> {
  const logFile = join(spec.logDir, `${spec.name}.log`);
  const fd = openSync(logFile, 'a');
  // BENCH_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") is passed to every process the
  // bench starts, to profile what a section measures.
  const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...nodeFlags, ...spec.args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...spec.env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  let ended: string | null = null;
  let stopping = false;
  child.once('exit', (code, signal) => {
    ended = `${spec.name} (pid ${child.pid}) exited at ${new Date().toISOString()} with ${signal ?? `code ${code}`}`;
    if (!stopping) unexpectedExits.push(`${ended}; its log: ${logFile}`);
  });
  const stop = async (): Promise<void> => {
    stopping = true;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    if (!(await waitForExit(child, STOP_TIMEOUT_MS))) {
      child.kill('SIGKILL');
      await waitForExit(child, STOP_TIMEOUT_MS);
    }
  };
  cleanup.add(`stop ${spec.name}`, stop);
  const proc: BenchProcess = { name: spec.name, pid: child.pid!, logFile, peakRssMb: () => peakRssMb(child.pid!), exit: () => ended, stop };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${spec.name} exited (${child.exitCode ?? child.signalCode}) before it was ready; its log (${logFile}) ends:\n${tail(logFile)}`);
    }
    try {
      const res = await fetch(spec.readyUrl, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) return proc;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`${spec.name} was not ready at ${spec.readyUrl} after ${READY_TIMEOUT_MS / 1000} s; its log (${logFile}) ends:\n${tail(logFile)}`);
    }
    await sleep(100);
  }
}

export interface SandboxSpec {
  port: number;
  accountSid: string;
  authToken: string;
  statusDelayMs: number;
  logDir: string;
}

/** The standalone Twilio sandbox, from built code. */
export function startSandbox(spec: SandboxSpec, cleanup: Cleanup): Promise<BenchProcess> {
  return startProcess(
    {
      name: 'sandbox',
      args: [
        SANDBOX_CLI,
        '--host', '127.0.0.1',
        '--port', String(spec.port),
        '--account-sid', spec.accountSid,
        '--auth-token', spec.authToken,
        '--status-delay-ms', String(spec.statusDelayMs),
      ],
      env: {},
      logDir: spec.logDir,
      readyUrl: `http://127.0.0.1:${spec.port}/sandbox/control/faults`,
    },
    cleanup,
  );
}

/** The service, from built code, configured as for a real Twilio account pointed at the sandbox. */
export function startService(env: Record<string, string>, logDir: string, cleanup: Cleanup, name = 'service'): Promise<BenchProcess> {
  return startProcess(
    { name, args: [SERVICE_MAIN], env, logDir, readyUrl: `http://127.0.0.1:${env.PORT}/api/v1/health/ready` },
    cleanup,
  );
}

/**
 * A baseline script of bench/ compiled to dist/ beside the service (it is not part of the build),
 * so it runs as plain Node like the service: no TypeScript compiler in its memory or start-up.
 */
function compileBaseline(script: string): string {
  const source = readFileSync(join(ROOT, script), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: script,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  const out = join(ROOT, 'dist', script.replace(/\.ts$/, '.js'));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, outputText);
  return out;
}

export function startBaseline(name: string, script: string, env: Record<string, string>, logDir: string, cleanup: Cleanup): Promise<BenchProcess> {
  return startProcess(
    { name, args: [compileBaseline(script)], env, logDir, readyUrl: `http://127.0.0.1:${env.BASELINE_PORT}/health` },
    cleanup,
  );
}
