/**
 * Eigen-decompositions: the full symmetric one (MDS, CCA whitening, kernels, transferability scores) via LAPACK
 * when the optional native engine is installed and ml-matrix otherwise, and the Perron–Frobenius vector of a
 * positive matrix by power iteration (AHP, docs/taskonomy.md#ahp).
 */
import { createRequire } from 'node:module';
import { firstNonFinite, zeros, type Matrix } from './dense.js';
import { lapackUnavailableReason, loadLapack, type NativeLapack } from './lapack.js';

function checkSquareFinite(m: Matrix, name: string): void {
  if (m.rows !== m.cols) throw new Error(`${name}: matrix is ${m.rows}×${m.cols}, not square`);
  if (m.data.length !== m.rows * m.cols) {
    throw new Error(`${name}: matrix data holds ${m.data.length} values, expected ${m.rows}×${m.cols}`);
  }
  const bad = firstNonFinite(m.data);
  if (bad >= 0) {
    const i = Math.floor(bad / m.cols);
    throw new Error(`${name}: entry (${i}, ${bad - i * m.cols}) is ${m.data[bad]}; the matrix must be finite`);
  }
}

/** Which solver symmetricEigen uses: `auto` (native when available), or one forced (`lapack` throws when it is absent). */
export type EigenEngine = 'auto' | 'lapack' | 'js';

export interface SymmetricEigenOptions {
  /**
   * Largest accepted |a_ij − a_ji| relative to max |a|; default 1e-10 (GEMM results are symmetric only up to
   * rounding). The two triangles are averaged before decomposing.
   */
  symmetryTolerance?: number;
  /** Default `auto`: LAPACK's dsyevd through the optional native engine (src/linalg/lapack.ts), else ml-matrix. */
  engine?: EigenEngine;
}

export interface SymmetricEigen {
  /** Eigenvalues, largest first. */
  values: Float64Array;
  /** Column j is the unit eigenvector of values[j]. */
  vectors: Matrix;
}

/**
 * Eigen-decomposition of a real symmetric matrix: LAPACK's divide and conquer (dsyevd) when the optional native
 * engine is installed, ml-matrix's tridiagonal QL otherwise; the two agree to rounding, except that each
 * eigenvector's sign (and the basis of a repeated eigenvalue's eigenspace) is the solver's choice.
 * Throws on asymmetric or non-finite input.
 */
export function symmetricEigen(m: Matrix, opts: SymmetricEigenOptions = {}): SymmetricEigen {
  const { sym, n, lapack } = prepare(m, opts, 'symmetricEigen');
  if (!lapack) return mlMatrixEigen(sym, n);
  const { values, vectors } = lapack.eigh(sym, n);
  return { values, vectors: { rows: n, cols: n, data: vectors } };
}

/**
 * The eigenvalues alone, largest first, with symmetricEigen's checks: for log-determinants, traces and spectra.
 * On the native path LAPACK then skips forming the eigenvectors (~2.5× faster at N = 1000); ml-matrix forms them
 * regardless.
 */
export function symmetricEigenvalues(m: Matrix, opts: SymmetricEigenOptions = {}): Float64Array {
  const { sym, n, lapack } = prepare(m, opts, 'symmetricEigenvalues');
  return lapack ? lapack.eigh(sym, n, false).values : mlMatrixEigen(sym, n).values;
}

/** The checked, symmetrised copy of `m` that either solver decomposes, and the native engine when it is to be used. */
function prepare(m: Matrix, opts: SymmetricEigenOptions, fn: string): { sym: Float64Array; n: number; lapack?: NativeLapack } {
  checkSquareFinite(m, fn);
  const engine = opts.engine ?? 'auto';
  if (engine !== 'auto' && engine !== 'lapack' && engine !== 'js') throw new Error(`${fn}: engine must be auto, lapack or js, got ${String(engine)}`);
  const n = m.rows;
  const tol = opts.symmetryTolerance ?? 1e-10;
  let scale = 0;
  for (let k = 0; k < m.data.length; k++) scale = Math.max(scale, Math.abs(m.data[k]));
  const sym = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    sym[i * n + i] = m.data[i * n + i];
    for (let j = i + 1; j < n; j++) {
      const aij = m.data[i * n + j];
      const aji = m.data[j * n + i];
      if (Math.abs(aij - aji) > tol * scale) {
        throw new Error(
          `${fn}: matrix is not symmetric: (${i}, ${j}) = ${aij} but (${j}, ${i}) = ${aji} ` +
            `(tolerance ${tol} × max |a| = ${tol * scale}); use a general eigensolver or symmetrise it first`,
        );
      }
      const s = (aij + aji) / 2;
      sym[i * n + j] = s;
      sym[j * n + i] = s;
    }
  }
  const lapack = engine === 'js' ? undefined : loadLapack();
  if (engine === 'lapack' && !lapack) throw new Error(`${fn}: the native LAPACK engine is unavailable: ${lapackUnavailableReason()}`);
  return { sym, n, lapack };
}

/** ml-matrix, loaded on the first decomposition without the native engine (not at start-up). */
function mlMatrix(): typeof import('ml-matrix') {
  return createRequire(import.meta.url)('ml-matrix') as typeof import('ml-matrix');
}

function mlMatrixEigen(sym: Float64Array, n: number): SymmetricEigen {
  const { EigenvalueDecomposition, Matrix: MlMatrix } = mlMatrix();
  const evd = new EigenvalueDecomposition(MlMatrix.from1DArray(n, n, sym), { assumeSymmetric: true });
  const raw = evd.realEigenvalues;
  const vecs = evd.eigenvectorMatrix;
  // ml-matrix returns ascending order for symmetric input; sort explicitly rather than rely on it.
  const order = Array.from(raw.keys()).sort((p, q) => raw[q] - raw[p]);
  const values = new Float64Array(n);
  const vectors = zeros(n, n);
  for (let j = 0; j < n; j++) {
    values[j] = raw[order[j]];
    for (let i = 0; i < n; i++) vectors.data[i * n + j] = vecs.get(i, order[j]);
  }
  return { values, vectors };
}

export interface PowerIterationOptions {
  /** Stop when no entry of the L1-normalised vector moves by more than this; default 1e-15. */
  tolerance?: number;
  /** Default 10 000. */
  maxIterations?: number;
}

export interface PrincipalEigen {
  /** The Perron root (spectral radius). */
  value: number;
  /** Its eigenvector, entries positive, summing to 1. */
  vector: Float64Array;
  iterations: number;
}

/**
 * Principal (Perron) eigenpair of a non-negative matrix by power iteration from the uniform vector; meant for
 * positive matrices such as AHP reciprocal matrices, where it always converges. Throws on negative or non-finite
 * entries and when it does not converge (e.g. a periodic, reducible matrix).
 */
export function principalEigenvector(m: Matrix, opts: PowerIterationOptions = {}): PrincipalEigen {
  checkSquareFinite(m, 'principalEigenvector');
  const n = m.rows;
  if (n === 0) throw new Error('principalEigenvector: matrix is empty');
  for (let k = 0; k < m.data.length; k++) {
    if (m.data[k] < 0) {
      const i = Math.floor(k / n);
      throw new Error(`principalEigenvector: entry (${i}, ${k - i * n}) is negative (${m.data[k]}); power iteration needs a non-negative matrix`);
    }
  }
  const tol = opts.tolerance ?? 1e-15;
  const maxIterations = opts.maxIterations ?? 10_000;
  let v = new Float64Array(n).fill(1 / n);
  let next = new Float64Array(n);
  for (let it = 1; it <= maxIterations; it++) {
    let norm = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += m.data[i * n + j] * v[j];
      next[i] = s;
      norm += s;
    }
    if (!(norm > 0)) throw new Error('principalEigenvector: A·v vanished; the matrix has a zero spectral radius');
    let change = 0;
    for (let i = 0; i < n; i++) {
      next[i] /= norm;
      change = Math.max(change, Math.abs(next[i] - v[i]));
    }
    [v, next] = [next, v];
    // v sums to 1 and is positive, so ‖A·v‖₁ = λ·‖v‖₁ = λ at the fixed point.
    if (change <= tol) return { value: norm, vector: v, iterations: it };
  }
  throw new Error(
    `principalEigenvector: no convergence to ${tol} in ${maxIterations} iterations ` +
      '(the matrix may be reducible or periodic); raise maxIterations or tolerance',
  );
}
