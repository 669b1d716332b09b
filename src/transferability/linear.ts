/**
 * The linear probe (docs/transferability.md#linear-probe): 100 × stratified k-fold accuracy of an L2 multinomial
 * logistic regression on standardised features — what a practitioner would actually train on the labelled images,
 * scored on images it did not see. In each outer fold λ is chosen by an inner stratified 3-fold cross-validation on
 * that fold's training images over DEFAULT_LAMBDAS (1 … 1e-5; the benchmark's ground truth, with 100× more images,
 * goes one step further, to 1e-6). Folds are seeded (seed 0 outside, 1 inside), so the score is deterministic.
 *
 * The features are standardised once over all N labelled images (unsupervised statistics of the practitioner's own
 * set; the benchmark's ground truth instead standardises each fit on its training rows) and every fit runs in their
 * principal coordinates (reducedHeadData): r = rank ≤ min(N, D) columns instead of D, identical fits, and the cost
 * of the nested cross-validation drops by D/N when N < D — the usual case (10–50 images per class, D in the
 * thousands).
 *
 * Small inputs: k is capped at N (leave-one-out when N < folds) and the inner folds at the outer training size; a
 * training fold that holds only some classes predicts among those (logistic.ts).
 */
import { checkAllocation } from '../io/limits.js';
import { crossValidatedLogistic, DEFAULT_LAMBDAS, predictLogisticRows, reducedHeadData, stratifiedFolds } from './logistic.js';
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
  const small = Math.min(n, x.cols);
  checkAllocation(
    `the linear probe's standardised copies of the ${n}×${x.cols} features and their ${small}×${small} Gram matrix`,
    8 * (4 * n * x.cols + small * small),
    ctx.input.name ?? 'input',
  );
  const data = await ctx.memo('linear:reduced', () => reducedHeadData(x, ctx.engine));
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
    const pred = await predictLogisticRows(data, fit, test);
    test.forEach((r, i) => {
      if (pred[i] === codes[r]) hits++;
    });
  }
  return (100 * hits) / n;
};
