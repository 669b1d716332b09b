/**
 * The evaluation harness: every measure judged the same way. Computes each measure's similarity matrix on one
 * feature set (each model prepared once per measure, batched) and scores it against measured transfer results
 * with one evaluation protocol, so the numbers in one table are comparable.
 */
import type { FeatureSet } from '../features/types.js';
import type { LabelledMatrix } from '../linalg/labelled.js';
import { similarityMatrix, type SimilarityOptions } from '../measures/similarity.js';
import { isDistance } from '../measures/catalogue.js';
import { canonicalMeasureId } from '../measures/registry.js';
import { evaluatePrediction, type EvaluateOptions, type EvaluationResult, type UnmatchedLabels } from './evaluate.js';

export interface HarnessRow {
  measure: string;
  /** Mean score over targets (null when undefined for every target). */
  mean: number | null;
  per_target: Record<string, number | null>;
  /** Wall time of the similarity matrix, ms. */
  ms: number;
  /**
   * Set when the measure could not be computed on this feature set (e.g. a tensor norm without a shape), or when
   * its score is undefined on every target (then `mean` is null and this says why).
   */
  error?: string;
}

/**
 * A predicted matrix read as "larger = more similar": a catalogued distance (its measure id says so: Procrustes, shape
 * metrics, Fisher distances) is negated, anything else is returned as is. Rank-based evaluation then needs no sign.
 */
export function asSimilarity(m: LabelledMatrix): LabelledMatrix {
  return isDistance(m.measure) ? { ...m, matrix: { ...m.matrix, data: m.matrix.data.map((v) => -v) } } : m;
}

export interface HarnessOptions extends EvaluateOptions, Omit<SimilarityOptions, 'onProgress'> {
  /** Called after each measure: (done, total, measure id). */
  onMeasure?: (done: number, total: number, measure: string) => void;
}

export async function evaluateMeasures(
  set: FeatureSet,
  truth: LabelledMatrix,
  measures: string[],
  opts: HarnessOptions = {},
): Promise<{
  rows: HarnessRow[];
  metric: EvaluationResult['metric'];
  includeSelf: boolean;
  targets: string[];
  sources: string[];
  /** Labels of the feature set or the truth left out because the other lacks them (see {@link EvaluationResult.unmatched}). */
  unmatched?: UnmatchedLabels;
}> {
  const ids = measures.map(canonicalMeasureId);
  const rows: HarnessRow[] = [];
  let last: EvaluationResult | undefined;
  for (let i = 0; i < ids.length; i++) {
    const t0 = performance.now();
    let sim: LabelledMatrix;
    try {
      sim = await similarityMatrix(set, ids[i], opts);
    } catch (err) {
      // A measure that cannot apply to these features (a tensor norm without a shape, a constant RDM) is
      // reported in its own row instead of sinking the whole table.
      rows.push({ measure: ids[i], mean: null, per_target: {}, ms: performance.now() - t0, error: (err as Error).message });
      opts.onMeasure?.(i + 1, ids.length, ids[i]);
      continue;
    }
    const ms = performance.now() - t0;
    sim = asSimilarity(sim);
    // Label mismatches between the set and the truth are the same for every measure: let them stop the run.
    last = evaluatePrediction(sim, truth, opts);
    const row: HarnessRow = { measure: ids[i], mean: last.mean, per_target: last.per_target, ms };
    // Never a bare NaN in the table: say why no target has a score.
    if (last.mean === null) {
      row.error = `undefined on every target: the ${last.metric} needs spread, and the predicted similarities of the candidate sources are constant for each target (e.g. a measure that is the same for every pair on these images)`;
    }
    rows.push(row);
    opts.onMeasure?.(i + 1, ids.length, ids[i]);
  }
  return {
    rows,
    metric: opts.metric ?? 'spearman',
    includeSelf: Boolean(opts.includeSelf),
    targets: last?.targets ?? [],
    sources: last?.sources ?? [],
    unmatched: last?.unmatched,
  };
}
