/**
 * Evaluation of a predicted task-similarity (or transferability) matrix against measured transfer results,
 * per target, then averaged (docs/evaluation.md#metrics, #dds-taskonomy-protocol).
 *
 * Both matrices are rows = sources, cols = targets; a symmetric task-similarity matrix can be passed as the
 * prediction unchanged. For each target t, the predicted column and the true column are compared over the
 * sources both matrices share. The DDS Taskonomy protocol keeps the self entry (source t for target t), which
 * inflates the correlation; the default here drops it (`includeSelf: false`) — set it to reproduce the
 * published DDS numbers.
 */
import type { LabelledMatrix } from '../linalg/labelled.js';
import { kendallTauB, pearson, spearman, weightedTau } from '../linalg/correlation.js';
import { PSEUDO_SOURCES, firstOrderMatrix, parseResultDict, renameTasks, type ResultDict } from '../taskonomy/results.js';

export type EvalMetric = 'spearman' | 'kendall' | 'weightedtau' | 'pearson' | 'top1' | 'regret';

export const EVAL_METRICS: readonly EvalMetric[] = ['spearman', 'kendall', 'weightedtau', 'pearson', 'top1', 'regret'];

export interface EvaluateOptions {
  /** Default 'spearman' (the DDS protocol). */
  metric?: EvalMetric;
  /** Targets to score, in this order (default: columns present in both matrices, in the truth's order). */
  targets?: string[];
  /**
   * Candidate sources, in this order (default: rows present in both matrices, in the truth's order). The order
   * breaks ties for `top1` / `regret`.
   */
  sources?: string[];
  /** Keep source t when scoring target t (DDS Taskonomy protocol); default false. */
  includeSelf?: boolean;
  /**
   * `old → new` label renames applied to the rows and columns of both matrices before matching (e.g. DDS
   * `vanishing_point` → Taskonomy `vanishing_point_well_defined`). `targets` and `sources` use the new names.
   */
  aliases?: Record<string, string>;
}

export interface EvaluationResult {
  metric: EvalMetric;
  includeSelf: boolean;
  /** Score per target; null where it is undefined (a constant column for a correlation metric). */
  per_target: Record<string, number | null>;
  /** Mean over the targets with a defined score; null if there is none. */
  mean: number | null;
  targets: string[];
  sources: string[];
  /** Targets whose score is undefined: reported here and left out of the mean. */
  undefined_targets: string[];
  /**
   * Labels left out because only one matrix has them, when `sources` / `targets` were not given (then the shared
   * labels are used): row labels (sources) and column labels (targets) of the prediction that the truth lacks, and
   * the other way round, after aliases. The truth's pseudo-sources (`self`, `random`, `pixels`) are never listed.
   * Empty lists when nothing was left out; shells warn with these names.
   */
  unmatched: UnmatchedLabels;
}

/** Labels one matrix has and the other lacks (see {@link EvaluationResult.unmatched}). */
export interface UnmatchedLabels {
  sources: { predictedOnly: string[]; truthOnly: string[] };
  targets: { predictedOnly: string[]; truthOnly: string[] };
}

/** One line per non-empty list of `unmatched`, for a shell's warnings; empty when every label matched. */
export function describeUnmatched(u: UnmatchedLabels): string[] {
  const lines: string[] = [];
  const list = (xs: string[]) => (xs.length > 20 ? `${xs.slice(0, 20).join(', ')}, … (${xs.length} in all)` : xs.join(', '));
  for (const kind of ['sources', 'targets'] as const) {
    const what = kind === 'sources' ? 'source (row)' : 'target (column)';
    if (u[kind].predictedOnly.length) lines.push(`${what} labels only in the prediction, left out: ${list(u[kind].predictedOnly)}`);
    if (u[kind].truthOnly.length) lines.push(`${what} labels only in the truth, left out: ${list(u[kind].truthOnly)}`);
  }
  if (lines.length) lines[lines.length - 1] += ' (check the names, or pass --alias old=new)';
  return lines;
}

const CORRELATIONS: Record<'spearman' | 'kendall' | 'weightedtau' | 'pearson', (p: Float64Array, g: Float64Array) => number> = {
  spearman,
  kendall: kendallTauB,
  // weightedtau's default rank is symmetric in its arguments; (prediction, truth) is the usual order (SFDA, TLlib).
  weightedtau: (p, g) => weightedTau(p, g),
  pearson,
};

/** Index of the largest value; the first one in source order wins a tie. */
function argmaxFirst(v: Float64Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/**
 * top1: 1 if the source the prediction ranks first is a best source by the truth (its true value equals the
 * true maximum, so any of several tied true bests counts), else 0.
 * regret: true maximum minus the true value of the predicted best (0 exactly when top1 is 1).
 * A tie for the predicted best goes to the first source in source order.
 */
function scoreTarget(metric: EvalMetric, predicted: Float64Array, truth: Float64Array): number {
  if (metric === 'top1' || metric === 'regret') {
    const chosen = truth[argmaxFirst(predicted)];
    const best = truth[argmaxFirst(truth)];
    return metric === 'top1' ? (chosen === best ? 1 : 0) : best - chosen;
  }
  return CORRELATIONS[metric](predicted, truth);
}

/** Labels with `old=new` aliases applied (own properties only); a rename that makes two labels equal is an error. */
export function renameLabels(labels: string[], aliases: Record<string, string>, what: string): string[] {
  // own properties only: a label such as "constructor" must not pick up Object.prototype members
  const out = labels.map((l) => (Object.hasOwn(aliases, l) ? aliases[l] : l));
  const seen = new Set<string>();
  for (let k = 0; k < out.length; k++) {
    if (seen.has(out[k])) throw new Error(`evaluatePrediction: after applying aliases, ${what} label "${out[k]}" appears twice`);
    seen.add(out[k]);
  }
  return out;
}

function indexOfLabels(labels: string[]): Map<string, number> {
  return new Map(labels.map((l, i) => [l, i]));
}

function requireLabels(wanted: string[], where: { name: string; index: Map<string, number>; labels: string[] }[], kind: string): void {
  const dup = wanted.find((l, i) => wanted.indexOf(l) !== i);
  if (dup !== undefined) throw new Error(`evaluatePrediction: ${kind} "${dup}" is listed twice`);
  const problems: string[] = [];
  for (const w of where) {
    const missing = wanted.filter((l) => !w.index.has(l));
    if (missing.length > 0) {
      problems.push(`${kind} ${missing.map((l) => `"${l}"`).join(', ')} not found in the ${w.name} (available: ${w.labels.join(', ')})`);
    }
  }
  if (problems.length > 0) throw new Error(`evaluatePrediction: ${problems.join('; ')}; check the names or pass aliases`);
}

const PSEUDO: ReadonlySet<string> = new Set(PSEUDO_SOURCES);

function shared(first: string[], second: Map<string, number>): string[] {
  return first.filter((l) => second.has(l));
}

/**
 * Scores `predicted` against `truth` target by target (docs/evaluation.md#metrics). Throws on unknown labels,
 * fewer than 3 sources for a target, and missing (NaN) or infinite values in the cells it uses; undefined
 * scores (constant columns) are returned as null and listed in `undefined_targets`.
 */
export function evaluatePrediction(predicted: LabelledMatrix, truth: LabelledMatrix, opts: EvaluateOptions = {}): EvaluationResult {
  const metric = opts.metric ?? 'spearman';
  if (!EVAL_METRICS.includes(metric)) {
    throw new Error(`evaluatePrediction: unknown metric "${metric}" (known: ${EVAL_METRICS.join(', ')})`);
  }
  for (const [name, m] of [
    ['predicted', predicted],
    ['truth', truth],
  ] as const) {
    if (m.rows.length !== m.matrix.rows || m.cols.length !== m.matrix.cols) {
      throw new Error(
        `evaluatePrediction: the ${name} matrix is ${m.matrix.rows}×${m.matrix.cols} but has ${m.rows.length} row and ${m.cols.length} column labels`,
      );
    }
  }
  const includeSelf = opts.includeSelf ?? false;
  const aliases = opts.aliases ?? {};
  const pRows = renameLabels(predicted.rows, aliases, 'predicted row');
  const pCols = renameLabels(predicted.cols, aliases, 'predicted column');
  const tRows = renameLabels(truth.rows, aliases, 'truth row');
  const tCols = renameLabels(truth.cols, aliases, 'truth column');
  const pRowIx = indexOfLabels(pRows);
  const pColIx = indexOfLabels(pCols);
  const tRowIx = indexOfLabels(tRows);
  const tColIx = indexOfLabels(tCols);

  const sources = opts.sources ?? shared(tRows, pRowIx);
  const targets = opts.targets ?? shared(tCols, pColIx);
  requireLabels(
    sources,
    [
      { name: 'predicted rows', index: pRowIx, labels: pRows },
      { name: 'truth rows', index: tRowIx, labels: tRows },
    ],
    'source',
  );
  requireLabels(
    targets,
    [
      { name: 'predicted columns', index: pColIx, labels: pCols },
      { name: 'truth columns', index: tColIx, labels: tCols },
    ],
    'target',
  );
  if (targets.length === 0) throw new Error('evaluatePrediction: the two matrices share no target (column) label');

  const per_target: Record<string, number | null> = {};
  const undefined_targets: string[] = [];
  let sum = 0;
  let defined = 0;
  for (const t of targets) {
    const candidates = includeSelf ? sources : sources.filter((s) => s !== t);
    if (candidates.length < 3) {
      throw new Error(
        `evaluatePrediction: target "${t}" has ${candidates.length} candidate source(s); at least 3 are needed ` +
          `(shared sources: ${sources.join(', ') || 'none'})`,
      );
    }
    const pc = pColIx.get(t)!;
    const tc = tColIx.get(t)!;
    const p = new Float64Array(candidates.length);
    const g = new Float64Array(candidates.length);
    candidates.forEach((s, k) => {
      p[k] = predicted.matrix.data[pRowIx.get(s)! * predicted.matrix.cols + pc];
      g[k] = truth.matrix.data[tRowIx.get(s)! * truth.matrix.cols + tc];
      if (!Number.isFinite(p[k]) || !Number.isFinite(g[k])) {
        const which = Number.isFinite(p[k]) ? `truth has ${g[k]}` : `prediction has ${p[k]}`;
        throw new Error(`evaluatePrediction: ${which} for source "${s}" → target "${t}"; restrict \`sources\`/\`targets\` to cells both matrices define`);
      }
    });
    const score = scoreTarget(metric, p, g);
    if (Number.isNaN(score)) {
      per_target[t] = null;
      undefined_targets.push(t);
    } else {
      per_target[t] = score;
      sum += score;
      defined++;
    }
  }
  return {
    metric,
    includeSelf,
    per_target,
    mean: defined > 0 ? sum / defined : null,
    targets: [...targets],
    sources: [...sources],
    undefined_targets,
    unmatched: {
      sources: opts.sources
        ? { predictedOnly: [], truthOnly: [] }
        : { predictedOnly: pRows.filter((l) => !tRowIx.has(l)), truthOnly: tRows.filter((l) => !pRowIx.has(l) && !PSEUDO.has(l)) },
      targets: opts.targets
        ? { predictedOnly: [], truthOnly: [] }
        : { predictedOnly: pCols.filter((l) => !tColIx.has(l)), truthOnly: tCols.filter((l) => !pColIx.has(l)) },
    },
  };
}

export interface TruthFromResultDictOptions {
  /** Source rows, in order (default: every first-order source in the dict, sorted, pseudo-sources dropped). */
  sources?: string[];
  /** Target columns, in order (default: every target in the dict, sorted). */
  targets?: string[];
  /** Keep the pseudo-sources `self`, `random`, `pixels` in the default source list; default false. */
  includePseudoSources?: boolean;
  /** `old → new` task renames applied to the dict's keys first. */
  aliases?: Record<string, string>;
}

/**
 * Ground-truth matrix G[source][target] = dict["source__target"] from a Taskonomy result dict (affinities or
 * win rates), first-order keys only; higher-order keys are ignored. Missing transfers are NaN (evaluation
 * refuses to use them). Throws when a requested source or target never occurs in the dict.
 */
export function truthFromResultDict(dict: ResultDict, opts: TruthFromResultDictOptions = {}): LabelledMatrix {
  const renamed = opts.aliases ? renameTasks(dict, opts.aliases) : dict;
  const firstOrder = parseResultDict(renamed).filter((k) => k.sources.length === 1);
  if (firstOrder.length === 0) throw new Error('truthFromResultDict: the dict has no first-order "source__target" key');
  const pseudo = new Set<string>(PSEUDO_SOURCES);
  const allSources = [...new Set(firstOrder.map((k) => k.sources[0]))].sort();
  const allTargets = [...new Set(firstOrder.map((k) => k.target))].sort();
  const sources = opts.sources ?? allSources.filter((s) => opts.includePseudoSources || !pseudo.has(s));
  const targets = opts.targets ?? allTargets;
  for (const [kind, wanted, available] of [
    ['source', sources, allSources],
    ['target', targets, allTargets],
  ] as const) {
    const known = new Set(available);
    const missing = wanted.filter((l) => !known.has(l));
    if (missing.length > 0) {
      throw new Error(
        `truthFromResultDict: ${kind} ${missing.map((l) => `"${l}"`).join(', ')} has no first-order entry ` + `(available ${kind}s: ${available.join(', ')})`,
      );
    }
  }
  return firstOrderMatrix(renamed, { sources, targets });
}
