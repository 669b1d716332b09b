/**
 * The score table (`taskmap rank --measure all`): every candidate under several measures at once — label-based
 * scores and representation measures side by side, one column each, with each column's wall time.
 *
 * Each column is the same ranking `rankSources` gives for that measure alone (same bootstrap draws, same
 * statistics), so a column can be checked against a single-measure run. Two differences, both for the table's
 * sake: a candidate a score cannot rate (LEEP / NCE without its class probabilities, a failed input check) keeps
 * its row with a blank cell and a note instead of failing the whole table, and a column that cannot be computed
 * at all (e.g. RSA's correlation RDM on a single regression value) is kept, empty, with the reason.
 *
 * The scores of one candidate are computed together so that they share its memo (one eigendecomposition of the
 * centred Gram matrix for LogME, H-score and TransRate); a column's time is the scorer's own time summed over
 * candidates and draws, so shared work is counted in the first score that needs it.
 */
import type { Representation } from '../features/types.js';
import { getGemmEngine } from '../linalg/gemm.js';
import { measureId, parseMeasure, describeMeasure } from '../measures/registry.js';
import { standardScoreIds } from '../measures/scoreFamilies.js';
import {
  assembleRanking,
  bootstrapSubsets,
  checkBootstrapOptions,
  checkCandidates,
  drawName,
  rankSources,
  scoreLabels,
  type BootstrapInfo,
  type LabelKind,
  type RankOptions,
  type RankResult,
  type Target,
  type TargetInfo,
} from './rank.js';
import { isScoreId, matchProbabilities, scoreColumns, scoreOf } from './scoreColumns.js';

/**
 * The columns of `--measure all` for a labels target: the standard scores (standardScoreIds; for a regression
 * target only the scores that rate regression), then `rsa` and the default `dds`.
 */
export function standardRankMeasures(kind: LabelKind = 'class'): string[] {
  const scores = standardScoreIds().filter((id) => kind === 'class' || scoreOf(id).family.taskTypes.includes('regression'));
  return [...scores, 'rsa', measureId(parseMeasure('dds'))];
}

export interface RankTableOptions extends Omit<RankOptions, 'measure' | 'onProgress'> {
  /** Column ids: scores and representation measures in any mix (default: standardRankMeasures of the target). */
  measures?: readonly string[];
  /** The column the rows are ordered by (default: the first). */
  sortBy?: string;
  /** Progress over the columns and draws; `label` names the column being computed. */
  onProgress?: (done: number, total: number, label: string) => void;
}

export interface RankTableColumn {
  /** Canonical id. */
  id: string;
  name: string;
  kind: 'score' | 'representation';
  /**
   * Wall time, ms, on all images and every draw: a score's own time summed over the candidates, or the batched
   * computation of a representation measure.
   */
  ms: number;
  /** The ranking by this column alone (candidates without a value in `result.missing`); null when it failed as a whole. */
  result: RankResult | null;
  /** Why the column could not be computed at all. */
  error?: string;
}

export interface RankTableRow {
  label: string;
  /** Rank by the sort-by column (null: no value there). */
  rank: number | null;
  /** One value per column, in column order; null = blank (see the notes). */
  values: (number | null)[];
}

export interface RankTableModel {
  model: string;
  /** Rank of the model's best layer by the sort-by column. */
  rank: number | null;
  layers: number;
  /** Per column: the model's best layer under that column, and its value (null: no value). */
  best: ({ layer: string; label: string; score: number } | null)[];
}

export interface RankTable {
  /** Column ids, canonical, in order. */
  measures: string[];
  sortBy: string;
  target: TargetInfo;
  n_images: number;
  bootstrap: Omit<BootstrapInfo, 'skipped' | 'skipReasons'> | null;
  columns: RankTableColumn[];
  /** Candidates by the sort-by column, best first; those without a value there last, in input order. */
  rows: RankTableRow[];
  /** With groupBy 'model': models ranked by the sort-by column's best layer. */
  groups?: RankTableModel[];
  /** Blank cells, skipped draws and failed columns, explained. */
  notes: string[];
}

function canonical(id: string): string {
  return isScoreId(id) ? scoreOf(id).id : measureId(parseMeasure(id));
}

function nameOf(id: string): string {
  return isScoreId(id) ? scoreOf(id).family.name : describeMeasure(id).name;
}

/** Blank cells grouped by reason (a reason shared by several columns and candidates is one note). */
function missingNotes(columns: RankTableColumn[]): string[] {
  const byReason = new Map<string, { ids: string[]; labels: string[] }>();
  for (const c of columns) {
    const perReason = new Map<string, string[]>();
    for (const m of c.result?.missing ?? []) perReason.set(m.reason, [...(perReason.get(m.reason) ?? []), m.label]);
    for (const [reason, labels] of perReason) {
      const key = `${labels.join('\u0000')}\u0001${reason}`;
      const e = byReason.get(key) ?? { ids: [], labels };
      e.ids.push(c.id);
      byReason.set(key, e);
    }
  }
  return [...byReason.entries()].map(([key, e]) => {
    const reason = key.slice(key.indexOf('\u0001') + 1);
    const shown = e.labels.length <= 6 ? e.labels.join(', ') : `${e.labels.slice(0, 6).join(', ')}, … (${e.labels.length} in all)`;
    return `${e.ids.join(', ')}: no value for ${shown} — ${reason}`;
  });
}

/**
 * Rank candidates under several measures at once (see the module comment). Scores need a labels target; with only
 * representation measures any target works, as in rankSources.
 */
export async function rankTable(candidates: Representation[], target: Target, opts: RankTableOptions = {}): Promise<RankTable> {
  checkCandidates(candidates);
  const n = candidates[0].n;
  const { draws, subset, seed } = checkBootstrapOptions(opts, n);
  const defaults = target.kind === 'labels' ? standardRankMeasures(target.labelKind) : undefined;
  const requested = opts.measures ?? defaults;
  if (!requested) {
    const what =
      target.kind === 'member' ? `a member ("${target.label}")` : `features (${target.kind === 'representation' ? target.representation.label : ''})`;
    throw new Error(
      `the standard score table needs the new task's labels as the target (one label per probe image), not ${what}; ` +
        'name the measures to tabulate representation measures against it',
    );
  }
  if (requested.length === 0) throw new Error('no measures for the table');
  const ids = requested.map(canonical);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup !== undefined) throw new Error(`measure "${dup}" is in the table twice`);
  const sortBy = opts.sortBy === undefined ? ids[0] : canonical(opts.sortBy);
  const sortColumn = ids.indexOf(sortBy);
  if (sortColumn < 0) throw new Error(`sort by "${opts.sortBy}": not one of the table's measures (${ids.join(', ')})`);
  const scoreIds = ids.filter(isScoreId);
  const repIds = ids.filter((id) => !isScoreId(id));
  const labels = scoreIds.length > 0 ? scoreLabels(target, n, scoreIds[0]) : undefined;
  const engine = opts.engine ?? (await getGemmEngine());
  const probabilities = opts.probabilities ? matchProbabilities(candidates, opts.probabilities, opts.separator) : undefined;
  const subsets = draws > 0 ? bootstrapSubsets(n, subset, draws, seed) : [];
  const { measures: _m, sortBy: _s, onProgress, ...rest } = opts;
  const steps = draws + 1;
  const total = (repIds.length + (scoreIds.length > 0 ? 1 : 0)) * steps;
  let base = 0;

  const columns = new Map<string, RankTableColumn>();
  let info: TargetInfo | undefined = labels?.info;
  if (labels) {
    onProgress?.(0, total, scoreIds.join(', '));
    const cols = await scoreColumns(candidates, {
      ids: scoreIds,
      target: labels.target,
      targetName: labels.name,
      probabilities,
      subsets,
      drawName: drawName(draws, seed, subset),
      strict: false,
      engine,
      onStep: (done) => onProgress?.(base + done + 1, total, done === 0 ? 'scores on all images' : 'scores on the draws'),
    });
    base += steps;
    for (const col of cols) {
      const result = assembleRanking(
        {
          id: col.id,
          larger: true,
          info: labels.info,
          n,
          pool: candidates,
          full: col.full,
          missing: col.missing,
          boot: draws > 0 ? { draws, subset, seed, scores: col.draws!, skipped: col.skipped } : undefined,
        },
        rest,
      );
      columns.set(col.id, { id: col.id, name: col.family.name, kind: 'score', ms: col.ms + col.drawsMs, result });
    }
  }
  for (const id of repIds) {
    const t0 = performance.now();
    const at = base;
    onProgress?.(at, total, id);
    let column: RankTableColumn;
    try {
      const result = await rankSources(candidates, target, { ...rest, engine, measure: id, onProgress: (d) => onProgress?.(at + d, total, id) });
      column = { id, name: nameOf(id), kind: 'representation', ms: performance.now() - t0, result };
      info ??= result.target;
    } catch (e) {
      column = { id, name: nameOf(id), kind: 'representation', ms: performance.now() - t0, result: null, error: (e as Error).message };
    }
    columns.set(id, column);
    base += steps;
    onProgress?.(base, total, id);
  }
  const ordered = ids.map((id) => columns.get(id)!);
  if (!info) {
    // Every column failed before it knew its target: the first failure is the table's.
    throw new Error(ordered.find((c) => c.error)?.error ?? 'no column could be computed');
  }

  // Rows: the sort-by column's ranking, then candidates without a value there; a member target is not a row.
  const excluded = ordered.map((c) => c.result?.target.excluded).find((e) => e !== undefined);
  const pool = candidates.filter((c) => c.label !== excluded);
  const valueMaps = ordered.map((c) => new Map((c.result?.ranking ?? []).map((e) => [e.label, e])));
  const sortRanking = ordered[sortColumn].result?.ranking ?? [];
  const ranked = sortRanking.map((e) => e.label);
  const labelsInOrder = [...ranked, ...pool.map((c) => c.label).filter((l) => !ranked.includes(l))];
  const rows: RankTableRow[] = labelsInOrder.map((label) => ({
    label,
    rank: valueMaps[sortColumn].get(label)?.rank ?? null,
    values: valueMaps.map((m) => m.get(label)?.score ?? null),
  }));

  const notes: string[] = [];
  if (target.kind === 'labels' && target.labelKind === 'regression' && opts.measures === undefined) {
    const left = standardScoreIds().filter((id) => !scoreIds.includes(id));
    if (left.length) notes.push(`classification-only scores left out for a regression target: ${left.join(', ')}`);
  }
  for (const c of ordered) if (c.error) notes.push(`${c.id}: not computed — ${c.error}`);
  notes.push(...missingNotes(ordered));
  for (const c of ordered) {
    const b = c.result?.bootstrap;
    if (b && b.skipped > 0) {
      const why = (b.skipReasons ?? []).map((r) => `${r.reason} (${r.draws})`).join('; ');
      notes.push(`${c.id}: ${b.skipped} of ${b.draws} draws skipped — ${why}`);
    }
  }

  const table: RankTable = {
    measures: ids,
    sortBy,
    target: info,
    n_images: n,
    bootstrap: draws > 0 ? { draws, subset, seed, generator: 'mulberry32 + partial Fisher–Yates (src/linalg/resample.ts)' } : null,
    columns: ordered,
    rows,
    notes,
  };
  if (opts.groupBy === 'model') table.groups = tableGroups(ordered, sortColumn);
  return table;
}

/** Models in the sort-by column's order (then the rest), each with its best layer under every column. */
function tableGroups(columns: RankTableColumn[], sortColumn: number): RankTableModel[] {
  const perColumn = columns.map((c) => new Map((c.result?.groups ?? []).map((g) => [g.model, g])));
  const models: string[] = [];
  for (const m of [perColumn[sortColumn], ...perColumn]) for (const model of m.keys()) if (!models.includes(model)) models.push(model);
  return models.map((model) => {
    const entries = perColumn.map((m) => m.get(model));
    return {
      model,
      rank: entries[sortColumn]?.rank ?? null,
      layers: Math.max(...entries.map((e) => e?.layers ?? 0)),
      best: entries.map((e) => (e ? { layer: e.bestLayer, label: e.label, score: e.score } : null)),
    };
  });
}
