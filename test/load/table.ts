/** Tables of figures: plain text for the terminal, Markdown for the README. */
import type { Figure } from './harness.js';

export interface Column {
  name: string;
  figures: Figure[] | null;
  /** Shown in every cell when `figures` is null (e.g. why a proxy was not run). */
  missing?: string;
}

/** Rows by figure key, in the order of the first column that has figures. */
function rows(columns: Column[]): { label: string; cells: string[] }[] {
  const keys: { key: string; label: string }[] = [];
  for (const c of columns) for (const f of c.figures ?? []) if (!keys.some((k) => k.key === f.key)) keys.push({ key: f.key, label: f.label });
  return keys.map(({ key, label }) => ({
    label,
    cells: columns.map((c) => (c.figures === null ? (c.missing ?? 'not run') : (c.figures.find((f) => f.key === key)?.text ?? 'n/a'))),
  }));
}

export function textTable(columns: Column[]): string {
  const body = rows(columns);
  const header = ['figure', ...columns.map((c) => c.name)];
  const lines = [header, ...body.map((r) => [r.label, ...r.cells])];
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  const fmt = (l: string[]): string => l.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map((r) => fmt([r.label, ...r.cells]))].join('\n');
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

export function markdownTable(header: string[], body: string[][]): string {
  return [`| ${header.map(cell).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}
