/**
 * The linear probe (docs/transferability.md#linear-probe): 100 × stratified k-fold accuracy of an L2 multinomial
 * logistic regression on standardised features — what a practitioner would actually train on the labelled images,
 * scored on images it did not see. In each outer fold λ is chosen by an inner stratified 3-fold cross-validation on
 * that fold's training images over DEFAULT_LAMBDAS (the same grid as the benchmark's ground truth); each fit is
 * standardised on its own training images. Folds are seeded (seed 0 outside, 1 inside), so the score is
 * deterministic.
 *
 * Small inputs: k is capped at N (leave-one-out when N < folds) and the inner folds at the outer training size; a
 * training fold that holds only some classes predicts among those (logistic.ts), one with a single class predicts it.
 * N < D needs nothing special: the penalty keeps the problem strictly convex and the cost is N·D·C per iteration.
 */
import { checkAllocation } from '../io/limits.js';
import { crossValidatedLogistic, DEFAULT_LAMBDAS, headData, predictLogistic, stratifiedFolds } from './logistic.js';
import type { ClassTarget, Scorer } from './types.js';

const INNER_FOLDS = 3;
const OUTER_SEED = 0;
const INNER_SEED = 1;
/** Gradient tolerance of the fits (max |∇f|; accuracy does not move below it). */
const TOL = 1e-5;

export const linear: Scorer = async (ctx) => {
  const x = ctx.input.features!;
  const codes = (ctx.input.target as ClassTarget).codes;
  const n = x.rows;
  checkAllocation(`the linear probe's centred copies of the ${n}×${x.cols} features`, 16 * n * x.cols, ctx.input.name ?? 'input');
  const data = await ctx.memo('linear:data', () => headData(x, ctx.engine));
  const k = Math.min(ctx.params.folds as number, n);
  const fold = stratifiedFolds(codes, k, OUTER_SEED);
  let hits = 0;
  for (let f = 0; f < k; f++) {
    const train: number[] = [];
    const test: number[] = [];
    for (let i = 0; i < n; i++) (fold[i] === f ? test : train).push(i);
    // Stratified outer folds leave every class (≥ 2 images each) in every training part; inner folds may miss one.
    const { fit } = await crossValidatedLogistic(data, codes, {
      rows: train,
      lambdas: DEFAULT_LAMBDAS,
      folds: Math.min(INNER_FOLDS, train.length),
      seed: INNER_SEED,
      tol: TOL,
    });
    const xt = { rows: test.length, cols: x.cols, data: new Float64Array(test.length * x.cols) };
    test.forEach((r, i) => xt.data.set(x.data.subarray(r * x.cols, (r + 1) * x.cols), i * x.cols));
    const pred = await predictLogistic(fit, xt, ctx.engine);
    test.forEach((r, i) => {
      if (pred[i] === codes[r]) hits++;
    });
  }
  return (100 * hits) / n;
};
