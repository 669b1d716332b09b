/** Plain-text tables for the terminal (matrices and rankings). */
import type { LabelledMatrix } from '../linalg/labelled.js';

/** Numbers are right-aligned (and formatted to `digits`), text is left-aligned. */
export function formatTable(header: string[], rows: (string | number)[][], digits = 3): string {
  const numeric = header.map((_, j) => j > 0 && rows.some((r) => typeof r[j] === 'number'));
  const text = rows.map((r) => r.map((c) => (typeof c === 'number' ? (Number.isFinite(c) ? c.toFixed(digits) : 'NaN') : c)));
  const cells = [header, ...text];
  const widths = header.map((_, j) => Math.max(...cells.map((r) => String(r[j] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, j) => (numeric[j] ? String(c ?? '').padStart(widths[j]) : String(c ?? '').padEnd(widths[j])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map(line)].join('\n');
}

export function formatMatrix(m: LabelledMatrix, digits = 3): string {
  const rows = m.rows.map((r, i) => [r, ...m.cols.map((_, j) => m.matrix.data[i * m.cols.length + j])]);
  return formatTable(['', ...m.cols], rows, digits);
}
