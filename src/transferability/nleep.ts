/**
 * NLEEP (Li et al., CVPR 2021, "Ranking neural checkpoints"; SFDA repository `metrics.py`): LEEP with the source
 * classifier replaced by a Gaussian mixture fitted on the PCA-reduced candidate features; the mixture's posteriors
 * play the role of the source class probabilities θ. docs/transferability.md#nleep.
 *
 * The mixture is our own, specified exactly so that test/reference/transferability_a.py reproduces it: diagonal
 * covariances, k-means++ seeding from mulberry32(seed), Lloyd's k-means, then EM with scikit-learn's stopping rule.
 * It is NOT scikit-learn's GaussianMixture (full covariances, greedy k-means++ with several trials per centre, its
 * own random state), so values differ from the reference code's — as the reference's own values differ from run to
 * run unless its random state is fixed.
 */
import type { Matrix } from '../linalg/dense.js';
import type { GemmEngine } from '../linalg/gemm.js';
import { mulberry32 } from '../linalg/resample.js';
import { leepOf } from './leep.js';
import { candidatePca } from './pca.js';
import type { Scorer } from './types.js';

/** scikit-learn's defaults: stop EM when the mean log-likelihood moves by < 1e-3, after at most 100 iterations. */
const EM_TOL = 1e-3;
const EM_MAX_ITER = 100;
const LLOYD_MAX_ITER = 300;
/** Added to every variance, relative to the mean per-dimension variance of the data (scale-free, unlike sklearn's absolute 1e-6). */
const VARIANCE_FLOOR = 1e-6;
/** Added to each component's weight sum, as scikit-learn (10 ε), so an empty component has a finite mean. */
const EMPTY_WEIGHT = 10 * 2.220446049250313e-16;
const LOG_2PI = Math.log(2 * Math.PI);
/** Relative margin within which k-means distances count as tied (see `assign`). */
const TIE = 1e-10;

function transposeData(data: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = data[i * cols + j];
  return t;
}

/**
 * k-means++ seeding: the first centre is row ⌊u·N⌋; each next one is the first row whose running sum of D² (squared
 * distance to the nearest chosen centre, summed in row order) exceeds u·ΣD², u the next generator value; when every
 * D² is 0 (fewer distinct rows than centres), row ⌊u·N⌋ again.
 */
export function kmeansPlusPlus(z: Matrix, k: number, seed: number): Int32Array {
  const { rows: n, cols: d } = z;
  const random = mulberry32(seed);
  const chosen = new Int32Array(k);
  const d2 = new Float64Array(n).fill(Infinity);
  for (let m = 0; m < k; m++) {
    const u = random();
    let pick = -1;
    if (m > 0) {
      let total = 0;
      for (let i = 0; i < n; i++) total += d2[i];
      if (total > 0) {
        const r = u * total;
        let cumulative = 0;
        for (let i = 0; i < n && pick < 0; i++) {
          cumulative += d2[i];
          if (cumulative > r) pick = i;
        }
        // Rounding could leave r ≥ the running total at the end: the last row with D² > 0 then.
        if (pick < 0) for (let i = n - 1; i >= 0 && pick < 0; i--) if (d2[i] > 0) pick = i;
      }
    }
    if (pick < 0) pick = Math.floor(u * n);
    chosen[m] = pick;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (z.data[i * d + j] - z.data[pick * d + j]) ** 2;
      if (s < d2[i]) d2[i] = s;
    }
  }
  return chosen;
}

/**
 * Nearest centre of every row, by ‖z‖² − 2z·c + ‖c‖² (one GEMM). Distances within 1e-10·(‖z‖² + max‖c‖²) of the
 * smallest count as tied and go to the lowest centre index: lattice-like features produce exact ties, which the
 * expanded form would otherwise break by rounding (differently in another implementation or GEMM engine).
 */
async function assign(z: Matrix, zz: Float64Array, centres: Float64Array, k: number, engine: GemmEngine, labels: Int32Array): Promise<boolean> {
  const { rows: n, cols: d } = z;
  const cc = new Float64Array(k);
  let ccMax = 0;
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < d; j++) cc[c] += centres[c * d + j] ** 2;
    ccMax = Math.max(ccMax, cc[c]);
  }
  const dot = await engine.abt(z.data, n, centres, k, d);
  const dist = new Float64Array(k);
  let changed = false;
  for (let i = 0; i < n; i++) {
    let min = Infinity;
    for (let c = 0; c < k; c++) {
      dist[c] = zz[i] - 2 * dot[i * k + c] + cc[c];
      if (dist[c] < min) min = dist[c];
    }
    const limit = min + TIE * (zz[i] + ccMax);
    let best = 0;
    while (dist[best] > limit) best++;
    if (labels[i] !== best) changed = true;
    labels[i] = best;
  }
  return changed;
}

/** Lloyd's k-means from the given centre rows until no label changes (at most 300 rounds); an empty cluster keeps its centre. */
export async function kmeans(z: Matrix, seeds: Int32Array, engine: GemmEngine): Promise<Int32Array> {
  const { rows: n, cols: d } = z;
  const k = seeds.length;
  const zz = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) zz[i] += z.data[i * d + j] ** 2;
  const centres = new Float64Array(k * d);
  seeds.forEach((row, c) => centres.set(z.data.subarray(row * d, (row + 1) * d), c * d));
  const labels = new Int32Array(n).fill(-1);
  await assign(z, zz, centres, k, engine, labels);
  for (let it = 0; it < LLOYD_MAX_ITER; it++) {
    const sums = new Float64Array(k * d);
    const counts = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      const c = labels[i];
      counts[c]++;
      for (let j = 0; j < d; j++) sums[c * d + j] += z.data[i * d + j];
    }
    for (let c = 0; c < k; c++) if (counts[c] > 0) for (let j = 0; j < d; j++) centres[c * d + j] = sums[c * d + j] / counts[c];
    if (!(await assign(z, zz, centres, k, engine, labels))) break;
  }
  return labels;
}

interface Mixture {
  logWeights: Float64Array;
  means: Float64Array;
  variances: Float64Array;
}

/** Maximisation: weights, means and floored diagonal variances from responsibilities (N×K). */
async function maximise(
  zt: Float64Array,
  z2t: Float64Array,
  n: number,
  d: number,
  resp: Float64Array,
  k: number,
  floor: number,
  engine: GemmEngine,
): Promise<Mixture> {
  const rt = transposeData(resp, n, k);
  const s1 = await engine.abt(rt, k, zt, d, n);
  const s2 = await engine.abt(rt, k, z2t, d, n);
  const nk = new Float64Array(k);
  let total = 0;
  for (let c = 0; c < k; c++) {
    let s = EMPTY_WEIGHT;
    for (let i = 0; i < n; i++) s += rt[c * n + i];
    nk[c] = s;
    total += s;
  }
  const means = new Float64Array(k * d);
  const variances = new Float64Array(k * d);
  const logWeights = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    logWeights[c] = Math.log(nk[c] / total);
    for (let j = 0; j < d; j++) {
      const m = s1[c * d + j] / nk[c];
      means[c * d + j] = m;
      variances[c * d + j] = Math.max(0, s2[c * d + j] / nk[c] - m * m) + floor;
    }
  }
  return { logWeights, means, variances };
}

/** Expectation: responsibilities (N×K, in place) and the mean log-likelihood. */
async function expect(z: Matrix, z2: Float64Array, mix: Mixture, k: number, engine: GemmEngine, resp: Float64Array): Promise<number> {
  const { rows: n, cols: d } = z;
  const inv = new Float64Array(k * d);
  const muInv = new Float64Array(k * d);
  const constant = new Float64Array(k);
  const muMu = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    let logDet = 0;
    for (let j = 0; j < d; j++) {
      const v = mix.variances[c * d + j];
      const m = mix.means[c * d + j];
      inv[c * d + j] = 1 / v;
      muInv[c * d + j] = m / v;
      logDet += Math.log(v);
      muMu[c] += (m * m) / v;
    }
    constant[c] = mix.logWeights[c] - 0.5 * (d * LOG_2PI + logDet);
  }
  const a = await engine.abt(z2, n, inv, k, d);
  const b = await engine.abt(z.data, n, muInv, k, d);
  let ll = 0;
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let c = 0; c < k; c++) {
      const maha = Math.max(0, a[i * k + c] - 2 * b[i * k + c] + muMu[c]);
      const v = constant[c] - 0.5 * maha;
      resp[i * k + c] = v;
      if (v > max) max = v;
    }
    let s = 0;
    for (let c = 0; c < k; c++) s += Math.exp(resp[i * k + c] - max);
    const lse = max + Math.log(s);
    for (let c = 0; c < k; c++) resp[i * k + c] = Math.exp(resp[i * k + c] - lse);
    ll += lse;
  }
  return ll / n;
}

/**
 * Posteriors (N×K) of a diagonal Gaussian mixture with K components fitted to the rows of z: k-means++ seeding and
 * Lloyd's k-means; hard labels → first maximisation; then expectation/maximisation until the mean log-likelihood
 * moves by < 1e-3 (at most 100 rounds); the posteriors of a last expectation.
 */
export async function mixturePosteriors(z: Matrix, k: number, seed: number, engine: GemmEngine): Promise<Matrix> {
  const { rows: n, cols: d } = z;
  const labels = await kmeans(z, kmeansPlusPlus(z, k, seed), engine);
  const z2 = new Float64Array(n * d);
  for (let i = 0; i < n * d; i++) z2[i] = z.data[i] ** 2;
  let meanVariance = 0;
  for (let j = 0; j < d; j++) {
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      s += z.data[i * d + j];
      s2 += z2[i * d + j];
    }
    meanVariance += s2 / n - (s / n) ** 2;
  }
  const floor = (VARIANCE_FLOOR * Math.max(meanVariance, 0)) / d || Number.MIN_VALUE;
  const zt = transposeData(z.data, n, d);
  const z2t = transposeData(z2, n, d);
  const resp = new Float64Array(n * k);
  for (let i = 0; i < n; i++) resp[i * k + labels[i]] = 1;
  let mix = await maximise(zt, z2t, n, d, resp, k, floor, engine);
  let previous = -Infinity;
  for (let it = 0; it < EM_MAX_ITER; it++) {
    const ll = await expect(z, z2, mix, k, engine, resp);
    mix = await maximise(zt, z2t, n, d, resp, k, floor, engine);
    if (Math.abs(ll - previous) < EM_TOL) break;
    previous = ll;
  }
  await expect(z, z2, mix, k, engine, resp);
  return { rows: n, cols: k, data: resp };
}

export const nleep: Scorer = async (ctx) => {
  const target = ctx.input.target;
  if (target.kind !== 'class') throw new Error('nleep: needs class labels');
  const n = target.codes.length;
  const c = target.classes.length;
  const { scores } = await candidatePca(ctx, { variance: ctx.params.variance as number });
  if (scores.cols === 0) {
    // Identical feature rows: every image gets the same posterior, so P(y | z) is the class share.
    return leepOf({ rows: n, cols: 1, data: new Float64Array(n).fill(1) }, target.codes, c);
  }
  const k = (ctx.params['per-class'] as number) * c;
  if (k > n) {
    throw new Error(
      `nleep: ${ctx.input.name ?? 'input'}: ${k} mixture components (per-class ${ctx.params['per-class']} × ${c} classes) for ${n} images; ` +
        'a mixture needs at least one image per component (lower per-class, or score more images)',
    );
  }
  const theta = await mixturePosteriors(scores, k, ctx.params.seed as number, ctx.engine);
  return leepOf(theta, target.codes, c);
};
