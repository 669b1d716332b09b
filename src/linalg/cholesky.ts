/**
 * Shifted symmetric solves (α·A + β·I)·X = R, the inner step of the regularised discriminants (SFDA) and of any
 * ridge-type system on a Gram or scatter matrix.
 */
import type { GemmEngine } from './gemm.js';
import { symmetricEigen } from './eigen.js';
import { loadLapack } from './lapack.js';

/** Columns per block of the blocked Cholesky; below two blocks the plain loop is faster than a GEMM round trip. */
const CHOLESKY_BLOCK = 128;

/**
 * Cholesky factor L (lower triangle of a row-major n×n array; the upper part is scratch) of M = α·A + β·I for a
 * symmetric positive semi-definite A. Every pivot of M is at least its smallest eigenvalue, itself ≥ β, so a pivot
 * below β/2 can only come from rounding: then return null and let the caller take the eigendecomposition route.
 * Blocked: each block column's update of the trailing matrix is one GEMM through the engine, so the JS loops do
 * only O(N²·block) of the N³/6 multiply-adds (the GEMM computes the whole symmetric update, twice the triangle,
 * and is still an order of magnitude faster than the plain loop at N = 1000).
 */
async function choleskyShifted(a: Float64Array, n: number, alpha: number, beta: number, engine: GemmEngine): Promise<Float64Array | null> {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) l[i * n + j] = alpha * a[i * n + j] + (i === j ? beta : 0);
  for (let k0 = 0; k0 < n; k0 += CHOLESKY_BLOCK) {
    const kb = Math.min(CHOLESKY_BLOCK, n - k0);
    const blocked = n - k0 >= 2 * CHOLESKY_BLOCK;
    const end = blocked ? k0 + kb : n;
    // Columns k0…end−1: left-looking within the block (earlier blocks are already folded into the entries).
    for (let j = k0; j < end; j++) {
      const rj = j * n;
      let s = l[rj + j];
      for (let k = k0; k < j; k++) s -= l[rj + k] * l[rj + k];
      if (!(s >= beta / 2)) return null;
      const ljj = Math.sqrt(s);
      l[rj + j] = ljj;
      for (let i = j + 1; i < n; i++) {
        const ri = i * n;
        let t = l[ri + j];
        for (let k = k0; k < j; k++) t -= l[ri + k] * l[rj + k];
        l[ri + j] = t / ljj;
      }
    }
    if (!blocked) break;
    // Trailing update A22 −= L21·L21ᵀ (lower triangle), L21 = rows end…n−1 of the block's columns.
    const m = n - end;
    const panel = new Float64Array(m * kb);
    for (let i = 0; i < m; i++) panel.set(l.subarray((end + i) * n + k0, (end + i) * n + k0 + kb), i * kb);
    const update = await engine.abt(panel, m, panel, m, kb);
    for (let i = 0; i < m; i++) {
      const ri = (end + i) * n + end;
      for (let j = 0; j <= i; j++) l[ri + j] -= update[i * m + j];
    }
  }
  return l;
}

export interface SolveShiftedOptions {
  /** `auto` (default): LAPACK's dpotrf/dpotrs when the native engine is installed, else the blocked JS factor; `js` forces the latter. */
  solver?: 'auto' | 'js';
}

/**
 * Solve (α·A + β·I)·X = R for a symmetric positive semi-definite n×n A and n×m R (row-major); β > 0. Cholesky
 * first (native when available: ~10× the blocked JS factor at n = 1000); when rounding makes it break down (A
 * nearly singular and β tiny against ‖αA‖, so a pivot falls below β/2, which no exact pivot can), the
 * eigendecomposition of A with its rounding-negative eigenvalues clamped to 0.
 */
export async function solveShifted(
  a: Float64Array,
  n: number,
  alpha: number,
  beta: number,
  r: Float64Array,
  m: number,
  engine: GemmEngine,
  opts: SolveShiftedOptions = {},
): Promise<Float64Array> {
  const lapack = opts.solver === 'js' ? undefined : loadLapack();
  if (lapack) {
    const shifted = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) shifted[i * n + j] = alpha * a[i * n + j] + (i === j ? beta : 0);
    const solved = lapack.cholSolve(shifted, n, r, m, beta / 2);
    if (solved) return solved;
    return eigenSolve(a, n, alpha, beta, r, m);
  }
  const l = await choleskyShifted(a, n, alpha, beta, engine);
  if (!l) return eigenSolve(a, n, alpha, beta, r, m);
  const x = Float64Array.from(r);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < i; k++) {
      const lik = l[i * n + k];
      if (lik !== 0) for (let c = 0; c < m; c++) x[i * m + c] -= lik * x[k * m + c];
    }
    for (let c = 0; c < m; c++) x[i * m + c] /= l[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    for (let k = i + 1; k < n; k++) {
      const lki = l[k * n + i];
      if (lki !== 0) for (let c = 0; c < m; c++) x[i * m + c] -= lki * x[k * m + c];
    }
    for (let c = 0; c < m; c++) x[i * m + c] /= l[i * n + i];
  }
  return x;
}

/** The robust route of solveShifted: A's eigendecomposition, rounding-negative eigenvalues clamped to 0. */
function eigenSolve(a: Float64Array, n: number, alpha: number, beta: number, r: Float64Array, m: number): Float64Array {
  const x = new Float64Array(n * m);
  const { values, vectors } = symmetricEigen({ rows: n, cols: n, data: a });
  const v = vectors.data;
  const proj = new Float64Array(n * m); // Vᵀ·R, scaled by the inverse eigenvalues
  for (let k = 0; k < n; k++) {
    const inv = 1 / (alpha * Math.max(values[k], 0) + beta);
    for (let i = 0; i < n; i++) {
      const vik = v[i * n + k];
      for (let c = 0; c < m; c++) proj[k * m + c] += vik * r[i * m + c];
    }
    for (let c = 0; c < m; c++) proj[k * m + c] *= inv;
  }
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) for (let c = 0; c < m; c++) x[i * m + c] += v[i * n + k] * proj[k * m + c];
  return x;
}
