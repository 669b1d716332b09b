/** Plain tables for the reports: one value, written as Markdown or as HTML. */
import { escapeXml } from './figures.js';

export interface Table {
  head: string[];
  rows: string[][];
  /** Columns to right-align (numbers). */
  numeric?: boolean[];
}

export function markdownTable(t: Table): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const align = t.head.map((_, i) => (t.numeric?.[i] ? '---:' : '---'));
  return [`| ${t.head.map(esc).join(' | ')} |`, `|${align.join('|')}|`, ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

export function htmlTable(t: Table): string {
  const e = escapeXml;
  const cls = (i: number) => (t.numeric?.[i] ? ' class="num"' : '');
  return `<table><tr>${t.head.map((h, i) => `<th${cls(i)}>${e(h)}</th>`).join('')}</tr>${t.rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${e(c)}</td>`).join('')}</tr>`).join('')}</table>`;
}
