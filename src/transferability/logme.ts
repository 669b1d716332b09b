/**
 * LogME (You et al., ICML 2021; fixed-point solver of the JMLR extension): per target column, the maximum
 * log-evidence of a Bayesian linear regression of that column on the raw features, divided by N and averaged over
 * columns (one per class of the one-hot target, or per regression column). docs/transferability.md#logme.
 *
 * Everything follows from the smaller-side spectrum of F (spectral.ts): with `σ_i` the squared singular values
 * and `p_i = s_i·u_iᵀy = v_iᵀFᵀy`, both solvers need only `Σ p_i²/(t+σ_i)²` (‖m‖²) and
 * `‖y‖² − Σ p_i²(2t+σ_i)/(t+σ_i)²` (‖y − Fm‖²), so an iteration costs O(min(N, D)) per column and no singular
 * value is ever divided by.
 *
 * When N < D the raw features' N×N Gram matrix is the centred one plus a rank-2 term, F·Fᵀ = G_c + V·C·Vᵀ with
 * V = [F_c·μ, 1] and C = [[0, 1], [1, ‖μ‖²]] (μ the column means), and the other scores decompose G_c anyway. The
 * solvers then work in G_c's eigenbasis (centredDualSums): (tI + FFᵀ)⁻¹ by the Woodbury identity, log det by the
 * matrix determinant lemma — O(N) per iteration, and no second N×N eigendecomposition per candidate.
 */
import type { Matrix } from '../linalg/dense.js';
import type { GemmEngine } from '../linalg/gemm.js';
import { centredFeatures, featureSpectrum, indicatorRows, singularCoordinates, transposedVectors, type Spectrum } from './spectral.js';
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

interface IterationSums {
  gamma: number;
  nMinusGamma: number;
  m2: number;
  res2: number;
}

/** What both solvers need of one target column: the sums of an iteration at t = α/β, and Σ log(α + βσ_i) over the min(N, D) values. */
interface ColumnModel {
  sums(t: number): IterationSums;
  logDet(alpha: number, beta: number): number;
}

function spectralModel(sigma: Float64Array, col: Column, n: number): ColumnModel {
  return { sums: (t) => sums(sigma, col, t, n), logDet: (alpha, beta) => logDetTerm(sigma, alpha, beta) };
}

/**
 * The three sums of one iteration at `t = α/β`. `N − γ` is accumulated as `(N − k) + Σ t/(σ_i + t)` rather than by
 * subtraction, so that β stays positive when the features fit y almost exactly (γ → N in floating point).
 */
function sums(sigma: Float64Array, col: Column, t: number, n: number): IterationSums {
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
function fixedPoint(model: ColumnModel, n: number, d: number): number {
  let alpha = 1;
  let beta = 1;
  let m2 = 0;
  let res2 = 0;
  for (let it = 0; it < 11; it++) {
    const t = alpha / beta;
    const s = model.sums(t);
    m2 = s.m2;
    res2 = s.res2;
    alpha = s.gamma / (m2 + 1e-5);
    beta = s.nMinusGamma / (res2 + 1e-5);
    if (Math.abs(alpha / beta - t) / t <= 1e-3) break;
  }
  const evidence =
    (d / 2) * Math.log(alpha) + (n / 2) * Math.log(beta) - 0.5 * model.logDet(alpha, beta) - (beta / 2) * res2 - (alpha / 2) * m2 - (n / 2) * LOG_2PI;
  return evidence / n;
}

/**
 * The ICML 2021 iteration (TLlib `log_maximum_evidence`, LogME `_fit_icml`): the posterior mean at the current α, β;
 * stop when α/β moves by < 1 %; the log-determinant over all D eigenvalues of FᵀF (the D − min(N, D) zero ones
 * contribute log α each) and 1e-5 kept inside the quadratic terms.
 */
function icml(model: ColumnModel, k: number, n: number, d: number): number {
  let alpha = 1;
  let beta = 1;
  let lam = 1;
  let m2 = 0;
  let res2 = 0;
  for (let it = 0; it < 11; it++) {
    // m = V diag(β/(α + βσ)) Vᵀ Fᵀy has the ‖m‖², ‖y − Fm‖² of the fixed-point sums at t = α/β = λ.
    const s = model.sums(lam);
    m2 = s.m2;
    res2 = s.res2;
    alpha = s.gamma / (m2 + 1e-5);
    beta = s.nMinusGamma / (res2 + 1e-5);
    const next = alpha / beta;
    if (Math.abs(next - lam) / lam < 0.01) break;
    lam = next;
  }
  const logDet = model.logDet(alpha, beta) + (d - k) * Math.log(alpha);
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
    const model = spectralModel(spectrum.values, col, n);
    total += solver === 'icml' ? icml(model, k, n, d) : fixedPoint(model, n, d);
  }
  return total / columns.rows;
}

/**
 * The solvers' sums for one target column y when N < D, from the eigendecomposition G_c = U·diag(λ)·Uᵀ of the
 * centred Gram matrix (all N eigenpairs) and V = [a, 1], a = F_c·μ (see the module comment). With A = tI + G_c and
 * M = C⁻¹ + VᵀA⁻¹V (2×2), q = (tI + FFᵀ)⁻¹y = A⁻¹y − A⁻¹V·M⁻¹·VᵀA⁻¹y, and (the posterior mean being m = Fᵀq):
 *   ‖y − Fm‖² = t²‖q‖²,   ‖m‖² = Σ λ_i q̂_i² + (1ᵀq)(2aᵀq + ‖μ‖²·1ᵀq),
 *   N − γ = t·tr (tI + FFᵀ)⁻¹ = t·(Σ 1/(t + λ_i) − tr(M⁻¹·VᵀA⁻²V)),   γ = Σ λ_i/(t + λ_i) + t·tr(M⁻¹·VᵀA⁻²V),
 *   Σ_j log(α + βσ_j) = N log β + Σ log(t + λ_i) + log det(I + C·VᵀA⁻¹V),
 * where x̂ = Uᵀx. Each is a sum of O(N) terms; none subtracts ‖y‖² from a nearly equal quantity.
 */
function centredDualModel(lambda: Float64Array, yHat: Float64Array, aHat: Float64Array, oneHat: Float64Array, mu2: number): ColumnModel {
  const n = lambda.length;
  // K = VᵀA⁻¹V and J = VᵀA⁻²V (symmetric 2×2: [11, 12, 22]).
  const kernels = (t: number) => {
    let k11 = 0;
    let k12 = 0;
    let k22 = 0;
    let j11 = 0;
    let j12 = 0;
    let j22 = 0;
    for (let i = 0; i < n; i++) {
      const r = 1 / (t + lambda[i]);
      const a = aHat[i] * r;
      const o = oneHat[i] * r;
      k11 += a * aHat[i];
      k12 += a * oneHat[i];
      k22 += o * oneHat[i];
      j11 += a * a;
      j12 += a * o;
      j22 += o * o;
    }
    return { k11, k12, k22, j11, j12, j22 };
  };
  return {
    sums(t) {
      const { k11, k12, k22, j11, j12, j22 } = kernels(t);
      // M = C⁻¹ + K, C⁻¹ = [[−‖μ‖², 1], [1, 0]].
      const m11 = k11 - mu2;
      const m12 = k12 + 1;
      const m22 = k22;
      const det = m11 * m22 - m12 * m12;
      let w1 = 0;
      let w2 = 0;
      let sumR = 0;
      let sumLR = 0;
      for (let i = 0; i < n; i++) {
        const r = 1 / (t + lambda[i]);
        w1 += aHat[i] * yHat[i] * r;
        w2 += oneHat[i] * yHat[i] * r;
        sumR += r;
        sumLR += lambda[i] * r;
      }
      const s1 = (m22 * w1 - m12 * w2) / det;
      const s2 = (m11 * w2 - m12 * w1) / det;
      let qq = 0;
      let lqq = 0;
      let oneQ = 0;
      let aQ = 0;
      for (let i = 0; i < n; i++) {
        const q = (yHat[i] - aHat[i] * s1 - oneHat[i] * s2) / (t + lambda[i]);
        qq += q * q;
        lqq += lambda[i] * q * q;
        oneQ += oneHat[i] * q;
        aQ += aHat[i] * q;
      }
      const corr = (m22 * j11 - 2 * m12 * j12 + m11 * j22) / det; // tr(M⁻¹J)
      return {
        gamma: sumLR + t * corr,
        nMinusGamma: t * (sumR - corr),
        m2: Math.max(0, lqq + oneQ * (2 * aQ + mu2 * oneQ)),
        res2: t * t * qq,
      };
    },
    logDet(alpha, beta) {
      const t = alpha / beta;
      const { k11, k12, k22 } = kernels(t);
      let s = 0;
      for (let i = 0; i < n; i++) s += Math.log(t + lambda[i]);
      // det(I + C·K) = (1 + K12)² + ‖μ‖²·K22 − K11·K22.
      return n * Math.log(beta) + s + Math.log((1 + k12) ** 2 + mu2 * k22 - k11 * k22);
    },
  };
}

/** LogME for N < D from the centred features' dual spectrum (see centredDualModel). */
async function logmeCentredDual(
  spectrum: Spectrum,
  centred: Matrix,
  mean: Float64Array,
  columns: Matrix,
  solver: 'fixed-point' | 'icml',
  engine: GemmEngine,
): Promise<number> {
  const { rows: n, cols: d, data: xc } = centred;
  const t = columns.rows;
  // Rows: the T target columns, a = F_c·μ, and 1; their coordinates Uᵀ· in one product.
  const rows = new Float64Array((t + 2) * n);
  rows.set(columns.data.subarray(0, t * n));
  let mu2 = 0;
  for (let j = 0; j < d; j++) mu2 += mean[j] * mean[j];
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += xc[i * d + j] * mean[j];
    rows[t * n + i] = s;
    rows[(t + 1) * n + i] = 1;
  }
  const hat = await engine.abt(rows, t + 2, transposedVectors(spectrum).data, n, n); // (T+2)×N: row r = Uᵀ·row r
  const aHat = hat.subarray(t * n, (t + 1) * n);
  const oneHat = hat.subarray((t + 1) * n, (t + 2) * n);
  let total = 0;
  for (let c = 0; c < t; c++) {
    const model = centredDualModel(spectrum.values, hat.subarray(c * n, (c + 1) * n), aHat, oneHat, mu2);
    total += solver === 'icml' ? icml(model, n, n, d) : fixedPoint(model, n, d);
  }
  return total / t;
}

export const logme: Scorer = async (ctx) => {
  const features = ctx.input.features!;
  const columns = targetRows(ctx.input.target);
  const solver = ctx.params.solver === 'icml' ? 'icml' : 'fixed-point';
  if (features.rows < features.cols) {
    const { matrix, mean } = await centredFeatures(ctx);
    return logmeCentredDual(await featureSpectrum(ctx, 'centred'), matrix, mean, columns, solver, ctx.engine);
  }
  return logmeFromSpectrum(await featureSpectrum(ctx, 'raw'), features, columns, solver, ctx.engine);
};
