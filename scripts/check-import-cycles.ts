import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/**
 * Folder-level import graph of src/ and the cycles in it (STYLE.md, habit 10: no two folders
 * import each other). A folder is a feature module (src/modules/<name>), the outbox
 * (src/database/outbox, owned apart from the rest of src/database), another top-level folder
 * of src/, or src itself for the files at its root (main.ts, app.module.ts, ...). Type-only
 * imports count: they couple two folders as much as any other import.
 *
 *   npm run check:imports [-- --edges]
 */

/** Folders whose sub-folders are folders of their own. */
const NESTED_ROOTS = ['src/modules', 'libs'];
/** Sub-folders that are folders of their own although their parent is not a nested root. */
const OWN_FOLDERS = ['src/database/outbox'];

/**
 * Cycles known and being removed. Each entry is the exact set of folders of one cycle: the check
 * reports such a cycle without failing, and fails when the cycle grows to include another folder.
 */
export const ALLOWED_CYCLES: readonly (readonly string[])[] = [];

/** from -> to -> the importing files (repository-relative, '/'-separated). */
export type FolderGraph = Map<string, Map<string, string[]>>;

export interface Cycle {
  /** The folders of one strongly connected component, sorted. */
  folders: string[];
  /** Each import edge inside the cycle, with the files that make it. */
  edges: { from: string; to: string; files: string[] }[];
}

export interface CycleReport {
  /** Cycles that fail the check. */
  forbidden: Cycle[];
  /** Cycles on the allow-list. */
  allowed: Cycle[];
  /** Allow-list entries that no longer match a cycle (to be deleted). */
  stale: string[][];
}

const toPosix = (p: string) => p.split('\\').join('/');

export function folderOf(file: string): string {
  const path = toPosix(file);
  const own = OWN_FOLDERS.find((f) => path === f || path.startsWith(`${f}/`));
  if (own) return own;
  const parts = path.split('/');
  for (const root of NESTED_ROOTS) {
    const depth = root.split('/').length;
    if (path.startsWith(`${root}/`) && parts.length > depth + 1) return parts.slice(0, depth + 1).join('/');
  }
  if (parts[0] === 'src') return parts.length > 2 ? parts.slice(0, 2).join('/') : 'src';
  return parts.length > 1 ? parts[0] : '.';
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The file a relative specifier names, or undefined for a package (or an unresolvable path). */
function resolveSpecifier(fromFile: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(fromFile), specifier);
  return [`${base}.ts`, join(base, 'index.ts'), base].find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
}

/** Every cross-folder import of the .ts files under `dirs` (relative to `root`; those that exist). */
export function buildFolderGraph(root: string, dirs: string[] = ['src', 'libs']): FolderGraph {
  const graph: FolderGraph = new Map();
  const files = dirs.filter((d) => existsSync(join(root, d))).flatMap((d) => sourceFiles(join(root, d)));
  for (const file of files) {
    const fromPath = toPosix(relative(root, file));
    const from = folderOf(fromPath);
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      const target = resolveSpecifier(file, fileName);
      if (!target) continue;
      const to = folderOf(toPosix(relative(root, target)));
      if (to === from) continue;
      const targets = graph.get(from) ?? new Map<string, string[]>();
      graph.set(from, targets);
      const files = targets.get(to) ?? [];
      if (!files.includes(fromPath)) files.push(fromPath);
      targets.set(to, files);
    }
  }
  return graph;
}

/** Strongly connected components with more than one folder (Tarjan). */
export function findCycles(graph: FolderGraph): Cycle[] {
  const nodes = new Set<string>([...graph.keys(), ...[...graph.values()].flatMap((t) => [...t.keys()])]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let next = 0;

  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) components.push(component.sort());
    }
  };
  for (const v of [...nodes].sort()) if (!index.has(v)) visit(v);

  return components
    .map((folders) => ({
      folders,
      edges: folders.flatMap((from) =>
        [...(graph.get(from) ?? new Map<string, string[]>()).entries()]
          .filter(([to]) => folders.includes(to))
          .map(([to, files]) => ({ from, to, files: [...files].sort() })),
      ),
    }))
    .sort((a, b) => a.folders.join().localeCompare(b.folders.join()));
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));

export function checkCycles(graph: FolderGraph, allowList: readonly (readonly string[])[] = ALLOWED_CYCLES): CycleReport {
  const cycles = findCycles(graph);
  const isAllowed = (c: Cycle) => allowList.some((entry) => sameSet(entry, c.folders));
  return {
    forbidden: cycles.filter((c) => !isAllowed(c)),
    allowed: cycles.filter(isAllowed),
    stale: allowList.filter((entry) => !cycles.some((c) => sameSet(entry, c.folders))).map((entry) => [...entry]),
  };
}

export function formatEdges(graph: FolderGraph): string[] {
  return [...graph.entries()]
    .flatMap(([from, targets]) => [...targets.entries()].map(([to, files]) => `${from} -> ${to} (${files.length} file${files.length === 1 ? '' : 's'})`))
    .sort();
}

export function formatCycle(cycle: Cycle): string {
  const edges = cycle.edges.map((e) => `  ${e.from} -> ${e.to}: ${e.files.join(', ')}`);
  return [`${cycle.folders.join(' <-> ')}`, ...edges].join('\n');
}

function main(): void {
  const root = resolve(__dirname, '..');
  const graph = buildFolderGraph(root);
  if (process.argv.includes('--edges')) process.stdout.write(`${formatEdges(graph).join('\n')}\n\n`);
  const report = checkCycles(graph);
  for (const cycle of report.allowed) process.stdout.write(`Allowed cycle (being removed): ${formatCycle(cycle)}\n`);
  for (const entry of report.stale) process.stdout.write(`Allow-list entry without a cycle, delete it: ${entry.join(' <-> ')}\n`);
  for (const cycle of report.forbidden) process.stderr.write(`Import cycle: ${formatCycle(cycle)}\n`);
  if (report.forbidden.length > 0) process.exitCode = 1;
  else process.stdout.write('No import cycle between folders of src/ outside the allow-list\n');
}

if (require.main === module) main();
