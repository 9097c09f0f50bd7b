import { round } from './stats';

/** One row of the table: a number, what it is compared with, and the target it must meet (if any). */
export interface Measure {
  section: string;
  name: string;
  unit: string;
  value: number | null;
  baseline?: number | null;
  /** value / baseline, for throughputs. */
  ratio?: number | null;
  target?: string;
  /** undefined: for reading only, no target. */
  pass?: boolean;
}

export function ratioOf(value: number | null, baseline: number | null): number | null {
  return value !== null && baseline !== null && baseline > 0 ? round(value / baseline, 2) : null;
}

const fmt = (n: number | null | undefined, unit = ''): string => {
  if (n === undefined) return '';
  if (n === null || !Number.isFinite(n)) return 'n/a';
  const digits = Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2;
  return `${n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 })}${unit ? ` ${unit}` : ''}`;
};

export function renderTable(measures: readonly Measure[]): string {
  const header = ['measure', 'value', 'baseline', 'ratio', 'target', 'result'];
  const rows = measures.map((m) => [
    `${m.section}: ${m.name}`,
    fmt(m.value, m.unit),
    fmt(m.baseline, m.unit),
    m.ratio === undefined ? '' : m.ratio === null ? 'n/a' : `${m.ratio.toFixed(2)}x`,
    m.target ?? '',
    m.pass === undefined ? '' : m.pass ? 'PASS' : 'FAIL',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
