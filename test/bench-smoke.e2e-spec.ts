import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ALL_SECTIONS } from '../bench/support/options';
import { ensureBuilt, ROOT } from './support/built-code';

const run = promisify(execFile);
const TS_NODE = require.resolve('ts-node/dist/bin.js');

interface Results {
  smoke: boolean;
  machine: { cores: number; memoryGb: number };
  sections: Record<string, Record<string, unknown> & { error?: string }>;
  memory: Record<string, { peakMb: number | null }>;
  measures: { section: string; name: string; value: number | null; baseline?: number | null; ratio?: number | null }[];
  errors: Record<string, string>;
}

/**
 * The benchmark with tiny sizes, so the harness cannot rot: it must start everything, measure
 * every section and write well-formed results. No timing is asserted (that is `npm run bench`).
 */
describe('npm run bench (smoke)', () => {
  const out = join(tmpdir(), `bench-smoke-${process.pid}.json`);

  afterAll(() => rmSync(out, { force: true }));

  it('runs every section on built code and writes a result for every measure', async () => {
    await ensureBuilt();
    let stdout = '';
    try {
      ({ stdout } = await run(process.execPath, [TS_NODE, '--transpile-only', 'bench/bench.ts', '--smoke', '--out', out], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
        timeout: 230_000,
        maxBuffer: 16 * 1024 * 1024,
      }));
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      throw new Error(`bench --smoke failed:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
    }
    expect(stdout).toContain('Results:');

    const results = JSON.parse(readFileSync(out, 'utf8')) as Results;
    expect(results.smoke).toBe(true);
    expect(results.errors).toEqual({});
    expect(results.machine.cores).toBeGreaterThan(0);
    for (const section of ALL_SECTIONS) {
      expect(results.sections[section]).toBeDefined();
      expect(results.sections[section].error).toBeUndefined();
      expect(results.measures.some((m) => m.section === section)).toBe(true);
    }
    for (const m of results.measures) {
      expect({ measure: `${m.section}: ${m.name}`, finite: Number.isFinite(m.value) }).toEqual({ measure: `${m.section}: ${m.name}`, finite: true });
      if (m.baseline !== undefined) expect(Number.isFinite(m.baseline)).toBe(true);
    }
    expect(Object.keys(results.memory).sort()).toEqual(['accept-baseline', 'api', 'callback-floor', 'sandbox', 'service', 'worker']);

    const e2e = results.sections.e2e as { lost: number; duplicates: number; read: number; messages: number };
    expect(e2e.lost).toBe(0);
    expect(e2e.duplicates).toBe(0);
    expect(e2e.read).toBe(e2e.messages);

    // The scale-out section ran both layouts to the end: one `all` process, then an API and a worker.
    const scaleOut = results.sections.scaleout as Record<'all' | 'split', { lost: number; duplicates: number; read: number; messages: number }>;
    for (const run of [scaleOut.all, scaleOut.split]) expect({ lost: run.lost, duplicates: run.duplicates, read: run.read }).toEqual({ lost: 0, duplicates: 0, read: run.messages });
  }, 240_000);
});
