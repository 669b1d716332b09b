/**
 * The score table of `/api/rank` with measure "all": one row per candidate, one column per measure (the
 * label-based scores, then rsa and dds), sortable by any column, each column's wall time in the footer, and the
 * server's notes for every blank cell, skipped draw and failed column.
 */
import type { RankTablePayload } from '../types.js';
import { DataTable, type Cell } from './DataTable.js';

export function ScoreTable(props: { t: RankTablePayload }) {
  const { t } = props;
  const boot = t.bootstrap;
  const columns = ['rank', 'source', 'family', ...t.measures];
  const rows: Cell[][] = t.rows.map((r) => [r.rank, r.label, t.families?.[r.label] ?? null, ...r.values]);
  const footer: Cell[] = [null, 'wall time (s)', null, ...t.columns.map((c) => Number((c.ms / 1000).toFixed(3)))];
  return (
    <div class="panel" data-score-table data-sort-by={t.sortBy}>
      <p class="note">
        {t.measures.length} measures · {t.rows.length} sources · {t.n_images} images · target {t.target.label}
        {t.target.labels?.classes ? ` (${t.target.labels.classes.length} classes)` : ''} · ranked by <code>{t.sortBy}</code> (click a column to sort by it)
        {boot ? ` · ${boot.draws} draws of ${boot.subset} images (seed ${boot.seed}): intervals and P(best) of every cell in the JSON export` : ''}
      </p>
      <DataTable title="Scores of every source" id="score-table" columns={columns} rows={rows} footer={footer} json={t} sortable maxHeight={520} />
      {t.notes.length > 0 && (
        <ul class="notes" data-notes>
          {t.notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
