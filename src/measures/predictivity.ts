/**
 * Linear predictivity (docs/measures.md#linear-predictivity): how well a ridge regression from one model's features
 * predicts another model's features on held-out images — the cross-validated R² of the encoding-model literature
 * (Yamins et al. 2014; Schrimpf et al., Brain-Score), here between two networks.
 *
 * Protocol: seeded k folds (linalg/crossfit.ts, the zoo-transfer readouts' assignment); on each training fold both
 * sides are centred on the training mean (an unpenalised intercept), λ = ratio × tr(K_train)/t is chosen from a fixed
 * grid by exact leave-one-out error on the training fold (the PRESS identity), and the held-out images are predicted.
 * R² = 1 − Σ‖y_i − ŷ_i‖² / Σ‖y_i − ȳ‖² over every held-out image and every target feature (scikit-learn's
 * variance-weighted R² of the out-of-fold predictions), so it is ≤ 1 and can be negative.
 *
 * Everything runs on n×n Gram matrices (the dual form), whatever the widths: a model is prepared once — its Gram G,
 * and as a predictor each fold's eigendecomposition — and a pair costs a few t×t GEMMs per fold, never touching
 * the p or q features again.
 */
import { centredBlocks, foldAssignment } from '../linalg/crossfit.js';
import type { Matrix } from '../linalg/dense.js';
import { symmetricEigen } from '../linalg/eigen.js';
import { gram, type GemmEngine } from '../linalg/gemm.js';
import type { PairwiseFamily, PairwiseParams } from './pairwise.js';
import { transposeData } from './subspace.js';

/**
 * The λ grid, as multiples of the mean eigenvalue tr(K_train)/t of the training fold's centred Gram (so one grid
 * fits every scale): from almost no shrinkage to shrinking every direction away (predicting the training mean).
 */
export const PREDICTIVITY_RIDGE_RATIOS: readonly number[] = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100, 1e3, 1e4];

interface Fold {
  train: Int32Array;
  test: Int32Array;
  /** Eigenvalues of the centred training Gram (clipped at 0) and Uᵀ (row k = eigenvector k), t×t. */
  s: Float64Array;
  ut: Float64Array;
  /** tr(K_train)/t. */
  scale: number;
  /** Uᵀ·K_train,test (t×e) and its Gram B·Bᵀ (t×t). */
  b: Float64Array;
  bbt: Float64Array;
}

interface Predictive {
  label: string;
  n: number;
  /** The uncentred n×n Gram X·Xᵀ. */
  g: Matrix;
  /** Σ‖x_i − x̄‖²: the target's total variance (R²'s denominator). */
  total: number;
  folds: Fold[];
}

function indicesOf(fold: Int32Array, f: number, inFold: boolean): Int32Array {
  const out: number[] = [];
  fold.forEach((v, i) => {
    if ((v === f) === inFold) out.push(i);
  });
  return Int32Array.from(out);
}

async function preparePredictive(x: Matrix, params: PairwiseParams, label: string, engine: GemmEngine): Promise<Predictive> {
  const n = x.rows;
  const k = params.folds as number;
  let assignment: Int32Array;
  try {
    assignment = foldAssignment(n, k, params.foldSeed as number);
  } catch (e) {
    throw new Error(`${label}: ${(e as Error).message}`, { cause: e });
  }
  const g = await gram(x, { engine });
  let trace = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    trace += g.data[i * n + i];
    for (let j = 0; j < n; j++) sum += g.data[i * n + j];
  }
  const folds: Fold[] = [];
  for (let f = 0; f < k; f++) {
    const train = indicesOf(assignment, f, false);
    const test = indicesOf(assignment, f, true);
    const { kTrain, kTest } = centredBlocks(g, train, test);
    const t = train.length;
    const e = test.length;
    const eig = symmetricEigen(kTrain);
    const s = eig.values.map((v) => Math.max(0, v));
    const ut = transposeData(eig.vectors);
    let tr = 0;
    for (let i = 0; i < t; i++) tr += kTrain.data[i * t + i];
    const b = await engine.abt(ut, t, kTest.data, e, t, 'float64');
    const bbt = await engine.abt(b, t, b, t, e, 'float64');
    folds.push({ train, test, s, ut, scale: tr / t, b, bbt });
  }
  return { label, n, g, total: Math.max(0, trace - sum / n), folds };
}

/** Σ over held-out images of ‖y − ŷ‖² for predictor `a` → target `b` on one fold, λ chosen by leave-one-out. */
async function heldOutError(fold: Fold, target: Predictive, engine: GemmEngine): Promise<number> {
  const { train, test, s, ut, scale, b, bbt } = fold;
  const t = train.length;
  const e = test.length;
  const { kTrain: ltt, kTest: lte } = centredBlocks(target.g, train, test);
  // tr(L_test,test) of the target centred on the training mean: Σ_e (G_ee − 2 ḡ_e + c).
  const n = target.n;
  const gbar = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let k = 0; k < t; k++) acc += target.g.data[i * n + train[k]];
    gbar[i] = acc / t;
  }
  let c = 0;
  for (let k = 0; k < t; k++) c += gbar[train[k]];
  c /= t;
  let trEE = 0;
  for (let a = 0; a < e; a++) trEE += target.g.data[test[a] * n + test[a]] - 2 * gbar[test[a]] + c;
  // A predictor with no variance on the training fold predicts the training mean.
  if (!(scale > 0)) return Math.max(0, trEE);

  // M = Uᵀ L_tt U and N = Uᵀ L_t,test.
  const uLtt = await engine.abt(ut, t, ltt.data, t, t, 'float64');
  const m = await engine.abt(uLtt, t, ut, t, t, 'float64');
  const nte = await engine.abt(ut, t, lte.data, e, t, 'float64');

  // Leave-one-out error of each λ: residuals R = U diag(λ/(s+λ)) Uᵀ Y, Σ_d R_id² = (P M Pᵀ)_ii with P = U diag(λ/(s+λ));
  // the unpenalised intercept adds 1/t to every hat diagonal.
  let best = Infinity;
  let bestLambda = 0;
  const p = new Float64Array(t * t);
  for (const ratio of PREDICTIVITY_RIDGE_RATIOS) {
    const lambda = ratio * scale;
    for (let i = 0; i < t; i++) for (let k = 0; k < t; k++) p[i * t + k] = ut[k * t + i] * (lambda / (s[k] + lambda));
    const pm = await engine.abt(p, t, m, t, t, 'float64');
    let loo = 0;
    for (let i = 0; i < t; i++) {
      let h = 1 / t;
      let r2 = 0;
      for (let k = 0; k < t; k++) {
        const u = ut[k * t + i];
        h += (u * u * s[k]) / (s[k] + lambda);
        r2 += pm[i * t + k] * p[i * t + k];
      }
      const denom = Math.max(1 - h, 1e-12);
      loo += Math.max(0, r2) / (denom * denom);
    }
    if (loo < best) {
      best = loo;
      bestLambda = lambda;
    }
  }
  // Held-out error at the chosen λ, d = 1/(s+λ): tr(L_ee) − 2 Σ_k d_k (B∘N)_k· + Σ_kl d_k d_l M_kl (BBᵀ)_kl.
  const d = Float64Array.from(s, (v) => 1 / (v + bestLambda));
  let cross = 0;
  for (let k = 0; k < t; k++) {
    let acc = 0;
    for (let a = 0; a < e; a++) acc += b[k * e + a] * nte[k * e + a];
    cross += d[k] * acc;
  }
  let quad = 0;
  for (let k = 0; k < t; k++) {
    let acc = 0;
    for (let l = 0; l < t; l++) acc += m[k * t + l] * d[l] * bbt[k * t + l];
    quad += d[k] * acc;
  }
  return Math.max(0, trEE - 2 * cross + quad);
}

async function r2(a: Predictive, b: Predictive, engine: GemmEngine): Promise<number> {
  if (!(b.total > 0)) {
    throw new Error(`${b.label}: every image has the same features, so there is nothing to predict (R² is undefined for a constant target)`);
  }
  let ss = 0;
  for (const fold of a.folds) ss += await heldOutError(fold, b, engine);
  return 1 - ss / b.total;
}

export const predictivityFamily: PairwiseFamily<Predictive> = {
  id: 'predictivity',
  name: 'Linear predictivity (cross-validated ridge R²)',
  description:
    "Out-of-fold R² of a ridge regression from the row model's features to the column model's (X → Y), over seeded folds, " +
    'λ chosen on each training fold by exact leave-one-out error from a fixed grid (ratio × mean eigenvalue of the training ' +
    'Gram, ratio 1e-6 … 1e4). Variance-weighted over the target features; ≤ 1, negative when worse than the mean. ' +
    'symmetrize averages both directions.',
  reference: 'Yamins et al., PNAS 2014; Schrimpf et al., Brain-Score, 2018; Klabunde et al., Similarity of Neural Network Models: A Survey, 2023',
  params: [
    { name: 'folds', type: 'number', default: 5, min: 2, integer: true, description: 'number of cross-validation folds (needs at least 2 images per fold)' },
    { name: 'foldSeed', type: 'number', default: 1, min: 0, max: 4294967295, integer: true, description: 'seed of the fold assignment (mulberry32)' },
    { name: 'symmetrize', type: 'flag', default: false, description: 'report (R²(X→Y) + R²(Y→X))/2 (symmetric)' },
  ],
  largerIsMoreSimilar: true,
  symmetric: (p) => p.symmetrize === true,
  metric: false,
  // Of either input: the Gram matrices, the relative λ grid and the variance-weighted R² see only rotation-invariant quantities.
  invariances: ['orthogonal', 'isotropic-scaling', 'translation', 'feature-permutation'],
  cost: { tier: 'expensive', scaling: 'M·(n²·p + k·t³) (Gram and fold eigendecompositions per model) + M²·k·|grid|·t³, t ≈ n(k − 1)/k' },
  fewImages:
    'Works in the dual (Gram) form, so any n and p: with n ≤ p an unregularised fit would interpolate the training images, and ' +
    'the leave-one-out choice of λ picks the shrinkage instead. Needs at least 2 images per fold.',
  standard: ['predictivity', 'predictivity:symmetrize'],
  prepare: (x, params, label, ctx) => preparePredictive(x, params, label, ctx.engine),
  async compare(a, b, params, ctx) {
    const forward = await r2(a, b, ctx.engine);
    return params.symmetrize ? (forward + (await r2(b, a, ctx.engine))) / 2 : forward;
  },
};
