/** Plain-text tables for the terminal (matrices and rankings). */
import type { LabelledMatrix } from '../linalg/labelled.js';

export function formatTable(header: string[], rows: (string | number)[][], digits = 3): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? (Number.isFinite(c) ? c.toFixed(digits) : 'NaN') : c)))];
  const widths = header.map((_, j) => Math.max(...cells.map((r) => String(r[j] ?? '').length)));
  return cells
    .map((r, i) => {
      const line = r.map((c, j) => (j === 0 ? String(c).padEnd(widths[j]) : String(c).padStart(widths[j]))).join('  ');
      return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

export function formatMatrix(m: LabelledMatrix, digits = 3): string {
  const rows = m.rows.map((r, i) => [r, ...m.cols.map((_, j) => m.matrix.data[i * m.cols.length + j])]);
  return formatTable(['', ...m.cols], rows, digits);
}
