/**
 * Use case: what a Taskonomy result dict ({"source__target": number}: affinities, wins_vs_pixels, wins_vs_task)
 * holds — its transfers, tasks and targets, and the roles the supervision policy gives its tasks by default — and
 * its first-order source × target matrix. The server's file listing and `/api/results/*` report these.
 */
import { LimitError } from '../io/limits.js';
import type { LabelledMatrix } from '../linalg/labelled.js';
import { buildPolicyModel } from '../taskonomy/policy.js';
import { firstOrderMatrix, parseResultDict, PSEUDO_SOURCES, type ResultDict } from '../taskonomy/results.js';

/** How many transfers a result dict has and for how many distinct targets (the file listing's summary). */
export function resultDictSummary(dict: ResultDict): { transfers: number; targets: number } {
  const keys = parseResultDict(dict);
  return { transfers: keys.length, targets: new Set(keys.map((k) => k.target)).size };
}

export interface ResultDictInfo {
  transfers: number;
  /** Number of transfers per order (number of sources). */
  orders: Record<number, number>;
  /** Every real task, as source or target (pseudo-sources left out), sorted. */
  tasks: string[];
  targets: string[];
  /** The pseudo-sources (self, random, pixels, …) the dict uses. */
  pseudoSources: string[];
  /** The roles the policy gives the tasks by default (from the library's own defaults). */
  defaultRoles: { targets: string[]; sourceOnly: string[]; targetOnly: string[] };
}

/** Tasks of a result dict and the roles the policy gives them by default. */
export function describeResultDict(dict: ResultDict): ResultDictInfo {
  const keys = parseResultDict(dict);
  const pseudo = new Set<string>(PSEUDO_SOURCES);
  const tasks = new Set<string>();
  const pseudoPresent = new Set<string>();
  const orders: Record<number, number> = {};
  for (const k of keys) {
    orders[k.sources.length] = (orders[k.sources.length] ?? 0) + 1;
    for (const t of [...k.sources, k.target]) (pseudo.has(t) ? pseudoPresent : tasks).add(t);
  }
  const model = buildPolicyModel({ affinities: dict, budget: Number.MAX_VALUE, maxOrder: Math.max(1, ...keys.map((k) => k.sources.length)) });
  return {
    transfers: keys.length,
    orders,
    tasks: [...tasks].sort(),
    targets: [...new Set(keys.map((k) => k.target))].sort(),
    pseudoSources: [...pseudoPresent].sort(),
    defaultRoles: { targets: model.targets, sourceOnly: model.sourceOnly, targetOnly: model.targetOnly },
  };
}

/**
 * Largest first-order matrix the server sends for display, in cells (sources × targets): 4 million cells are
 * about 40 MB of JSON, already more than a browser heatmap shows usefully. Larger views are refused (413) before
 * the matrix is built; the CLI reads such files without this limit.
 */
export const MAX_MATRIX_VIEW_CELLS = 4_000_000;

/**
 * First-order matrix of a result dict (rows = sources, cols = targets; missing transfers NaN, null in JSON).
 * With `maxCells`, a matrix larger than that is refused with a LimitError naming `name` and the size, before
 * anything is allocated.
 */
export function resultMatrix(dict: ResultDict, opts: { sources?: string[]; targets?: string[]; name?: string; maxCells?: number } = {}): LabelledMatrix {
  if (opts.maxCells !== undefined) {
    const needRows = opts.sources === undefined;
    const needCols = opts.targets === undefined;
    const rows = new Set<string>(opts.sources);
    const cols = new Set<string>(opts.targets);
    if (needRows || needCols) {
      for (const k of parseResultDict(dict)) {
        if (k.sources.length !== 1) continue;
        if (needRows) rows.add(k.sources[0]);
        if (needCols) cols.add(k.target);
      }
    }
    const nRows = opts.sources?.length ?? rows.size;
    const nCols = opts.targets?.length ?? cols.size;
    if (nRows * nCols > opts.maxCells) {
      const fmt = (n: number) => n.toLocaleString('en-US');
      throw new LimitError(
        `${opts.name ?? 'result dict'}: its first-order matrix would be ${fmt(nRows)} sources × ${fmt(nCols)} targets = ${fmt(nRows * nCols)} cells, ` +
          `over the display limit of ${fmt(opts.maxCells)} cells; select sources and targets, or use the CLI, which reads the file without this limit`,
      );
    }
  }
  return firstOrderMatrix(dict, { sources: opts.sources, targets: opts.targets, name: opts.name });
}
