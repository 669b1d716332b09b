/**
 * Use case: score predictions against measured transfer results — a predicted similarity matrix, or every
 * measure of a list computed on a feature set (the measures checked by the catalogue).
 */
import {
  EVAL_METRICS,
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

export { EVAL_METRICS, describeUnmatched, type EvalMetric, type EvaluateOptions, type EvaluationResult, type UnmatchedLabels };

/** Score a predicted matrix (rows = sources, cols = targets) against the truth; a catalogued distance is read smaller = better. */
export function evaluateMatrix(predicted: LabelledMatrix, truth: LabelledMatrix, opts: EvaluateOptions = {}): EvaluationResult {
  return evaluatePrediction(asSimilarity(predicted), truth, opts);
}

/** The same from files (labelled JSON, CSV, .npy with labels, Taskonomy result dicts). */
export async function evaluateFiles(predictedPath: string, truthPath: string, opts: EvaluateOptions & { labels?: string[] } = {}): Promise<EvaluationResult> {
  const { labels, ...rest } = opts;
  const predicted = await readLabelledMatrix(predictedPath, { labels });
  const truth = await readLabelledMatrix(truthPath);
  return evaluatePrediction(asSimilarity(predicted), truth, rest);
}

/** Every measure of the list on the feature set, each scored against the truth. */
export function evaluateMeasures(set: FeatureSet, truth: LabelledMatrix, measures: string[], opts: Parameters<typeof harness>[3] = {}) {
  for (const m of measures) catalogueEntry(m, 'representations');
  return harness(set, truth, measures, opts);
}
