/**
 * Use case: score predictions against measured transfer results — a predicted similarity matrix, or every
 * measure of a list computed on a feature set (the measures checked by the catalogue).
 */
import {
  EVAL_METRICS,
  renameLabels,
  describeUnmatched,
  evaluatePrediction,
  type EvalMetric,
  type EvaluateOptions,
  type EvaluationResult,
  type UnmatchedLabels,
} from '../evaluate/evaluate.js';
import { asSimilarity, evaluateMeasures as harness } from '../evaluate/harness.js';
import type { FeatureSet } from '../features/types.js';
import { readLabelledMatrix } from '../io/labelledMatrix.js';
import type { LabelledMatrix } from '../linalg/labelled.js';
import { catalogueEntry } from '../measures/catalogue.js';
import { measureViaTransfersScore } from '../benchmark/taskbankEval.js';
import { VIA_TRANSFERS_NEIGHBOURS } from '../taskonomy/viaTransfers.js';

export { EVAL_METRICS, describeUnmatched, type EvalMetric, type EvaluateOptions, type EvaluationResult, type UnmatchedLabels };

/** Score a predicted matrix (rows = sources, cols = targets) against the truth; a catalogued distance is read smaller = better. */
export function evaluateMatrix(predicted: LabelledMatrix, truth: LabelledMatrix, opts: EvaluateOptions = {}): EvaluationResult {
  return evaluatePrediction(asSimilarity(predicted), truth, opts);
}

/**
 * The same from files (labelled JSON, CSV, .npy with labels, Taskonomy result dicts); with `viaTransfers`, also the
 * prediction through the truth's other targets' transfers (evaluateViaTransfers).
 */
export async function evaluateFiles(
  predictedPath: string,
  truthPath: string,
  opts: EvaluateOptions & { labels?: string[]; viaTransfers?: { neighbours?: number } } = {},
): Promise<EvaluationResult & { via_transfers?: ViaTransfersEvaluation }> {
  const { labels, viaTransfers, ...rest } = opts;
  const predicted = await readLabelledMatrix(predictedPath, { labels });
  const truth = await readLabelledMatrix(truthPath);
  const result = evaluatePrediction(asSimilarity(predicted), truth, rest);
  return viaTransfers ? { ...result, via_transfers: evaluateViaTransfers(predicted, truth, { ...rest, ...viaTransfers }) } : result;
}

/** Every measure of the list on the feature set, each scored against the truth. */
export function evaluateMeasures(set: FeatureSet, truth: LabelledMatrix, measures: string[], opts: Parameters<typeof harness>[3] = {}) {
  for (const m of measures) catalogueEntry(m, 'representations');
  return harness(set, truth, measures, opts);
}

/** `evaluate --via-transfers`: the predicted similarity used through the truth's other targets' transfers. */
export interface ViaTransfersEvaluation {
  /** How many of the most similar other targets weigh (null: all). */
  neighbours: number | null;
  /** The tasks scored: rows and columns of both matrices (after aliases), narrowed by `targets` / `sources`. */
  tasks: string[];
  mean: number | null;
  per_target: Record<string, number | null>;
  undefined_targets: string[];
}

/**
 * Per task t that is a source and a target of both matrices, the other such tasks ranked by their measured ranks on
 * the `neighbours` tasks most similar to t under the prediction (taskonomy/viaTransfers.ts; docs/taskbank.md), scored
 * by Spearman against the truth's column t, self excluded. t's own column of the truth is never read for t.
 */
export function evaluateViaTransfers(
  predicted: LabelledMatrix,
  truth: LabelledMatrix,
  opts: Pick<EvaluateOptions, 'aliases' | 'targets' | 'sources'> & { neighbours?: number } = {},
): ViaTransfersEvaluation {
  const aliases = opts.aliases ?? {};
  const rename = (m: LabelledMatrix, what: string): LabelledMatrix => ({
    ...m,
    rows: renameLabels(m.rows, aliases, `${what} row`),
    cols: renameLabels(m.cols, aliases, `${what} column`),
  });
  const p = rename(asSimilarity(predicted), 'predicted');
  const t = rename(truth, 'truth');
  const sets = [p.rows, p.cols, t.rows, ...(opts.targets ? [opts.targets] : []), ...(opts.sources ? [opts.sources] : [])].map((l) => new Set(l));
  const tasks = t.cols.filter((l) => sets.every((s) => s.has(l)));
  if (tasks.length < 3) {
    throw new Error(
      `evaluate --via-transfers: ${tasks.length} task(s) are sources and targets of both matrices; at least 3 are needed (check the names or pass aliases)`,
    );
  }
  const row = new Map(t.rows.map((l, i) => [l, i]));
  const col = new Map(t.cols.map((l, i) => [l, i]));
  const affinities: Record<string, number> = {};
  for (const s of tasks)
    for (const u of tasks) {
      const v = t.matrix.data[row.get(s)! * t.cols.length + col.get(u)!];
      // u → u is optional (a ranking without u's own encoder); any other transfer must be measured.
      if (s === u && !Number.isFinite(v)) continue;
      if (!Number.isFinite(v)) throw new Error(`evaluate --via-transfers: the truth has no finite value for ${s} → ${u} (got ${v})`);
      affinities[`${s}__${u}`] = v;
    }
  const score = measureViaTransfersScore(p, affinities, tasks, opts.neighbours);
  const neighbours = opts.neighbours ?? VIA_TRANSFERS_NEIGHBOURS;
  return {
    neighbours: Number.isFinite(neighbours) ? neighbours : null,
    tasks,
    mean: score.mean,
    per_target: score.perTarget,
    undefined_targets: score.undefinedTargets,
  };
}
