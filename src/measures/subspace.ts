/**
 * The linear algebra the Procrustes, shape and CCA families share: each model reduced once to its principal axes
 * (the component scores X·v_k and the variances λ_k), and the singular values of a cross product of two such
 * reductions. Every value these families need — nuclear norms for Procrustes, canonical correlations for CCA — is a
 * function of the singular values of diag(w_x)·S_x·S_yᵀ·diag(w_y) for per-side weights w, because the right
 * singular vectors of X drop out of XᵀY's singular values. So a pair costs one r_x×r_y product (r ≤ min(n, p)) and
 * one symmetric eigendecomposition, whatever the widths.
 */
import { zeros, type Matrix } from '../linalg/dense.js';
import { gram, type GemmEngine } from '../linalg/gemm.js';
import { symmetricEigen, symmetricEigenvalues } from '../linalg/eigen.js';

/**
 * Whitening leaves out components with at most this fraction of the largest variance: they are rounding noise in
 * the null space of X (netrep clips eigenvalues at an absolute 1e-7 instead, which depends on the data's scale).
 */
export const WHITEN_DROP = 1e-10;

/** Columns centred over the images (in place). */
export function centerColumns(x: Matrix): Matrix {
  const { rows: n, cols: p, data } = x;
  const mean = new Float64Array(p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) mean[j] += data[i * p + j];
  for (let j = 0; j < p; j++) mean[j] /= n;
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) data[i * p + j] -= mean[j];
  return x;
}

/** ‖X‖²_F. */
export function squaredNorm(data: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < data.length; k++) s += data[k] * data[k];
  return s;
}

/** Xᵀ as a row-major p×n array. */
export function transposeData(x: Matrix): Float64Array {
  const { rows: n, cols: p, data } = x;
  const out = new Float64Array(n * p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) out[j * n + i] = data[i * p + j];
  return out;
}

/**
 * A representation in its principal axes: X = S·Vᵀ with S = X·V (n×r), V orthonormal. `scores` holds Sᵀ (r×n,
 * row k = the k-th component's scores, squared norm λ_k), largest variance first.
 */
export interface PrincipalAxes {
  n: number;
  /** Features of the input (p). */
  p: number;
  /** Components kept. */
  r: number;
  /** r×n row-major: row k = (X·v_k)ᵀ. */
  scores: Float64Array;
  /** λ_k = ‖X·v_k‖², the eigenvalues of XᵀX that were kept, descending. */
  lambda: Float64Array;
  /** ‖X‖²_F = Σ of all eigenvalues, computed from the entries. */
  total: number;
}

/**
 * Principal axes of X (columns as given: centre first when the measure centres). Components whose variance is at most
 * `dropBelow` × the largest are left out — they are rounding noise in the null space of X (constant or duplicated
 * features, or n ≤ p), and a whitening step would otherwise blow them up. With `dropBelow` = 0 only exact zeros (and
 * rounding negatives) are left out. The smaller Gram matrix is decomposed: XᵀX when p ≤ n (scores = X·V by one GEMM,
 * exact to rounding), XXᵀ when p > n (scores = √λ_k·u_k).
 */
export async function principalAxes(x: Matrix, engine: GemmEngine, dropBelow: number): Promise<PrincipalAxes> {
  const { rows: n, cols: p } = x;
  const total = squaredNorm(x.data);
  const empty = (): PrincipalAxes => ({ n, p, r: 0, scores: new Float64Array(0), lambda: new Float64Array(0), total });
  if (n === 0 || p === 0 || total === 0) return empty();
  if (p <= n) {
    const xt = transposeData(x);
    const g = await gram({ rows: p, cols: n, data: xt }, { engine });
    const { values, vectors } = symmetricEigen(g);
    const keep = kept(values, dropBelow);
    if (keep === 0) return empty();
    // Vᵀ (keep×p): row k = eigenvector k.
    const vt = new Float64Array(keep * p);
    for (let k = 0; k < keep; k++) for (let j = 0; j < p; j++) vt[k * p + j] = vectors.data[j * p + k];
    const scores = await engine.abt(vt, keep, x.data, n, p);
    const lambda = new Float64Array(keep);
    for (let k = 0; k < keep; k++) lambda[k] = squaredNorm(scores.subarray(k * n, (k + 1) * n));
    return { n, p, r: keep, scores, lambda, total };
  }
  const g = await gram(x, { engine });
  const { values, vectors } = symmetricEigen(g);
  const keep = kept(values, dropBelow);
  if (keep === 0) return empty();
  const scores = new Float64Array(keep * n);
  const lambda = new Float64Array(keep);
  for (let k = 0; k < keep; k++) {
    const s = Math.sqrt(values[k]);
    lambda[k] = values[k];
    for (let i = 0; i < n; i++) scores[k * n + i] = s * vectors.data[i * n + k];
  }
  return { n, p, r: keep, scores, lambda, total };
}

function kept(values: Float64Array, dropBelow: number): number {
  const top = values[0];
  if (!(top > 0)) return 0;
  let k = 0;
  while (k < values.length && values[k] > dropBelow * top && values[k] > 0) k++;
  return k;
}

/** The r_a×r_b matrix diag(wa)·A·Bᵀ·diag(wb) of two score blocks (rows = components, n columns each), by one GEMM. */
export async function weightedCross(
  a: Float64Array,
  ra: number,
  wa: Float64Array | undefined,
  b: Float64Array,
  rb: number,
  wb: Float64Array | undefined,
  n: number,
  engine: GemmEngine,
): Promise<Float64Array> {
  if (ra === 0 || rb === 0) return new Float64Array(0);
  const c = await engine.abt(a, ra, b, rb, n, 'float64');
  if (wa || wb) {
    for (let i = 0; i < ra; i++) {
      const s = wa ? wa[i] : 1;
      for (let j = 0; j < rb; j++) c[i * rb + j] *= s * (wb ? wb[j] : 1);
    }
  }
  return c;
}

/**
 * The min(r, c) singular values of an r×c matrix, descending: the non-negative eigenvalues of the symmetric
 * [[0, C], [Cᵀ, 0]], which are ±σ. Unlike the square roots of CᵀC's eigenvalues they keep full relative accuracy
 * next to the largest one (σ² would lose everything below √ε·σ_max).
 */
export function singularValues(c: Float64Array, r: number, cols: number): Float64Array {
  const k = Math.min(r, cols);
  if (k === 0) return new Float64Array(0);
  if (r === 1 || cols === 1) return Float64Array.of(Math.sqrt(squaredNorm(c)));
  const m = r + cols;
  const aug = zeros(m, m);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < cols; j++) {
      const v = c[i * cols + j];
      aug.data[i * m + r + j] = v;
      aug.data[(r + j) * m + i] = v;
    }
  }
  const values = symmetricEigenvalues(aug);
  const out = new Float64Array(k);
  for (let i = 0; i < k; i++) out[i] = Math.max(0, values[i]);
  return out;
}

/** Σ σ_i. */
export function nuclearNorm(c: Float64Array, r: number, cols: number): number {
  return singularValues(c, r, cols).reduce((a, s) => a + s, 0);
}
