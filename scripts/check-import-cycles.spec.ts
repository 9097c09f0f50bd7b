import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildFolderGraph, checkCycles, findCycles, FolderGraph, folderOf, formatCycle, formatEdges } from './check-import-cycles';

const ROOT = join(__dirname, '..');

function graphOf(edges: [string, string][]): FolderGraph {
  const graph: FolderGraph = new Map();
  for (const [from, to] of edges) {
    const targets = graph.get(from) ?? new Map<string, string[]>();
    targets.set(to, [`${from}/file.ts`]);
    graph.set(from, targets);
  }
  return graph;
}

describe('folder import cycles', () => {
  it('names the folder of a file', () => {
    expect(folderOf('src/modules/auth/guards/roles.guard.ts')).toBe('src/modules/auth');
    expect(folderOf('src/database/outbox/outbox.writer.ts')).toBe('src/database/outbox');
    expect(folderOf('src/database/typeorm-options.ts')).toBe('src/database');
    expect(folderOf('src/common/errors/error-code.ts')).toBe('src/common');
    expect(folderOf('src/app.module.ts')).toBe('src');
    expect(folderOf('migrations/1764340000000-Initial.ts')).toBe('migrations');
    expect(folderOf('libs/twilio-sandbox/src/index.ts')).toBe('libs/twilio-sandbox');
  });

  it('finds two folders that import each other, and longer rings, and nothing in a tree', () => {
    expect(findCycles(graphOf([['a', 'b'], ['b', 'c'], ['a', 'c']]))).toEqual([]);
    expect(findCycles(graphOf([['a', 'b'], ['b', 'a'], ['b', 'c']])).map((c) => c.folders)).toEqual([['a', 'b']]);
    expect(findCycles(graphOf([['a', 'b'], ['b', 'c'], ['c', 'a'], ['d', 'a']])).map((c) => c.folders)).toEqual([['a', 'b', 'c']]);
    const [pair] = findCycles(graphOf([['x', 'y'], ['y', 'x']]));
    expect(pair.edges).toEqual([
      { from: 'x', to: 'y', files: ['x/file.ts'] },
      { from: 'y', to: 'x', files: ['y/file.ts'] },
    ]);
    expect(formatCycle(pair)).toBe('x <-> y\n  x -> y: x/file.ts\n  y -> x: y/file.ts');
  });

  it('fails on a cycle outside the allow-list, and on an allowed cycle that grew', () => {
    const allow = [['q', 'w']];
    const allowed = checkCycles(graphOf([['q', 'w'], ['w', 'q']]), allow);
    expect(allowed.forbidden).toEqual([]);
    expect(allowed.allowed.map((c) => c.folders)).toEqual([['q', 'w']]);

    const grown = checkCycles(graphOf([['q', 'w'], ['w', 'h'], ['h', 'q']]), allow);
    expect(grown.forbidden.map((c) => c.folders)).toEqual([['h', 'q', 'w']]);
    expect(grown.stale).toEqual([['q', 'w']]);

    const other = checkCycles(graphOf([['q', 'w'], ['w', 'q'], ['a', 'h'], ['h', 'a']]), allow);
    expect(other.forbidden.map((c) => c.folders)).toEqual([['a', 'h']]);
  });

  it('reads import, type-only import, re-export, dynamic import and require, and ignores packages', () => {
    const root = mkdtempSync(join(tmpdir(), 'import-cycles-'));
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    };
    try {
      write('src/modules/a/a.service.ts', "import { B } from '../b/b.service';\nimport type { C } from '../c/c.types';\nimport { Injectable } from '@nestjs/common';\n");
      write('src/modules/b/b.service.ts', "export { D } from '../../common/d';\nexport const B = () => import('../e/e');\n");
      write('src/modules/c/c.types.ts', "// import { A } from '../a/a.service';\nexport type C = string;\nconst f = require('../../config/f');\n");
      write('src/modules/e/e.ts', "import { A } from '../a/a.service';\n");
      write('src/common/d.ts', 'export const D = 1;\n');
      write('src/config/f.ts', 'export const F = 1;\n');
      const graph = buildFolderGraph(root);
      const edges = [...graph.entries()].flatMap(([from, targets]) => [...targets.keys()].map((to) => `${from} -> ${to}`)).sort();
      expect(edges).toEqual([
        'src/modules/a -> src/modules/b',
        'src/modules/a -> src/modules/c',
        'src/modules/b -> src/common',
        'src/modules/b -> src/modules/e',
        'src/modules/c -> src/config',
        'src/modules/e -> src/modules/a',
      ]);
      expect(findCycles(graph).map((c) => c.folders)).toEqual([['src/modules/a', 'src/modules/b', 'src/modules/e']]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('src/ has no import cycle between folders, and the allow-list is empty', () => {
    const report = checkCycles(buildFolderGraph(ROOT));
    expect(report.forbidden.map(formatCycle)).toEqual([]);
    expect(report.allowed.map(formatCycle)).toEqual([]);
    expect(report.stale).toEqual([]);
  });

  it('the Twilio sandbox library imports nothing from src/, and the queue module no feature', () => {
    const edges = formatEdges(buildFolderGraph(ROOT));
    expect(edges.filter((e) => e.startsWith('libs/') && / -> src/.test(e))).toEqual([]);
    expect(edges.filter((e) => e.startsWith('src/modules/queue ->') && !/-> src\/(config|common) /.test(e))).toEqual([]);
  });
});
