/**
 * TransRate, TLlib variant (Huang et al., ICML 2022; docs/transferability.md#transrate): the coding rate of the
 * centred features minus the mean coding rate of each class's rows (taken from the globally centred features, not
 * re-centred). Coding rate R(Z) = ½ log det(I + ZᵀZ / (n·ε)), n = rows of Z.
 *
 * The log-determinant comes from the eigenvalues λ of the smaller Gram side (ZZᵀ when n < d, else ZᵀZ): R = ½ Σ
 * log(1 + λ/(nε)). Both sides have the same non-zero eigenvalues, so this is exact for N < D, costs min(n, d)³
 * instead of d³, and never forms a determinant that could overflow. Eigenvalues that rounding leaves slightly
 * negative count as 0 (they stand for a zero singular value).
 */
import { transpose, type Matrix } from '../linalg/dense.js';
import { symmetricEigenvalues } from '../linalg/eigen.js';
import { gram } from '../linalg/gemm.js';
import { centredFeatures, featureSpectrum } from './spectral.js';
import type { ClassTarget, ScoreContext, Scorer } from './types.js';

function codingRate(eigenvalues: ArrayLike<number>, n: number, eps: number): number {
  let r = 0;
  for (let k = 0; k < eigenvalues.length; k++) if (eigenvalues[k] > 0) r += Math.log1p(eigenvalues[k] / (n * eps));
  return r / 2;
}

/** The rows of `x` whose code is `c`. */
function classRows(x: Matrix, codes: Int32Array, c: number, count: number): Matrix {
  const d = x.cols;
  const out = new Float64Array(count * d);
  let r = 0;
  for (let i = 0; i < x.rows; i++) if (codes[i] === c) out.set(x.data.subarray(i * d, (i + 1) * d), d * r++);
  return { rows: count, cols: d, data: out };
}

/** Coding rate of a class's rows, from the eigenvalues of their smaller Gram side (the same side rule as spectral.ts). */
async function classCodingRate(ctx: ScoreContext, z: Matrix, eps: number): Promise<number> {
  const g = z.rows < z.cols ? await gram(z, { engine: ctx.engine }) : await gram(transpose(z), { engine: ctx.engine });
  // A 1×1 Gram matrix is its own eigenvalue; skip the solver for singleton classes.
  const values = g.rows === 1 ? g.data : symmetricEigenvalues(g);
  return codingRate(values, z.rows, eps);
}

export const transrate: Scorer = async (ctx) => {
  const eps = ctx.params.eps as number;
  const target = ctx.input.target as ClassTarget;
  const x = (await centredFeatures(ctx)).matrix;
  // The whole-set eigenvalues are the ones LogME, H-score and PCA share through the memo.
  const whole = codingRate((await featureSpectrum(ctx, 'centred')).values, x.rows, eps);
  let classes = 0;
  for (let c = 0; c < target.counts.length; c++) classes += await classCodingRate(ctx, classRows(x, target.codes, c, target.counts[c]), eps);
  return whole - classes / target.counts.length;
};
