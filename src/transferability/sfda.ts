/**
 * SFDA — self-challenging Fisher discriminant analysis (Shao et al., ECCV 2022, "Not all models are equal";
 * docs/transferability.md#sfda), as the authors' `SFDA_Score` computes it:
 *
 * 1. Shrinkage s = max(exp(−5·λ̂), 1e-10), λ̂ = three rounds of power iteration on the within-class scatter
 *    Sw = Σ_c (n_c/N)·cov_c (population covariances), started from Sw·1.
 * 2. A linear discriminant with the shrunk scatter B = (1 − s)·Sw + s·(tr Sw / D)·I: logits x·B⁻¹μ_c − ½ μ_c·B⁻¹μ_c +
 *    log(n_c/N), softmax over classes. (The reference solves the generalised eigenproblem of the between-class
 *    scatter against B and keeps every direction V with VᵀBV = I; its classifier uses M·V·Vᵀ = M·B⁻¹, so only B⁻¹
 *    matters and we solve with B directly.)
 * 3. ConfMix: q_i = softmax over classes of those probabilities (a second softmax, as in the reference) at the
 *    true class; x_i ← q_i·x_i + (1 − q_i)·ν_{y_i}, ν_c the unweighted mean of the other classes' means.
 * 4. The discriminant of step 2 refitted on the mixed features with the same s; the score is the mean probability
 *    of the true class (no logarithm).
 *
 * The score is translation invariant, so we work on centred features. With N < D everything is done in the N×N
 * dual from the centred Gram matrix (shared with kNN), with push-through identities instead of D×D inverses.
 */
import { checkAllocation, LimitError } from '../io/limits.js';
import { gram, type GemmEngine } from '../linalg/gemm.js';
import { transpose, type Matrix } from '../linalg/dense.js';
import { solveShifted } from '../linalg/cholesky.js';
import { centredFeatures, centredGram } from './spectral.js';
import type { ClassTarget, Scorer } from './types.js';

const MIN_SHRINKAGE = 1e-10;
const POWER_ROUNDS = 3;

/** y = A·u for a symmetric n×n A. */
function matVec(a: Float64Array, n: number, u: Float64Array): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += a[i * n + j] * u[j];
    y[i] = s;
  }
  return y;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * The reference's estimate of Sw's largest eigenvalue: x = Sw·1, then three rounds of v = Sw·x/‖Sw·x‖,
 * x = Sw·v/‖Sw·v‖, and λ̂ = xᵀ·Sw·v (for a symmetric Sw this is ‖Sw·v‖ ≤ λmax). Dual form: D-vectors are kept as
 * Wᵀ·u, so Sw·(Wᵀu) = Wᵀ·(K·u)/N and ‖Wᵀu‖² = uᵀ·K·u with K = W·Wᵀ (N×N); `start` is the u of Sw·1.
 */
function dualPowerEstimate(k: Float64Array, n: number, start: Float64Array): number {
  const apply = (u: Float64Array) => matVec(k, n, u).map((v) => v / n);
  const unit = (u: Float64Array) => scaled(u, Math.sqrt(dot(u, matVec(k, n, u))));
  let ux = start;
  let uv = start;
  for (let r = 0; r < POWER_ROUNDS; r++) {
    uv = unit(apply(ux));
    ux = unit(apply(uv));
  }
  return dot(matVec(k, n, ux), matVec(k, n, uv)) / n;
}

/** The same iteration on plain D-vectors; `nsw` is N·Sw (D×D). */
function primalPowerEstimate(nsw: Float64Array, d: number, n: number, start: Float64Array): number {
  const apply = (u: Float64Array) => matVec(nsw, d, u).map((v) => v / n);
  const unit = (u: Float64Array) => scaled(u, Math.sqrt(dot(u, u)));
  let x = start;
  let v = start;
  for (let r = 0; r < POWER_ROUNDS; r++) {
    v = unit(apply(x));
    x = unit(apply(v));
  }
  return dot(x, apply(v));
}

function scaled(u: Float64Array, norm: number): Float64Array {
  if (!(norm > 0)) throw new Error('the power iteration on the within-class scatter collapsed to zero');
  return u.map((v) => v / norm);
}

/**
 * Whether the start Sw·1 is usable: ‖Sw·1‖ > 1e-10·tr(Sw)·√D. Below that it is rounding noise (features summing to
 * the same value in every image make it vanish) and the reference would divide 0 by 0; we then start from Sw·e_j,
 * j = the feature of largest within-class variance.
 */
function startIsUsable(norm: number, traceSw: number, d: number): boolean {
  return norm > 1e-10 * traceSw * Math.sqrt(d);
}

interface Labels {
  codes: Int32Array;
  counts: number[];
  logPrior: Float64Array;
}

function shrinkageOf(lambda: number): number {
  return Math.max(Math.exp(-5 * lambda), MIN_SHRINKAGE);
}

function softmaxRows(logits: Float64Array, n: number, c: number): Float64Array {
  const p = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let k = 0; k < c; k++) max = Math.max(max, logits[i * c + k]);
    let sum = 0;
    for (let k = 0; k < c; k++) sum += p[i * c + k] = Math.exp(logits[i * c + k] - max);
    for (let k = 0; k < c; k++) p[i * c + k] /= sum;
  }
  return p;
}

/** q_i: the second softmax (over the probabilities themselves) at the true class. */
function softenedTrue(p: Float64Array, labels: Labels): Float64Array {
  const c = labels.counts.length;
  const n = labels.codes.length;
  const soft = softmaxRows(p, n, c);
  return Float64Array.from(labels.codes, (y, i) => soft[i * c + y]);
}

function meanTrue(p: Float64Array, labels: Labels): number {
  const c = labels.counts.length;
  let s = 0;
  labels.codes.forEach((y, i) => (s += p[i * c + y]));
  return s / labels.codes.length;
}

// ---------------------------------------------------------------------------------------------------------
// Dual form (N < D): everything from the Gram matrix G = X·Xᵀ.

interface DualScatter {
  /** N×C: x_i·μ_c = mean over class c of G[i][·]. */
  gs: Float64Array;
  /** C×C: μ_c·μ_k. */
  sgs: Float64Array;
  /** N×N: W·Wᵀ, W = X with each row's class mean removed. */
  kw: Float64Array;
  /** tr(Sw)·N = tr(W·Wᵀ). */
  trace: number;
}

function dualScatter(g: Float64Array, labels: Labels): DualScatter {
  const { codes, counts } = labels;
  const n = codes.length;
  const c = counts.length;
  const gs = new Float64Array(n * c);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) gs[i * c + codes[j]] += g[i * n + j];
  for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) gs[i * c + k] /= counts[k];
  const sgs = new Float64Array(c * c);
  for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) sgs[codes[i] * c + k] += gs[i * c + k];
  for (let a = 0; a < c; a++) for (let k = 0; k < c; k++) sgs[a * c + k] /= counts[a];
  for (let a = 0; a < c; a++) for (let k = a + 1; k < c; k++) sgs[a * c + k] = sgs[k * c + a] = (sgs[a * c + k] + sgs[k * c + a]) / 2;
  const kw = new Float64Array(n * n);
  let trace = 0;
  for (let i = 0; i < n; i++) {
    const yi = codes[i];
    for (let j = 0; j < n; j++) {
      const yj = codes[j];
      kw[i * n + j] = g[i * n + j] - gs[i * c + yj] - gs[j * c + yi] + sgs[yi * c + yj];
    }
    trace += kw[i * n + i];
  }
  return { gs, sgs, kw, trace };
}

/** Class probabilities of the shrunk discriminant, dual form. */
async function dualProbabilities(sc: DualScatter, labels: Labels, d: number, s: number, engine: GemmEngine): Promise<Float64Array> {
  const { codes, logPrior } = labels;
  const n = codes.length;
  const c = logPrior.length;
  const a = (1 - s) / n;
  const b = (s * sc.trace) / n / d;
  // R = W·Mᵀ; T = (a·WWᵀ + b·I)⁻¹·R = W·B⁻¹·Mᵀ (push-through: B = a·WᵀW + b·I).
  const r = new Float64Array(n * c);
  for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) r[i * c + k] = sc.gs[i * c + k] - sc.sgs[codes[i] * c + k];
  const t = await solveShifted(sc.kw, n, a, b, r, c, engine);
  // M·B⁻¹·Mᵀ = (M·Mᵀ − a·Rᵀ·T) / b, symmetrised.
  const q = new Float64Array(c * c);
  for (let p = 0; p < c; p++) {
    for (let k = 0; k < c; k++) {
      let s2 = 0;
      for (let i = 0; i < n; i++) s2 += r[i * c + p] * t[i * c + k];
      q[p * c + k] = (sc.sgs[p * c + k] - a * s2) / b;
    }
  }
  for (let p = 0; p < c; p++) for (let k = p + 1; k < c; k++) q[p * c + k] = q[k * c + p] = (q[p * c + k] + q[k * c + p]) / 2;
  // x_i·B⁻¹·μ_c = w_i·B⁻¹·μ_c + μ_{y_i}·B⁻¹·μ_c.
  const logits = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) logits[i * c + k] = t[i * c + k] + q[codes[i] * c + k] - q[k * c + k] / 2 + logPrior[k];
  }
  return softmaxRows(logits, n, c);
}

/** The Gram matrix of the ConfMix features x'_i = q_i·x_i + (1 − q_i)·ν_{y_i}, from G and its class averages. */
function mixedGram(g: Float64Array, sc: DualScatter, labels: Labels, qTrue: Float64Array): Float64Array {
  const { codes } = labels;
  const n = codes.length;
  const c = labels.counts.length;
  // x_i·ν_k = (Σ_l x_i·μ_l − x_i·μ_k) / (C − 1); ν_k·ν_l likewise from μ·μ.
  const xn = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    let total = 0;
    for (let k = 0; k < c; k++) total += sc.gs[i * c + k];
    for (let k = 0; k < c; k++) xn[i * c + k] = (total - sc.gs[i * c + k]) / (c - 1);
  }
  const rowTotal = new Float64Array(c);
  let all = 0;
  for (let p = 0; p < c; p++) {
    for (let k = 0; k < c; k++) rowTotal[p] += sc.sgs[p * c + k];
    all += rowTotal[p];
  }
  const nn = new Float64Array(c * c);
  for (let p = 0; p < c; p++) {
    for (let k = 0; k < c; k++) nn[p * c + k] = (all - rowTotal[p] - rowTotal[k] + sc.sgs[p * c + k]) / ((c - 1) * (c - 1));
  }
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const qi = qTrue[i];
    const yi = codes[i];
    for (let j = 0; j < n; j++) {
      const qj = qTrue[j];
      const yj = codes[j];
      out[i * n + j] = qi * qj * g[i * n + j] + qi * (1 - qj) * xn[i * c + yj] + (1 - qi) * qj * xn[j * c + yi] + (1 - qi) * (1 - qj) * nn[yi * c + yj];
    }
  }
  return out;
}

async function sfdaDual(x: Matrix, g: Float64Array, labels: Labels, engine: GemmEngine): Promise<number> {
  const { rows: n, cols: d } = x;
  const sc = dualScatter(g, labels);
  checkScatter(sc.trace);
  // Sw·1 = Wᵀ·(W·1)/N: W·1 is each row's feature sum minus its class mean's.
  const rowSum = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) rowSum[i] += x.data[i * d + j];
  const classSum = new Float64Array(labels.counts.length);
  labels.codes.forEach((y, i) => (classSum[y] += rowSum[i]));
  let start = Float64Array.from(rowSum, (v, i) => (v - classSum[labels.codes[i]] / labels.counts[labels.codes[i]]) / n);
  if (!startIsUsable(Math.sqrt(Math.max(dot(start, matVec(sc.kw, n, start)), 0)), sc.trace / n, d)) {
    start = largestVarianceColumn(x, labels).map((v) => v / n);
  }
  const s = shrinkageOf(dualPowerEstimate(sc.kw, n, start));
  const p1 = await dualProbabilities(sc, labels, d, s, engine);
  const g2 = mixedGram(g, sc, labels, softenedTrue(p1, labels));
  const sc2 = dualScatter(g2, labels);
  checkScatter(sc2.trace);
  return meanTrue(await dualProbabilities(sc2, labels, d, s, engine), labels);
}

/** The fallback start Sw·e_j (j = the feature of largest within-class variance) as W·e_j: the within-class-centred column j. */
function largestVarianceColumn(x: Matrix, labels: Labels): Float64Array {
  const { w } = withinCentred(x, labels);
  const { rows: n, cols: d } = x;
  const variance = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) variance[j] += w[i * d + j] * w[i * d + j];
  let best = 0;
  for (let j = 1; j < d; j++) if (variance[j] > variance[best]) best = j;
  return Float64Array.from({ length: n }, (_, i) => w[i * d + best]);
}

function checkScatter(trace: number): void {
  if (!(trace > 0)) throw new Error('every class is a single point in feature space (zero within-class scatter), so the Fisher discriminant is undefined');
}

// ---------------------------------------------------------------------------------------------------------
// Primal form (N ≥ D): D×D scatter matrices.

function withinCentred(x: Matrix, labels: Labels): { w: Float64Array; means: Float64Array } {
  const { rows: n, cols: d, data } = x;
  const c = labels.counts.length;
  const means = new Float64Array(c * d);
  labels.codes.forEach((y, i) => {
    for (let j = 0; j < d; j++) means[y * d + j] += data[i * d + j];
  });
  for (let k = 0; k < c; k++) for (let j = 0; j < d; j++) means[k * d + j] /= labels.counts[k];
  const w = new Float64Array(n * d);
  labels.codes.forEach((y, i) => {
    for (let j = 0; j < d; j++) w[i * d + j] = data[i * d + j] - means[y * d + j];
  });
  return { w, means };
}

async function primalProbabilities(x: Matrix, labels: Labels, s: number | undefined, engine: GemmEngine): Promise<{ p: Float64Array; s: number }> {
  const { rows: n, cols: d } = x;
  const c = labels.counts.length;
  const { w, means } = withinCentred(x, labels);
  // N·Sw = WᵀW, D×D.
  const sw = (await gram(transpose({ rows: n, cols: d, data: w }), { engine })).data;
  let trace = 0;
  for (let j = 0; j < d; j++) trace += sw[j * d + j];
  checkScatter(trace);
  if (s === undefined) {
    let start = new Float64Array(d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) start[i] += sw[i * d + j] / n;
    if (!startIsUsable(Math.sqrt(dot(start, start)), trace / n, d)) {
      let best = 0;
      for (let j = 1; j < d; j++) if (sw[j * d + j] > sw[best * d + best]) best = j;
      start = Float64Array.from({ length: d }, (_, i) => sw[i * d + best] / n);
    }
    s = shrinkageOf(primalPowerEstimate(sw, d, n, start));
  }
  // B = (1 − s)·Sw + s·(tr Sw / D)·I with Sw = (N·Sw)/N; Z = B⁻¹·Mᵀ (D×C).
  const mt = new Float64Array(d * c);
  for (let k = 0; k < c; k++) for (let j = 0; j < d; j++) mt[j * c + k] = means[k * d + j];
  const z = await solveShifted(sw, d, (1 - s) / n, (s * trace) / n / d, mt, c, engine);
  const zt = new Float64Array(c * d);
  for (let j = 0; j < d; j++) for (let k = 0; k < c; k++) zt[k * d + j] = z[j * c + k];
  const xz = await engine.abt(x.data, n, zt, c, d);
  const half = new Float64Array(c);
  for (let k = 0; k < c; k++) for (let j = 0; j < d; j++) half[k] += (means[k * d + j] * zt[k * d + j]) / 2;
  for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) xz[i * c + k] += labels.logPrior[k] - half[k];
  return { p: softmaxRows(xz, n, c), s };
}

async function sfdaPrimal(x: Matrix, labels: Labels, engine: GemmEngine): Promise<number> {
  const { rows: n, cols: d, data } = x;
  const c = labels.counts.length;
  const first = await primalProbabilities(x, labels, undefined, engine);
  const q = softenedTrue(first.p, labels);
  const { means } = withinCentred(x, labels);
  const total = new Float64Array(d);
  for (let k = 0; k < c; k++) for (let j = 0; j < d; j++) total[j] += means[k * d + j];
  const mixed = new Float64Array(n * d);
  labels.codes.forEach((y, i) => {
    for (let j = 0; j < d; j++) mixed[i * d + j] = q[i] * data[i * d + j] + ((1 - q[i]) * (total[j] - means[y * d + j])) / (c - 1);
  });
  const second = await primalProbabilities({ rows: n, cols: d, data: mixed }, labels, first.s, engine);
  return meanTrue(second.p, labels);
}

export const sfda: Scorer = async (ctx) => {
  const target = ctx.input.target as ClassTarget;
  const x = (await centredFeatures(ctx)).matrix;
  const n = x.rows;
  const d = x.cols;
  const name = ctx.input.name ?? 'input';
  const labels: Labels = { codes: target.codes, counts: target.counts, logPrior: Float64Array.from(target.counts, (c) => Math.log(c / n)) };
  const dual = n < d;
  // dual: the Gram matrix, the within-class one, its factor, and the same after ConfMix (about five N×N at a time)
  if (dual) checkAllocation(`SFDA's ${n}×${n} dual matrices`, 40 * n * n, `sfda: ${name}`);
  else checkAllocation(`SFDA's ${d}×${d} scatter matrices`, 24 * d * d + 16 * n * d, `sfda: ${name}`);
  try {
    return dual ? await sfdaDual(x, (await centredGram(ctx)).data, labels, ctx.engine) : await sfdaPrimal(x, labels, ctx.engine);
  } catch (e) {
    if (e instanceof LimitError) throw e;
    throw new Error(`sfda: ${name}: ${(e as Error).message}`, { cause: e });
  }
};
