import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runAccept } from './sections/accept';
import { runCallbacks } from './sections/callbacks';
import { runEndToEnd, runScaleOut } from './sections/end-to-end';
import { runLookups } from './sections/lookups';
import { Cleanup } from './support/cleanup';
import { machineInfo } from './support/infra';
import { parseOptions, Section } from './support/options';
import { ROOT, SANDBOX_CLI, SERVICE_MAIN, takeUnexpectedExits } from './support/processes';
import { Measure, renderTable } from './support/report';
import { SectionContext } from './support/service-stack';
import { round } from './support/stats';

const RSS_BUDGET_MB = 300;

type SectionRunner = (ctx: SectionContext) => Promise<{ result: { peakRssMb: Record<string, number | null> }; measures: Measure[] }>;

const RUNNERS: Record<Section, SectionRunner> = {
  [Section.Accept]: runAccept,
  [Section.Callbacks]: runCallbacks,
  [Section.EndToEnd]: runEndToEnd,
  [Section.Lookups]: runLookups,
  [Section.ScaleOut]: runScaleOut,
};

/** Peak RSS per process name (the largest over the sections that ran it), with the budget. */
function memoryMeasures(bySection: Partial<Record<Section, Record<string, number | null>>>): {
  memory: Record<string, { peakMb: number | null; bySection: Record<string, number | null> }>;
  measures: Measure[];
} {
  const memory: Record<string, { peakMb: number | null; bySection: Record<string, number | null> }> = {};
  for (const [section, processes] of Object.entries(bySection)) {
    for (const [name, mb] of Object.entries(processes ?? {})) {
      const entry = (memory[name] ??= { peakMb: null, bySection: {} });
      entry.bySection[section] = mb;
      if (mb !== null) entry.peakMb = Math.max(entry.peakMb ?? 0, mb);
    }
  }
  const measures = Object.entries(memory).map(([name, { peakMb }]): Measure => ({
    section: 'memory',
    name: `peak RSS, ${name}`,
    unit: 'MB',
    value: peakMb,
    target: `< ${RSS_BUDGET_MB} MB`,
    pass: peakMb !== null && peakMb < RSS_BUDGET_MB,
  }));
  return { memory, measures };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), process.env);
  for (const entry of [SERVICE_MAIN, SANDBOX_CLI]) {
    if (!existsSync(join(ROOT, entry))) throw new Error(`${entry} is missing: run npm run build first (npm run bench does)`);
  }
  const cleanup = new Cleanup();
  const logDir = mkdtempSync(join(tmpdir(), `wa-bench-${process.pid}-`));
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      interrupted = true;
      process.stderr.write(`\n${signal}: stopping what the bench started and dropping its databases...\n`);
      void cleanup.unwind().finally(() => process.exit(130));
    });
  }
  const ctx: SectionContext = { options, cleanup, logDir, runTag: `bench_${process.pid}` };
  const startedAt = new Date();
  const machine = await machineInfo(options.adminUrl, options.redisUrl);
  process.stdout.write(
    `${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGb} GB, load average ${machine.loadAverageAtStart.join(' ')}; ` +
      `Node ${machine.node}, Postgres ${machine.postgres}, Redis ${machine.redis}${options.smoke ? '; smoke run (tiny sizes)' : ''}\n`,
  );

  const sections: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  const measures: Measure[] = [];
  const rss: Partial<Record<Section, Record<string, number | null>>> = {};
  for (const section of options.sections) {
    if (interrupted) return;
    const mark = cleanup.size;
    const sectionStarted = Date.now();
    process.stdout.write(`\n[${section}] running...\n`);
    try {
      const sectionLogs = join(logDir, section);
      mkdirSync(sectionLogs);
      const { result, measures: sectionMeasures } = await RUNNERS[section]({ ...ctx, logDir: sectionLogs });
      const seconds = round((Date.now() - sectionStarted) / 1000, 1);
      sections[section] = { ...result, seconds };
      rss[section] = result.peakRssMb;
      measures.push(...sectionMeasures);
      process.stdout.write(`${renderTable(sectionMeasures)}\n[${section}] done in ${seconds} s\n`);
    } catch (err) {
      const exits = takeUnexpectedExits();
      const message = `${err instanceof Error ? (err.stack ?? err.message) : String(err)}${exits.map((e) => `\n${e}`).join('')}`;
      errors[section] = message;
      sections[section] = { error: message };
      measures.push({ section, name: 'did not complete (see errors)', unit: '', value: null, pass: false });
      if (!interrupted) process.stderr.write(`[${section}] failed: ${message}\n`);
    } finally {
      await cleanup.unwind(mark);
    }
  }
  // An interrupted run leaves the last results file as it was; the signal handler exits.
  if (interrupted) return;
  await cleanup.unwind();

  const memory = memoryMeasures(rss);
  measures.push(...memory.measures);
  const failed = measures.filter((m) => m.pass === false);
  const finishedAt = new Date();
  const results = {
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    seconds: round((finishedAt.getTime() - startedAt.getTime()) / 1000, 1),
    smoke: options.smoke,
    options: {
      sections: options.sections,
      connections: options.connections,
      durationS: options.durationS,
      warmupS: options.warmupS,
      e2eMessages: options.e2eMessages,
      e2eWorkers: options.e2eWorkers,
      e2eMps: options.e2eMps,
      sandboxStatusDelayMs: options.statusDelayMs,
      lookupRows: options.lookupRows,
      lookupRequests: options.lookupRequests,
      metricsRequests: options.metricsRequests,
    },
    machine: { ...machine, loadAverageAtEnd: loadavg().map((l) => round(l, 2)) },
    sections,
    memory: memory.memory,
    measures,
    failed: failed.map((m) => `${m.section}: ${m.name}`),
    errors,
  };
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify(results, null, 2)}\n`);

  process.stdout.write(`\n${renderTable(measures)}\n\n`);
  process.stdout.write(`${failed.length === 0 ? 'Every target met.' : `${failed.length} target(s) not met.`} Results: ${options.out}\n`);
  const crashed = Object.keys(errors).length > 0;
  if (crashed || options.keepLogs) process.stdout.write(`Process logs: ${logDir}\n`);
  else rmSync(logDir, { recursive: true, force: true });
  process.exitCode = crashed || (options.strict && failed.length > 0) ? 1 : 0;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
