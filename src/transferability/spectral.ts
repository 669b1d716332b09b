/**
 * The spectral preparations the feature-based scores share: centred features and the eigendecomposition of the
 * smaller Gram side of a feature matrix, computed once per candidate through the score memo (keys `spectral:*`).
 *
 * Why the smaller side: with N images and D features, `XᵀX` (D×D) and `XXᵀ` (N×N) have the same non-zero
 * eigenvalues (the squared singular values of X), and the singular vectors of the other side follow by one product
 * with X. Decomposing the min(N, D)-sized one is the whole cost of LogME, H-score, TransRate and PCA, so it must
 * happen at most once per candidate and per centring.
 *
 * Why two centrings: LogME regresses the raw features (the references do not centre, and LogME has no intercept,
 * so centring changes its value), while H-score, TransRate and PCA use the centred ones.
 */
import { transpose, type Matrix } from '../linalg/dense.js';
import { symmetricEigen } from '../linalg/eigen.js';
import { gram, type GemmEngine } from '../linalg/gemm.js';
import { checkAllocation } from '../io/limits.js';
import type { ScoreContext } from './types.js';

export interface Centred {
  /** N×D, column means removed. */
  matrix: Matrix;
  /** The D column means. */
  mean: Float64Array;
}

/** Subtract the column means (float64 accumulation, two passes so that a huge common offset cancels exactly enough). */
export function centre(x: Matrix): Centred {
  const { rows: n, cols: d } = x;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const row = i * d;
    for (let j = 0; j < d; j++) mean[j] += x.data[row + j];
  }
  for (let j = 0; j < d; j++) mean[j] /= n;
  // A second pass removes the rounding error of the first mean (matters for features with a large common offset).
  const fix = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const row = i * d;
    for (let j = 0; j < d; j++) fix[j] += x.data[row + j] - mean[j];
  }
  for (let j = 0; j < d; j++) mean[j] += fix[j] / n;
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const row = i * d;
    for (let j = 0; j < d; j++) out[row + j] = x.data[row + j] - mean[j];
  }
  return { matrix: { rows: n, cols: d, data: out }, mean };
}

export interface Spectrum {
  /** Shape of the decomposed matrix X. */
  rows: number;
  cols: number;
  /**
   * `primal`: eigenvectors of XᵀX (cols × cols; the right singular vectors V), chosen when rows ≥ cols.
   * `dual`: eigenvectors of XXᵀ (rows × rows; the left singular vectors U), chosen when rows < cols.
   */
  side: 'primal' | 'dual';
  /** The min(rows, cols) squared singular values, largest first; negative rounding noise clamped to 0. */
  values: Float64Array;
  /** side×side, column j is the unit eigenvector of values[j]. */
  vectors: Matrix;
  /**
   * Eigenvalues at or below this are indistinguishable from a zero singular value: `λmax · max(rows, cols) · 2⁻⁴⁸`.
   * An eigenvalue of a Gram matrix carries an absolute error of about `max(rows, cols) · ε · λmax` (forming the
   * product, then the QL iteration), so a fixed cut-off such as the references' 1e-10 or rcond 1e-15 would keep
   * rounding noise of duplicated or constant columns at one scale and drop real directions at another.
   */
  tolerance: number;
  /** How many values exceed the tolerance (the numerical rank). */
  rank: number;
  /** `vectors` transposed, made on first use (transposedVectors) and kept with the spectrum. */
  transposed?: Matrix;
}

/**
 * The spectrum's eigenvectors as rows, formed once per spectrum: LogME and both H-scores of a candidate project
 * onto them, and a fresh N×N array costs more in page faults than the copy itself.
 */
export function transposedVectors(spectrum: Spectrum): Matrix {
  spectrum.transposed ??= transpose(spectrum.vectors);
  return spectrum.transposed;
}

/** Relative cut-off factor of {@link Spectrum.tolerance}: 2⁻⁴⁸ ≈ 3.6e-15, i.e. 16 ε. */
const RANK_EPS = 2 ** -48;

/** Eigendecomposition of the smaller Gram side of `x` (see {@link Spectrum}); `dualGram`, when given, is x·xᵀ already formed. */
export async function spectrumOf(x: Matrix, engine: GemmEngine, dualGram?: Matrix): Promise<Spectrum> {
  const { rows, cols } = x;
  const side = rows >= cols ? 'primal' : 'dual';
  const g = side === 'primal' ? await gram(transpose(x), { engine }) : (dualGram ?? (await gram(x, { engine })));
  const eig = symmetricEigen(g);
  const values = eig.values;
  for (let i = 0; i < values.length; i++) if (!(values[i] > 0)) values[i] = 0;
  const tolerance = (values[0] ?? 0) * Math.max(rows, cols) * RANK_EPS;
  let rank = 0;
  while (rank < values.length && values[rank] > tolerance) rank++;
  return { rows, cols, side, values, vectors: eig.vectors, tolerance, rank };
}

/**
 * Coordinates of targets in the singular basis, scaled by the singular values: `P[t][i] = s_i · u_iᵀ y_t =
 * v_iᵀ Xᵀ y_t` for each target column `y_t` (given as the rows of `yt`, T×N). In this form no division by a
 * vanishing singular value is needed: LogME uses `P²`, H-score `P² / σ` only above the tolerance.
 */
export async function singularCoordinates(spectrum: Spectrum, x: Matrix, yt: Matrix, engine: GemmEngine): Promise<Matrix> {
  const { rows: n, cols: d } = x;
  if (yt.cols !== n) throw new Error(`singularCoordinates: targets have ${yt.cols} values each, features ${n} rows`);
  const t = yt.rows;
  const k = spectrum.values.length;
  const vt = transposedVectors(spectrum);
  if (spectrum.side === 'dual') {
    // Uᵀy scaled by s.
    const c = await engine.abt(yt.data, t, vt.data, k, n);
    for (let r = 0; r < t; r++) for (let i = 0; i < k; i++) c[r * k + i] *= Math.sqrt(spectrum.values[i]);
    return { rows: t, cols: k, data: c };
  }
  // (YᵀX)·V: YᵀX first (T×D), then its rows against V's columns.
  const yx = await engine.abt(yt.data, t, transpose(x).data, d, n);
  const c = await engine.abt(yx, t, vt.data, k, d);
  return { rows: t, cols: k, data: c };
}

/** Class indicators as the rows of a C×N matrix (the transposed one-hot target). */
export function indicatorRows(codes: Int32Array, classes: number): Matrix {
  const n = codes.length;
  const data = new Float64Array(classes * n);
  for (let i = 0; i < n; i++) data[codes[i] * n + i] = 1;
  return { rows: classes, cols: n, data };
}

/** The candidate's features, centred, shared by every score of the candidate. */
export function centredFeatures(ctx: ScoreContext): Promise<Centred> {
  return ctx.memo('spectral:centred', () => centre(features(ctx)));
}

/** The smaller-side eigendecomposition of the candidate's raw (`raw`) or centred (`centred`) features, computed once. */
export function featureSpectrum(ctx: ScoreContext, which: 'raw' | 'centred'): Promise<Spectrum> {
  return ctx.memo(`spectral:eigen:${which}`, async () => {
    if (which === 'raw') return spectrumOf(features(ctx), ctx.engine);
    const x = (await centredFeatures(ctx)).matrix;
    // In the dual the decomposed matrix is the centred Gram matrix kNN and SFDA use too: form it once.
    return spectrumOf(x, ctx.engine, x.rows < x.cols ? await centredGram(ctx) : undefined);
  });
}

/**
 * The N×N Gram matrix of the centred features, shared by the scores of a candidate that need all pairwise
 * inner products (kNN's distances, SFDA's dual form). Centring first keeps a large common offset out of the
 * products, where it would cancel catastrophically in ‖a‖² + ‖b‖² − 2a·b.
 */
export function centredGram(ctx: ScoreContext): Promise<Matrix> {
  return ctx.memo('gram:centred', async () => {
    const n = ctx.input.features!.rows;
    checkAllocation(`the ${n}×${n} Gram matrix of the images`, 8 * n * n, ctx.input.name ?? 'input');
    return gram((await centredFeatures(ctx)).matrix, { engine: ctx.engine });
  });
}

function features(ctx: ScoreContext): Matrix {
  const f = ctx.input.features;
  if (!f) throw new Error(`${ctx.input.name ?? 'input'}: this score needs the candidate's features`);
  return f;
}
