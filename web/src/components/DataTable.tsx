import { saveText, slug, toCsv } from '../download.js';

export type Cell = string | number | null | undefined;

function show(v: Cell, digits: number): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(digits);
  return v;
}

/**
 * A table with CSV and JSON export. CSV holds the rows as shown (full precision); JSON is the payload the
 * table was drawn from (`json`), so nothing the server sent is lost in an export.
 */
export function DataTable(props: { title: string; columns: string[]; rows: Cell[][]; json: unknown; digits?: number; id?: string; maxHeight?: number }) {
  const name = slug(props.id ?? props.title);
  const digits = props.digits ?? 4;
  return (
    <section class="table" data-table={name}>
      <header>
        <h3>{props.title}</h3>
        <span class="actions">
          <button type="button" class="small" data-export="csv" onClick={() => saveText(toCsv(props.columns, props.rows), `${name}.csv`, 'text/csv')}>
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
              {props.columns.map((c) => (
                <th key={c}>{c}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {props.rows.map((r, i) => (
              <tr key={i}>
                {r.map((v, j) => (
                  <td key={j} class={typeof v === 'number' ? 'num' : undefined}>
                    {show(v, digits)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
