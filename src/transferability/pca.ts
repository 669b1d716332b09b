/**
 * Exact PCA of the rows of a feature matrix, for the scores that reduce features first (GBC, PARC, NLEEP).
 *
 * Exact, not randomised: the references call scikit-learn's PCA, whose `auto` solver switches to a randomised SVD
 * for large inputs (PARC pins `svd_solver='randomized', iterated_power=1`), so their components are approximate
 * and depend on a random state. Here the components come from the eigendecomposition of the centred Gram matrix's
 * smaller side (spectral.ts), which is deterministic and what the randomised solver approximates; scores can
 * therefore differ from the references' in the directions the randomised solver gets wrong.
 */
import { getGemmEngine, type GemmEngine } from '../linalg/gemm.js';
import type { Matrix } from '../linalg/dense.js';
import { centre, centredFeatures, featureSpectrum, spectrumOf, type Spectrum } from './spectral.js';
import type { ScoreContext } from './types.js';

export interface PcaOptions {
  /** Keep this many components (an integer ≥ 1), capped at the numerical rank of the centred rows. */
  components?: number;
  /**
   * Keep the fewest components whose explained-variance share exceeds this value, in (0, 1] (scikit-learn's
   * fractional `n_components`: the first k with cumulative ratio > variance; 1 keeps every component up to the rank).
   */
  variance?: number;
  engine?: GemmEngine;
}

export interface PcaResult {
  /** N×k: the centred rows projected on the k components. Column signs make each column's largest-|value| entry positive. */
  scores: Matrix;
  components: number;
  /** Variance along each kept component (ddof 1, as scikit-learn's `explained_variance_`). */
  explainedVariance: Float64Array;
  /** Share of the total variance along each kept component. */
  explainedRatio: Float64Array;
}

/** Exact PCA of the rows of `x` (see the module comment). `components` and `variance` are exclusive; neither keeps every component up to the rank. */
export async function pca(x: Matrix, opts: { components?: number; variance?: number; engine?: GemmEngine }): Promise<PcaResult> {
  checkOptions(opts);
  const engine = opts.engine ?? (await getGemmEngine());
  const centred = centre(x).matrix;
  return pcaFromSpectrum(centred, await spectrumOf(centred, engine), opts, engine);
}

/** PCA of a candidate's features for a score, sharing the centred features and their eigendecomposition through the memo. */
export async function candidatePca(ctx: ScoreContext, opts: { components?: number; variance?: number }): Promise<PcaResult> {
  checkOptions(opts);
  const centred = (await centredFeatures(ctx)).matrix;
  return pcaFromSpectrum(centred, await featureSpectrum(ctx, 'centred'), opts, ctx.engine);
}

function checkOptions(opts: PcaOptions): void {
  if (opts.components !== undefined && opts.variance !== undefined) throw new Error('pca: give components or variance, not both');
  if (opts.components !== undefined && !(Number.isInteger(opts.components) && opts.components >= 1)) {
    throw new Error(`pca: components must be an integer ≥ 1, got ${opts.components}`);
  }
  if (opts.variance !== undefined && !(opts.variance > 0 && opts.variance <= 1)) throw new Error(`pca: variance must be in (0, 1], got ${opts.variance}`);
}

/** How many components to keep, from the eigenvalues of the centred Gram matrix. */
function keptComponents(spectrum: Spectrum, opts: PcaOptions): number {
  const { values, rank } = spectrum;
  if (opts.components !== undefined) return Math.min(opts.components, rank);
  if (opts.variance === undefined || opts.variance >= 1) return rank;
  let total = 0;
  for (const v of values) total += v;
  let cumulative = 0;
  for (let k = 0; k < rank; k++) {
    cumulative += values[k];
    if (cumulative / total > opts.variance) return k + 1;
  }
  return rank;
}

/** PCA from a precomputed spectrum of the centred matrix `centred`. */
export async function pcaFromSpectrum(centred: Matrix, spectrum: Spectrum, opts: PcaOptions, engine: GemmEngine): Promise<PcaResult> {
  const n = centred.rows;
  const k = keptComponents(spectrum, opts);
  const { values, vectors } = spectrum;
  let total = 0;
  for (const v of values) total += v;
  const scores = new Float64Array(n * k);
  if (spectrum.side === 'dual') {
    // Scores = U·S: the eigenvectors of the centred Gram matrix scaled by the singular values.
    const m = vectors.cols;
    for (let j = 0; j < k; j++) {
      const s = Math.sqrt(values[j]);
      for (let i = 0; i < n; i++) scores[i * k + j] = vectors.data[i * m + j] * s;
    }
  } else if (k > 0) {
    // Scores = X·V_k, with V_k's columns passed as rows.
    const d = centred.cols;
    const vk = new Float64Array(k * d);
    for (let j = 0; j < k; j++) for (let r = 0; r < d; r++) vk[j * d + r] = vectors.data[r * d + j];
    scores.set(await engine.abt(centred.data, n, vk, k, d));
  }
  for (let j = 0; j < k; j++) {
    let best = 0;
    for (let i = 1; i < n; i++) if (Math.abs(scores[i * k + j]) > Math.abs(scores[best * k + j])) best = i;
    if (scores[best * k + j] < 0) for (let i = 0; i < n; i++) scores[i * k + j] = -scores[i * k + j];
  }
  const explainedVariance = new Float64Array(k);
  const explainedRatio = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    explainedVariance[j] = values[j] / (n - 1);
    explainedRatio[j] = values[j] / total;
  }
  return { scores: { rows: n, cols: k, data: scores }, components: k, explainedVariance, explainedRatio };
}
