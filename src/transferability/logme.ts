/**
 * LogME (You et al., ICML 2021; fixed-point solver of the JMLR extension): per target column, the maximum
 * log-evidence of a Bayesian linear regression of that column on the raw features, divided by N and averaged over
 * columns (one per class of the one-hot target, or per regression column). docs/transferability.md#logme.
 *
 * Everything follows from the smaller-side spectrum of F (spectral.ts): with `σ_i` the squared singular values
 * and `p_i = s_i·u_iᵀy = v_iᵀFᵀy`, both solvers need only `Σ p_i²/(t+σ_i)²` (‖m‖²) and
 * `‖y‖² − Σ p_i²(2t+σ_i)/(t+σ_i)²` (‖y − Fm‖²), so an iteration costs O(min(N, D)) per column and no singular
 * value is ever divided by.
 */
import type { Matrix } from '../linalg/dense.js';
import type { GemmEngine } from '../linalg/gemm.js';
import { featureSpectrum, indicatorRows, singularCoordinates, type Spectrum } from './spectral.js';
import type { ScoreTarget, Scorer } from './types.js';

const LOG_2PI = Math.log(2 * Math.PI);

/** The target columns as rows (T×N): class indicators, or the transposed regression values. */
function targetRows(target: ScoreTarget): Matrix {
  if (target.kind === 'class') return indicatorRows(target.codes, target.classes.length);
  const { rows: n, cols: t, data } = target.values;
  const out = new Float64Array(t * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < t; j++) out[j * n + i] = data[i * t + j];
  return { rows: t, cols: n, data: out };
}

interface Column {
  /** ‖y‖². */
  yy: number;
  /** p_i² for the min(N, D) singular directions. */
  p2: Float64Array;
}

/**
 * The three sums of one iteration at `t = α/β`. `N − γ` is accumulated as `(N − k) + Σ t/(σ_i + t)` rather than by
 * subtraction, so that β stays positive when the features fit y almost exactly (γ → N in floating point).
 */
function sums(sigma: Float64Array, col: Column, t: number, n: number) {
  let gamma = 0;
  let nMinusGamma = n - sigma.length;
  let m2 = 0;
  let fit = 0;
  for (let i = 0; i < sigma.length; i++) {
    const s = sigma[i];
    const q = t + s;
    gamma += s / q;
    nMinusGamma += t / q;
    const p2 = col.p2[i];
    m2 += p2 / (q * q);
    fit += (p2 * (2 * t + s)) / (q * q);
  }
  return { gamma, nMinusGamma, m2, res2: Math.max(0, col.yy - fit) };
}

function logDetTerm(sigma: Float64Array, alpha: number, beta: number): number {
  let s = 0;
  for (let i = 0; i < sigma.length; i++) s += Math.log(alpha + beta * sigma[i]);
  return s;
}

/**
 * The LogME repository's default (`_fit_fixed_point`): at most 11 updates, stop when α/β moves by ≤ 0.1 %
 * (relative); evidence with the final α, β and the m², res² of the last iteration, the log-determinant over the
 * min(N, D) singular directions only (so −½(D−N)·log α is missing when D > N, as in the reference).
 */
function fixedPoint(sigma: Float64Array, col: Column, n: number, d: number): number {
  let alpha = 1;
  let beta = 1;
  let m2 = 0;
  let res2 = 0;
  for (let it = 0; it < 11; it++) {
    const t = alpha / beta;
    const s = sums(sigma, col, t, n);
    m2 = s.m2;
    res2 = s.res2;
    alpha = s.gamma / (m2 + 1e-5);
    beta = s.nMinusGamma / (res2 + 1e-5);
    if (Math.abs(alpha / beta - t) / t <= 1e-3) break;
  }
  const evidence =
    (d / 2) * Math.log(alpha) + (n / 2) * Math.log(beta) - 0.5 * logDetTerm(sigma, alpha, beta) - (beta / 2) * res2 - (alpha / 2) * m2 - (n / 2) * LOG_2PI;
  return evidence / n;
}

/**
 * The ICML 2021 iteration (TLlib `log_maximum_evidence`, LogME `_fit_icml`): the posterior mean at the current α, β;
 * stop when α/β moves by < 1 %; the log-determinant over all D eigenvalues of FᵀF (the D − min(N, D) zero ones
 * contribute log α each) and 1e-5 kept inside the quadratic terms.
 */
function icml(sigma: Float64Array, col: Column, n: number, d: number): number {
  let alpha = 1;
  let beta = 1;
  let lam = 1;
  let m2 = 0;
  let res2 = 0;
  for (let it = 0; it < 11; it++) {
    // m = V diag(β/(α + βσ)) Vᵀ Fᵀy has the ‖m‖², ‖y − Fm‖² of the fixed-point sums at t = α/β = λ.
    const s = sums(sigma, col, lam, n);
    m2 = s.m2;
    res2 = s.res2;
    alpha = s.gamma / (m2 + 1e-5);
    beta = s.nMinusGamma / (res2 + 1e-5);
    const next = alpha / beta;
    if (Math.abs(next - lam) / lam < 0.01) break;
    lam = next;
  }
  const logDet = logDetTerm(sigma, alpha, beta) + (d - sigma.length) * Math.log(alpha);
  const evidence =
    (d / 2) * Math.log(alpha) + (n / 2) * Math.log(beta) - 0.5 * logDet - (beta / 2) * (res2 + 1e-5) - (alpha / 2) * (m2 + 1e-5) - (n / 2) * LOG_2PI;
  return evidence / n;
}

/** LogME from a spectrum of the raw features and the target columns (T×N). */
export async function logmeFromSpectrum(
  spectrum: Spectrum,
  features: Matrix,
  columns: Matrix,
  solver: 'fixed-point' | 'icml',
  engine: GemmEngine,
): Promise<number> {
  const n = features.rows;
  const d = features.cols;
  const p = await singularCoordinates(spectrum, features, columns, engine);
  const k = spectrum.values.length;
  let total = 0;
  for (let t = 0; t < columns.rows; t++) {
    let yy = 0;
    for (let i = 0; i < n; i++) yy += columns.data[t * n + i] ** 2;
    const p2 = new Float64Array(k);
    for (let i = 0; i < k; i++) p2[i] = p.data[t * k + i] ** 2;
    const col = { yy, p2 };
    total += solver === 'icml' ? icml(spectrum.values, col, n, d) : fixedPoint(spectrum.values, col, n, d);
  }
  return total / columns.rows;
}

export const logme: Scorer = async (ctx) => {
  const features = ctx.input.features!;
  const spectrum = await featureSpectrum(ctx, 'raw');
  return logmeFromSpectrum(spectrum, features, targetRows(ctx.input.target), ctx.params.solver === 'icml' ? 'icml' : 'fixed-point', ctx.engine);
};
