import { useMemo, useState } from 'preact/hooks';
import { saveText, slug, toCsv } from '../download.js';

export type Cell = string | number | null | undefined;

function show(v: Cell, digits: number): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(digits);
  return v;
}

/** Blank cells last whatever the direction; numbers by value, text alphabetically. */
function compareCells(a: Cell, b: Cell, desc: boolean): number {
  const blankA = a === null || a === undefined;
  const blankB = b === null || b === undefined;
  if (blankA || blankB) return blankA === blankB ? 0 : blankA ? 1 : -1;
  const c = typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b));
  return desc ? -c : c;
}

/**
 * A table with CSV and JSON export. CSV holds the rows as shown (full precision); JSON is the payload the
 * table was drawn from (`json`), so nothing the server sent is lost in an export. `sortable`: a click on a
 * column's header sorts the rows by it (numbers largest first, a second click reverses; blanks stay last).
 * `footer`: a last row under the body (e.g. each column's wall time), never sorted.
 */
export function DataTable(props: {
  title: string;
  columns: string[];
  rows: Cell[][];
  json: unknown;
  digits?: number;
  id?: string;
  maxHeight?: number;
  sortable?: boolean;
  footer?: Cell[];
}) {
  const name = slug(props.id ?? props.title);
  const digits = props.digits ?? 4;
  const [sort, setSort] = useState<{ col: number; desc: boolean } | null>(null);
  const rows = useMemo(() => {
    if (!sort) return props.rows;
    // Stable: equal cells keep the server's order.
    return props.rows
      .map((r, i) => ({ r, i }))
      .sort((x, y) => compareCells(x.r[sort.col], y.r[sort.col], sort.desc) || x.i - y.i)
      .map((x) => x.r);
  }, [props.rows, sort]);
  const clickHeader = (col: number) => {
    if (!props.sortable) return;
    const numeric = props.rows.some((r) => typeof r[col] === 'number');
    setSort((s) => (s && s.col === col ? { col, desc: !s.desc } : { col, desc: numeric }));
  };
  return (
    <section class="table" data-table={name}>
      <header>
        <h3>{props.title}</h3>
        <span class="actions">
          <button
            type="button"
            class="small"
            data-export="csv"
            onClick={() => saveText(toCsv(props.columns, props.footer ? [...rows, props.footer] : rows), `${name}.csv`, 'text/csv')}
          >
            CSV
          </button>
          <button
            type="button"
            class="small"
            data-export="json"
            onClick={() => saveText(`${JSON.stringify(props.json, null, 2)}\n`, `${name}.json`, 'application/json')}
          >
            JSON
          </button>
        </span>
      </header>
      <div class="scroll" style={{ maxHeight: `${props.maxHeight ?? 360}px` }}>
        <table>
          <thead>
            <tr>
              {props.columns.map((c, j) => (
                <th
                  key={c}
                  class={props.sortable ? 'sortable' : undefined}
                  data-sort={sort?.col === j ? (sort.desc ? 'desc' : 'asc') : undefined}
                  title={props.sortable ? 'sort by this column' : undefined}
                  onClick={props.sortable ? () => clickHeader(j) : undefined}
                >
                  {c}
                  {sort?.col === j ? (sort.desc ? ' ▼' : ' ▲') : ''}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={i}>
                {r.map((v, j) => (
                  <td key={j} class={typeof v === 'number' ? 'num' : undefined}>
                    {show(v, digits)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
          {props.footer && (
            <tfoot>
              <tr>
                {props.footer.map((v, j) => (
                  <td key={j} class={typeof v === 'number' ? 'num' : undefined}>
                    {show(v, digits)}
                  </td>
                ))}
              </tr>
            </tfoot>
          )}
        </table>
      </div>
    </section>
  );
}
