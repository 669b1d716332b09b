/**
 * Classifier heads on frozen features: L2-regularised multinomial logistic regression (the linear probe of the
 * `linear` score and the benchmark's ground truth) and a one-hidden-layer MLP. docs/transferability.md#linear-probe.
 *
 * Logistic regression. With x̃ the standardised features (per column: minus the training mean, divided by the
 * population standard deviation of the training rows; a constant column becomes 0), codes y_i ∈ 0…C−1 and n
 * training rows, the fit minimises
 *     f(W, b) = (1/n) Σ_i [ log Σ_c exp(z_ic) − z_{i,y_i} ] + (λ/2) ‖W‖²_F,    z_i = Wᵀ x̃_i + b,
 * W ∈ ℝ^{D×C} (one column per class, the symmetric parameterisation), b unpenalised. In scikit-learn's terms
 * λ = 1/(C_sklearn · n). f is strictly convex in W; b is fixed up to a common shift, which the solver never
 * moves (every gradient has Σ_c ∂f/∂b_c = 0), so b starts at 0 and stays centred.
 *
 * Solver: L-BFGS (10 pairs) with an Armijo backtracking line search, float64 throughout, both products per
 * evaluation (X̃W and X̃ᵀR) through the GEMM engine. Standardisation is never materialised per fold: the data are
 * centred once on the mean of all rows, and a fold's own mean μ and scale s enter as W' = diag(s)·W and
 * b' = b − μᵀW', so cross-validation folds are row masks on one matrix (and its transpose) instead of copies. A λ
 * path runs from the strongest to the weakest penalty, each fit warm-started from the previous one.
 *
 * Classes absent from a fit's training rows are left out of that fit (their logit is −∞): with an unpenalised bias
 * their optimum is at b_c = −∞, which a solver can only chase.
 */
import type { Matrix } from '../linalg/dense.js';
import { getGemmEngine, type Float, type GemmEngine, type Precision } from '../linalg/gemm.js';
import { symmetricEigen } from '../linalg/eigen.js';
import { mulberry32, normalDraw } from '../linalg/resample.js';

/** The default penalty grid (λ of f above, on standardised features), strongest first. */
export const DEFAULT_LAMBDAS: readonly number[] = [1, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5];

/** Features prepared once for any number of fits: centred on the mean of all rows, and transposed. */
export interface HeadData {
  n: number;
  d: number;
  /** N×D, each column minus `mean`. */
  xc: Float64Array;
  /** D×N (xc transposed), for the gradient's X̃ᵀR. */
  xt: Float64Array;
  /** Column means of all rows (raw scale). */
  mean: Float64Array;
  engine: GemmEngine;
  /** The L-BFGS preconditioner's spectral basis, built on first use and shared by every fit on these data. */
  spectrum?: Promise<Spectrum>;
  /**
   * Already standardised once for all rows (reducedHeadData): fits use the columns as they are instead of
   * standardising on their own training rows.
   */
  fixed?: boolean;
}

/** Centre and transpose the features once (N×D → two N·D float64 arrays). */
export async function headData(x: Matrix, engine?: GemmEngine): Promise<HeadData> {
  const { mean, xc } = centredHead(x);
  return withTranspose(x.rows, x.cols, mean, xc, engine);
}

/** HeadData from centred rows: adds their transpose. */
async function withTranspose(n: number, d: number, mean: Float64Array, xc: Float64Array, engine?: GemmEngine): Promise<HeadData> {
  const xt = new Float64Array(n * d);
  // Transposed in 32×32 tiles: a plain column-order write misses the cache on every element for wide inputs.
  const T = 32;
  for (let i0 = 0; i0 < n; i0 += T) {
    for (let j0 = 0; j0 < d; j0 += T) {
      const i1 = Math.min(n, i0 + T);
      const j1 = Math.min(d, j0 + T);
      for (let j = j0; j < j1; j++) for (let i = i0; i < i1; i++) xt[j * n + i] = xc[i * d + j];
    }
  }
  return { n, d, xc, xt, mean, engine: engine ?? (await getGemmEngine()) };
}

/**
 * The checks, column means and centred rows of headData (without its transpose, which reducedHeadData does not
 * need); `inPlace` centres x's own array, for arrays made here (a fresh 16 MB array costs ~60 ms of page faults on
 * the development VM, more than the arithmetic).
 */
function centredHead(x: Matrix, inPlace = false): { mean: Float64Array; xc: Float64Array } {
  const { rows: n, cols: d } = x;
  if (n === 0 || d === 0) throw new Error(`classifier head: ${n}×${d} features; need at least one image and one feature`);
  if (x.data.length !== n * d) throw new Error(`classifier head: ${x.data.length} values for ${n}×${d} features`);
  for (let k = 0; k < n * d; k++) {
    if (!Number.isFinite(x.data[k])) {
      throw new Error(`classifier head: feature ${(k % d) + 1} of image ${Math.floor(k / d) + 1} is ${x.data[k]}; features must be finite`);
    }
  }
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x.data[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const xc = inPlace ? x.data : new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) xc[i * d + j] = x.data[i * d + j] - mean[j];
  return { mean, xc };
}

/**
 * The features standardised once over all rows and rotated onto their principal axes: Z = X̃V (N×r, r = rank of X̃
 * ≤ min(N, D)), from one eigendecomposition of the smaller of X̃X̃ᵀ and X̃ᵀX̃. A logistic fit on any rows of Z is the
 * fit on the same rows of X̃ (logits X̃W = Z·VᵀW, and the L2 penalty is rotation-invariant with the solution in the
 * row space), at r/D of the cost — the saving that makes nested cross-validation affordable when N < D. Fits on
 * these data do not re-standardise per fold (`fixed`), and the preconditioner is the exact diagonal Σ_Z = diag(σ)/N.
 * Only rows of these data can be predicted (the rotation of new images is not kept).
 */
export async function reducedHeadData(x: Matrix, engine?: GemmEngine): Promise<HeadData> {
  const eng = engine ?? (await getGemmEngine());
  const { rows: n, cols: d } = x;
  const { mean, xc } = centredHead(x);
  const st = standardizer(
    { n, d, xc, xt: new Float64Array(0), mean, engine: eng },
    Array.from({ length: n }, (_, i) => i),
  );
  const z = xc; // standardised in place: xc is this function's own copy
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) z[i * d + j] = (xc[i * d + j] - st.mu[j]) * st.scale[j];
  let r: number;
  let coords: Float64Array;
  let values: Float64Array;
  if (n <= d) {
    const k = await eng.abt(z, n, z, n, d);
    const e = symmetricEigen({ rows: n, cols: n, data: k });
    r = rankOf(e.values);
    coords = new Float64Array(n * r); // U·√σ
    for (let i = 0; i < n; i++) for (let q = 0; q < r; q++) coords[i * r + q] = e.vectors.data[i * n + q] * Math.sqrt(e.values[q]);
    values = e.values.slice(0, r);
  } else {
    const zt = new Float64Array(d * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) zt[j * n + i] = z[i * d + j];
    const g = await eng.abt(zt, d, zt, d, n);
    const e = symmetricEigen({ rows: d, cols: d, data: g });
    r = rankOf(e.values);
    const vt = new Float64Array(r * d);
    for (let j = 0; j < d; j++) for (let q = 0; q < r; q++) vt[q * d + j] = e.vectors.data[j * d + q];
    coords = await eng.abt(z, n, vt, r, d); // X̃V
    values = e.values.slice(0, r);
  }
  if (r === 0) {
    // Every column constant: one zero column keeps the fits defined (they reduce to their biases).
    r = 1;
    coords = new Float64Array(n);
    values = new Float64Array([0]);
  }
  const centred = centredHead({ rows: n, cols: r, data: coords }, true);
  const out = await withTranspose(n, r, centred.mean, centred.xc, eng);
  out.fixed = true;
  out.spectrum = Promise.resolve({ v: new Float64Array(0), vt: new Float64Array(0), values: Float64Array.from(values, (v) => v / n), r, diagonal: true });
  return out;
}

/** Directions kept: eigenvalues above 1e-12 of the largest (the rest is rounding of a rank-deficient matrix). */
function rankOf(values: Float64Array): number {
  const top = Math.max(values[0] ?? 0, 0);
  let r = 0;
  while (r < values.length && values[r] > 1e-12 * top) r++;
  return r;
}

/** Per-column standardisation of a set of rows, relative to `HeadData.xc`: z = (xc − mu)·scale. */
export interface Standardizer {
  /** Training mean of xc (add HeadData.mean for the raw-scale mean). */
  mu: Float64Array;
  /** 1/σ, or 0 for a constant column. */
  scale: Float64Array;
}

/**
 * Standardisation of `rows`: population σ (ddof 0). A column is constant, and maps to 0, when
 * σ² ≤ n·ε·σ² + (n·ε·m)² with m its raw mean (scikit-learn's StandardScaler rule): its variation is rounding.
 */
export function standardizer(data: HeadData, rows: ArrayLike<number>): Standardizer {
  const { d, xc } = data;
  const n = rows.length;
  const mu = new Float64Array(d);
  const scale = new Float64Array(d);
  // Fixed columns: no rescaling; no centring either, which the unpenalised bias makes irrelevant to W.
  if (data.fixed) return { mu, scale: scale.fill(1) };
  for (let k = 0; k < n; k++) {
    const o = rows[k] * d;
    for (let j = 0; j < d; j++) mu[j] += xc[o + j];
  }
  for (let j = 0; j < d; j++) mu[j] /= n;
  const ss = new Float64Array(d);
  for (let k = 0; k < n; k++) {
    const o = rows[k] * d;
    for (let j = 0; j < d; j++) {
      const t = xc[o + j] - mu[j];
      ss[j] += t * t;
    }
  }
  const eps = Number.EPSILON;
  for (let j = 0; j < d; j++) {
    const v = ss[j] / n;
    const m = data.mean[j] + mu[j];
    const bound = n * eps * v + (n * m * eps) ** 2;
    scale[j] = v > bound && v > 0 ? 1 / Math.sqrt(v) : 0;
  }
  return { mu, scale };
}

/** A fitted logistic head. Logits of a raw feature row x: ((x − mean − mu)·scale)ᵀ W + b over `classes`. */
export interface LogisticFit {
  /** The data codes this fit predicts (the classes present in its training rows), in column order. */
  classes: number[];
  /** D×C on standardised features (row-major). */
  weights: Matrix;
  /** Centred (Σ b = 0). */
  bias: Float64Array;
  /** Raw-scale training mean per column, and 1/σ (0: constant column). */
  mean: Float64Array;
  scale: Float64Array;
  lambda: number;
  /** f at the solution. */
  loss: number;
  /** max |∇f| at the solution. */
  gradient: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
}

export interface LogisticOptions {
  lambda: number;
  /** Stop when max |∇f| ≤ tol (default 1e-5). */
  tol?: number;
  /** …or when f decreases by less than ftol·max(1, |f|) in an iteration (default 1e-12; 0 turns it off). */
  ftol?: number;
  maxIter?: number;
  /** Warm start: a fit on the same columns and classes (e.g. the previous λ of a path). */
  init?: Pick<LogisticFit, 'weights' | 'bias' | 'classes'>;
  /** Precondition L-BFGS with the features' spectrum (default true; the solution is the same either way). */
  precondition?: boolean;
}

interface Problem {
  data: HeadData;
  rows: Int32Array;
  /** Column of each training row (0…C'−1 over the present classes). */
  target: Int32Array;
  classes: number[];
  st: Standardizer;
  /** objective's work arrays, made on its first evaluation. */
  work?: { wt: Float64Array; bEff: Float64Array; r: Float64Array };
}

function problem(data: HeadData, y: ArrayLike<number>, rows: ArrayLike<number>, st?: Standardizer): Problem {
  if (y.length !== data.n) throw new Error(`classifier head: ${y.length} labels for ${data.n} images`);
  if (rows.length === 0) throw new Error('classifier head: no training images');
  const present = [...new Set(Array.from(rows, (r) => y[r]))].sort((a, b) => a - b);
  const col = new Map(present.map((c, k) => [c, k]));
  const rws = Int32Array.from(rows);
  for (const r of rws) if (!(r >= 0 && r < data.n)) throw new Error(`classifier head: row ${r} outside 0…${data.n - 1}`);
  return { data, rows: rws, target: Int32Array.from(rws, (r) => col.get(y[r])!), classes: present, st: st ?? standardizer(data, rws) };
}

/** Effective weights on the centred data: Wᵀ' (C×D, row c = scale ⊙ W[:, c]) and b' = b − μᵀW'. */
function effective(
  p: Problem,
  w: Float64Array,
  b: ArrayLike<number>,
  c: number,
  into?: { wt: Float64Array; bEff: Float64Array },
): { wt: Float64Array; bEff: Float64Array } {
  const d = p.data.d;
  const { mu, scale } = p.st;
  const wt = into?.wt ?? new Float64Array(c * d);
  const bEff = into?.bEff ?? new Float64Array(c);
  for (let k = 0; k < c; k++) {
    let s = 0;
    for (let j = 0; j < d; j++) {
      const v = scale[j] * w[j * c + k];
      wt[k * d + j] = v;
      s += mu[j] * v;
    }
    bEff[k] = b[k] - s;
  }
  return { wt, bEff };
}

/** f and ∇f at θ = [W (D×C row-major), b (C)]; `grad` is filled. */
async function objective(p: Problem, lambda: number, theta: Float64Array, grad: Float64Array): Promise<number> {
  const { n: nAll, d, xc, xt, engine } = p.data;
  const c = p.classes.length;
  const w = theta.subarray(0, d * c);
  const b = theta.subarray(d * c);
  // One fit's evaluations run one after another, and each product has read its inputs once it resolves: the
  // problem's work arrays serve every evaluation.
  p.work ??= { wt: new Float64Array(c * d), bEff: new Float64Array(c), r: new Float64Array(c * nAll) };
  const { wt, bEff } = effective(p, w, b, c, p.work);
  const z = await engine.abt(xc, nAll, wt, c, d);
  const n = p.rows.length;
  const r = p.work.r.fill(0); // Rᵀ: C × N, zero on rows outside the fit
  let loss = 0;
  const zi = new Float64Array(c);
  for (let k = 0; k < n; k++) {
    const i = p.rows[k];
    let max = -Infinity;
    for (let q = 0; q < c; q++) {
      zi[q] = z[i * c + q] + bEff[q];
      if (zi[q] > max) max = zi[q];
    }
    let sum = 0;
    for (let q = 0; q < c; q++) sum += zi[q] = Math.exp(zi[q] - max);
    const t = p.target[k];
    loss += max + Math.log(sum) - (z[i * c + t] + bEff[t]);
    const inv = 1 / (sum * n);
    for (let q = 0; q < c; q++) r[q * nAll + i] += zi[q] * inv;
    r[t * nAll + i] -= 1 / n;
  }
  const g = await engine.abt(xt, d, r, c, nAll); // D × C = X̃cᵀ R
  const colSum = new Float64Array(c);
  for (let q = 0; q < c; q++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += r[q * nAll + p.rows[k]];
    colSum[q] = s;
  }
  const { mu, scale } = p.st;
  let penalty = 0;
  for (let j = 0; j < d; j++) {
    for (let q = 0; q < c; q++) {
      const wv = w[j * c + q];
      penalty += wv * wv;
      grad[j * c + q] = scale[j] * (g[j * c + q] - mu[j] * colSum[q]) + lambda * wv;
    }
  }
  for (let q = 0; q < c; q++) grad[d * c + q] = colSum[q];
  return loss / n + 0.5 * lambda * penalty;
}

function maxAbs(v: Float64Array): number {
  let m = 0;
  for (const x of v) if (Math.abs(x) > m) m = Math.abs(x);
  return m;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

interface LbfgsResult {
  theta: Float64Array;
  f: number;
  gradient: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
}

/**
 * L-BFGS (two-loop recursion, `m` pairs) with Armijo backtracking (c₁ = 1e-4, safeguarded quadratic
 * interpolation). `h0` applies the initial inverse-Hessian approximation (a preconditioner; default identity;
 * it may overwrite its argument, always one of this function's work arrays),
 * scaled each iteration by sᵀy / yᵀH₀y. Pairs with too little curvature are skipped; a non-descent direction resets
 * the memory.
 */
async function lbfgs(
  f: (theta: Float64Array, grad: Float64Array) => Promise<number>,
  theta0: Float64Array,
  opts: { tol: number; ftol: number; maxIter: number; m?: number; h0?: (v: Float64Array) => Promise<Float64Array> },
): Promise<LbfgsResult> {
  const m = opts.m ?? 10;
  const h0 = opts.h0;
  const len = theta0.length;
  // Work arrays are recycled (a fit runs hundreds of iterations, and fresh arrays per iteration made the garbage
  // collector a tenth of the probe's time): the iterate and gradient swap with their trial buffers on acceptance,
  // and the pair that leaves a full history holds the next one.
  let theta = Float64Array.from(theta0);
  let g = new Float64Array(len);
  let next = new Float64Array(len);
  let gNext = new Float64Array(len);
  let d: Float64Array = new Float64Array(len);
  const scratch = new Float64Array(len);
  // The next pair's arrays: fresh until the history is full, then the pair that leaves it.
  let sNew: Float64Array = new Float64Array(len);
  let yNew: Float64Array = new Float64Array(len);
  let fx = await f(theta, g);
  let evaluations = 1;
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  let gamma = 1;
  let gmax = maxAbs(g);
  if (!Number.isFinite(fx)) throw new Error(`classifier head: the loss is ${fx} at the start`);
  let it = 0;
  let converged = gmax <= opts.tol;
  const alpha = new Float64Array(m);
  while (!converged && it < opts.maxIter) {
    // Two-loop recursion: d = −H·g. Each update of d shares its pass with the next dot product (the same
    // operations in the same order as one loop per step, so the same values, in half the passes over memory).
    d.set(g);
    const pairs = S.length;
    if (pairs > 0) alpha[pairs - 1] = rho[pairs - 1] * dot(S[pairs - 1], d);
    for (let k = pairs - 1; k >= 0; k--) {
      const ak = alpha[k];
      const yk = Y[k];
      if (k === 0) {
        for (let i = 0; i < len; i++) d[i] -= ak * yk[i];
        break;
      }
      const sNext = S[k - 1];
      let acc = 0;
      for (let i = 0; i < len; i++) {
        d[i] -= ak * yk[i];
        acc += sNext[i] * d[i];
      }
      alpha[k - 1] = rho[k - 1] * acc;
    }
    if (h0) d = await h0(d);
    let beta = 0;
    if (pairs > 0) {
      const y0 = Y[0];
      let acc = 0;
      for (let i = 0; i < len; i++) {
        d[i] *= gamma;
        acc += y0[i] * d[i];
      }
      beta = rho[0] * acc;
    } else for (let i = 0; i < len; i++) d[i] *= gamma;
    let gd = 0;
    for (let k = 0; k < pairs; k++) {
      const sk = S[k];
      const c = alpha[k] - beta;
      if (k === pairs - 1) break;
      const yNext = Y[k + 1];
      let acc = 0;
      for (let i = 0; i < len; i++) {
        d[i] += sk[i] * c;
        acc += yNext[i] * d[i];
      }
      beta = rho[k + 1] * acc;
    }
    // The last pair's update, the sign flip and gᵀd in one pass.
    const sLast = pairs > 0 ? S[pairs - 1] : undefined;
    const cLast = pairs > 0 ? alpha[pairs - 1] - beta : 0;
    for (let i = 0; i < len; i++) {
      d[i] = sLast ? -(d[i] + sLast[i] * cLast) : -d[i];
      gd += g[i] * d[i];
    }
    if (!(gd < 0)) {
      S.length = Y.length = rho.length = 0;
      d.set(g);
      if (h0) d = await h0(d);
      for (let i = 0; i < len; i++) d[i] = -d[i];
      gd = dot(g, d);
      if (!(gd < 0)) for (let i = 0; i < len; i++) d[i] = -g[i];
      gd = dot(g, d);
    }
    // Without a preconditioner the first step is scaled to length 1; with one, the unit step is its Newton step.
    let step = S.length === 0 && !h0 ? Math.min(1, 1 / Math.sqrt(dot(g, g))) : 1;
    let fNext = Infinity;
    let accepted = false;
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i < len; i++) next[i] = theta[i] + step * d[i];
      fNext = await f(next, gNext);
      evaluations++;
      // Armijo; or, where the decrease is below the rounding of f (close to the optimum), Hager & Zhang's approximate
      // Wolfe condition: f did not grow beyond rounding and the slope along d has at least turned from φ'(0) to
      // ≤ (2δ − 1)·φ'(0), δ = 0.1 — which the gradient can certify long after f stops resolving the decrease.
      if (
        Number.isFinite(fNext) &&
        (fNext <= fx + 1e-4 * step * gd || (fNext <= fx + 1e-14 * Math.abs(fx) && dot(gNext, d) <= (2 * 0.1 - 1) * gd && dot(gNext, d) >= 0.9 * gd))
      ) {
        accepted = true;
        break;
      }
      const q = Number.isFinite(fNext) ? (-gd * step * step) / (2 * (fNext - fx - gd * step)) : 0.1 * step;
      step = Math.min(0.5 * step, Math.max(0.1 * step, q));
    }
    it++;
    if (!accepted) break; // no decrease possible at this precision: the minimum is reached as far as float64 can tell
    const s = sNew;
    const y = yNew;
    for (let i = 0; i < len; i++) {
      s[i] = next[i] - theta[i];
      y[i] = gNext[i] - g[i];
    }
    const sy = dot(s, y);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (S.length === m) {
        sNew = S.shift()!;
        yNew = Y.shift()!;
        rho.shift();
      } else {
        sNew = new Float64Array(len);
        yNew = new Float64Array(len);
      }
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
      if (h0) scratch.set(y);
      gamma = sy / dot(y, h0 ? await h0(scratch) : y);
    }
    const decrease = fx - fNext;
    [theta, next] = [next, theta];
    [g, gNext] = [gNext, g];
    fx = fNext;
    gmax = maxAbs(g);
    converged = gmax <= opts.tol;
    if (!converged && opts.ftol > 0 && decrease <= opts.ftol * Math.max(1, Math.abs(fx))) break;
  }
  return { theta, f: fx, gradient: gmax, iterations: it, evaluations, converged };
}

/**
 * The spectrum of the standardised features of all rows, Σ = Z̃ᵀZ̃/N = V diag(σ) Vᵀ (thin: r = rank ≤ min(N, D)
 * directions, from the N×N Gram when N < D). It preconditions every fit on the data: the W-block of the objective's
 * Hessian is close to c·Σ_fold + λI (c the softmax curvature, ≈ (1/C)(1 − 1/C) at the start), and Σ of all rows is
 * close to any fold's. Built once per feature set (one D×D or N×N eigendecomposition).
 */
export interface Spectrum {
  /** D×r, orthonormal columns (row-major); empty when `diagonal`. */
  v: Float64Array;
  /** r×D = Vᵀ; empty when `diagonal`. */
  vt: Float64Array;
  values: Float64Array;
  r: number;
  /** V = I (the data are in principal coordinates): the preconditioner is elementwise. */
  diagonal?: boolean;
}

async function spectrumOf(data: HeadData): Promise<Spectrum> {
  const { n, d, xc, xt, engine } = data;
  const st = standardizer(
    data,
    Array.from({ length: n }, (_, i) => i),
  );
  if (d <= n) {
    const g = await engine.abt(xt, d, xt, d, n);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) g[i * d + j] *= (st.scale[i] * st.scale[j]) / n;
    const { values, vectors } = symmetricEigen({ rows: d, cols: d, data: g });
    const r = rankOf(values);
    const v = new Float64Array(d * r);
    const vt = new Float64Array(r * d);
    for (let i = 0; i < d; i++) {
      for (let k = 0; k < r; k++) {
        v[i * r + k] = vectors.data[i * d + k];
        vt[k * d + i] = vectors.data[i * d + k];
      }
    }
    return { v, vt, values: values.slice(0, r), r };
  }
  // N < D: Z̃Z̃ᵀ/N = U diag(σ) Uᵀ, and V = Z̃ᵀU diag(1/√(Nσ)).
  const z = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) z[i * d + j] = xc[i * d + j] * st.scale[j];
  const k = await engine.abt(z, n, z, n, d);
  for (let i = 0; i < n * n; i++) k[i] /= n;
  const { values, vectors } = symmetricEigen({ rows: n, cols: n, data: k });
  const r = rankOf(values);
  const ut = new Float64Array(r * n);
  for (let i = 0; i < n; i++) for (let q = 0; q < r; q++) ut[q * n + i] = vectors.data[i * n + q] / Math.sqrt(n * values[q]);
  const zt = new Float64Array(d * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) zt[j * n + i] = z[i * d + j];
  const vt = await engine.abt(ut, r, zt, d, n); // r×D
  const v = new Float64Array(d * r);
  for (let q = 0; q < r; q++) for (let j = 0; j < d; j++) v[j * r + q] = vt[q * d + j];
  return { v, vt, values: values.slice(0, r), r };
}

function spectrum(data: HeadData): Promise<Spectrum> {
  data.spectrum ??= spectrumOf(data);
  return data.spectrum;
}

/**
 * H₀ for θ = [W (D×C), b (C)]: W's columns through (cΣ + λI)⁻¹ = V diag(1/(cσ + λ)) Vᵀ + (I − VVᵀ)/λ, b through 1/c.
 */
function preconditioner(data: HeadData, sp: Spectrum, c: number, lambda: number): (v: Float64Array) => Promise<Float64Array> {
  const { d, engine } = data;
  const { v, vt, values, r } = sp;
  const curv = (1 / c) * (1 - 1 / c); // the softmax curvature p(1 − p) at uniform p
  // In place: lbfgs hands over its own work arrays.
  if (sp.diagonal) {
    return async (g) => {
      const out = g;
      for (let j = 0; j < d; j++) for (let q = 0; q < c; q++) out[j * c + q] = g[j * c + q] / (curv * values[j] + lambda);
      for (let q = 0; q < c; q++) out[d * c + q] = g[d * c + q] / curv;
      return out;
    };
  }
  return async (g) => {
    const out = g; // each entry is read before it is written
    const wT = new Float64Array(c * d);
    for (let j = 0; j < d; j++) for (let q = 0; q < c; q++) wT[q * d + j] = g[j * c + q];
    const proj = await engine.abt(vt, r, wT, c, d); // r×C = Vᵀ W
    const scaledT = new Float64Array(c * r);
    const projT = new Float64Array(c * r);
    for (let k = 0; k < r; k++) {
      for (let q = 0; q < c; q++) {
        scaledT[q * r + k] = proj[k * c + q] / (curv * values[k] + lambda);
        projT[q * r + k] = proj[k * c + q];
      }
    }
    const both = new Float64Array(2 * c * r);
    both.set(scaledT);
    both.set(projT, c * r);
    const ab = await engine.abt(v, d, both, 2 * c, r); // D×2C: [V diag(·) Vᵀ W, V Vᵀ W]
    for (let i = 0; i < d; i++) for (let q = 0; q < c; q++) out[i * c + q] = ab[i * 2 * c + q] + (g[i * c + q] - ab[i * 2 * c + c + q]) / lambda;
    for (let q = 0; q < c; q++) out[d * c + q] = g[d * c + q] / curv;
    return out;
  };
}

function fitFromTheta(p: Problem, theta: Float64Array, lambda: number, r: LbfgsResult): LogisticFit {
  const d = p.data.d;
  const c = p.classes.length;
  const bias = Float64Array.from(theta.subarray(d * c));
  const meanB = bias.reduce((a, v) => a + v, 0) / c;
  for (let q = 0; q < c; q++) bias[q] -= meanB;
  const mean = new Float64Array(d);
  for (let j = 0; j < d; j++) mean[j] = p.data.mean[j] + p.st.mu[j];
  return {
    classes: p.classes,
    weights: { rows: d, cols: c, data: Float64Array.from(theta.subarray(0, d * c)) },
    bias,
    mean,
    scale: Float64Array.from(p.st.scale),
    lambda,
    loss: r.f,
    gradient: r.gradient,
    iterations: r.iterations,
    evaluations: r.evaluations,
    converged: r.converged,
  };
}

function checkLambda(lambda: number): void {
  if (!(lambda > 0) || !Number.isFinite(lambda)) throw new Error(`logistic head: λ must be a positive number, got ${lambda}`);
}

/** A λ grid both cross-validations accept: non-empty, every value positive and finite. */
function checkGrid(grid: readonly number[]): void {
  if (grid.length === 0) throw new Error('logistic head: empty λ grid');
  grid.forEach(checkLambda);
}

function trivialFit(p: Problem, lambda: number): LogisticFit {
  const d = p.data.d;
  const mean = new Float64Array(d);
  for (let j = 0; j < d; j++) mean[j] = p.data.mean[j] + p.st.mu[j];
  return {
    classes: p.classes,
    weights: { rows: d, cols: 1, data: new Float64Array(d) },
    bias: new Float64Array(1),
    mean,
    scale: Float64Array.from(p.st.scale),
    lambda,
    loss: 0,
    gradient: 0,
    iterations: 0,
    evaluations: 0,
    converged: true,
  };
}

async function fitProblem(p: Problem, opts: LogisticOptions): Promise<LogisticFit> {
  checkLambda(opts.lambda);
  const d = p.data.d;
  const c = p.classes.length;
  if (c === 1) return trivialFit(p, opts.lambda); // one class: the constant prediction is the optimum
  const theta0 = new Float64Array(d * c + c);
  if (opts.init) {
    const init = opts.init;
    if (init.weights.rows !== d) throw new Error(`logistic head: warm start has ${init.weights.rows} features, the data ${d}`);
    const at = new Map(init.classes.map((cl, k) => [cl, k]));
    p.classes.forEach((cl, q) => {
      const k = at.get(cl);
      if (k === undefined) return;
      for (let j = 0; j < d; j++) theta0[j * c + q] = init.weights.data[j * init.weights.cols + k];
      theta0[d * c + q] = init.bias[k];
    });
    const mb = theta0.subarray(d * c).reduce((a, v) => a + v, 0) / c;
    for (let q = 0; q < c; q++) theta0[d * c + q] -= mb;
  }
  const h0 = opts.precondition === false ? undefined : preconditioner(p.data, await spectrum(p.data), c, opts.lambda);
  const r = await lbfgs((t, g) => objective(p, opts.lambda, t, g), theta0, {
    tol: opts.tol ?? 1e-5,
    ftol: opts.ftol ?? 1e-12,
    maxIter: opts.maxIter ?? 1000,
    h0,
  });
  return fitFromTheta(p, r.theta, opts.lambda, r);
}

/**
 * Fit the logistic head on `rows` of the data (default: all) with labels `y` (codes, one per data row; rows outside
 * the fit are ignored).
 */
export async function fitLogistic(data: HeadData, y: ArrayLike<number>, opts: LogisticOptions & { rows?: ArrayLike<number> }): Promise<LogisticFit> {
  return fitProblem(problem(data, y, opts.rows ?? Array.from({ length: data.n }, (_, i) => i)), opts);
}

/** Fits along a λ path (sorted strongest first), each warm-started from the previous. */
export async function logisticPath(
  data: HeadData,
  y: ArrayLike<number>,
  lambdas: readonly number[],
  opts: Omit<LogisticOptions, 'lambda' | 'init'> & { rows?: ArrayLike<number> } = {},
): Promise<LogisticFit[]> {
  const p = problem(data, y, opts.rows ?? Array.from({ length: data.n }, (_, i) => i));
  const order = [...lambdas].map((l, i) => ({ l, i })).sort((a, b) => b.l - a.l);
  const out: LogisticFit[] = new Array(lambdas.length);
  let prev: LogisticFit | undefined;
  for (const { l, i } of order) {
    prev = await fitProblem(p, { ...opts, lambda: l, init: prev });
    out[i] = prev;
  }
  return out;
}

/** Logits (N×C over `fit.classes`) of raw feature rows. */
export async function logisticLogits(fit: LogisticFit, x: Matrix, engine?: GemmEngine): Promise<Matrix> {
  const { rows: n, cols: d } = x;
  if (d !== fit.weights.rows) throw new Error(`logistic head: ${d} features given, the fit has ${fit.weights.rows}`);
  const c = fit.weights.cols;
  const xs = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) xs[i * d + j] = (x.data[i * d + j] - fit.mean[j]) * fit.scale[j];
  const wt = new Float64Array(c * d);
  for (let j = 0; j < d; j++) for (let q = 0; q < c; q++) wt[q * d + j] = fit.weights.data[j * c + q];
  const z = await (engine ?? (await getGemmEngine())).abt(xs, n, wt, c, d);
  for (let i = 0; i < n; i++) for (let q = 0; q < c; q++) z[i * c + q] += fit.bias[q];
  return { rows: n, cols: c, data: z };
}

/** Row-wise argmax mapped to class codes (ties: the smaller code). */
function argmaxCodes(z: Float64Array, n: number, c: number, classes: number[]): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let q = 1; q < c; q++) if (z[i * c + q] > z[i * c + best]) best = q;
    out[i] = classes[best];
  }
  return out;
}

export async function predictLogistic(fit: LogisticFit, x: Matrix, engine?: GemmEngine): Promise<Int32Array> {
  const z = await logisticLogits(fit, x, engine);
  return argmaxCodes(z.data, z.rows, z.cols, fit.classes);
}

/** Predictions for rows of the data the fit was made on (the fit's standardisation is folded into its weights). */
export async function predictLogisticRows(data: HeadData, fit: LogisticFit, rows: ArrayLike<number>): Promise<Int32Array> {
  const { d, xc, engine } = data;
  const c = fit.weights.cols;
  const mu = new Float64Array(d);
  for (let j = 0; j < d; j++) mu[j] = fit.mean[j] - data.mean[j];
  const p: Problem = { data, rows: Int32Array.from(rows), target: new Int32Array(0), classes: fit.classes, st: { mu, scale: fit.scale } };
  const { wt, bEff } = effective(p, fit.weights.data, fit.bias, c);
  const sub = new Float64Array(rows.length * d);
  for (let k = 0; k < rows.length; k++) sub.set(xc.subarray(rows[k] * d, rows[k] * d + d), k * d);
  const z = await engine.abt(sub, rows.length, wt, c, d);
  for (let k = 0; k < rows.length; k++) for (let q = 0; q < c; q++) z[k * c + q] += bEff[q];
  return argmaxCodes(z, rows.length, c, fit.classes);
}

export function accuracy(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  if (pred.length !== truth.length) throw new Error(`accuracy: ${pred.length} predictions for ${truth.length} labels`);
  let hit = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === truth[i]) hit++;
  return hit / pred.length;
}

/**
 * Stratified k-fold assignment that depends on the labels only through the partition they make (renaming or
 * renumbering the classes gives the same folds): the rows are shuffled once (Fisher–Yates from the end on
 * mulberry32(seed)); classes are taken in the order of their first row in that shuffle, each class's rows in
 * shuffle order, and dealt round-robin to the folds, continuing where the previous class stopped — so fold sizes
 * differ by at most one and every class is spread as evenly as it can be.
 */
export function stratifiedFolds(y: ArrayLike<number>, k: number, seed: number): Int32Array {
  if (!Number.isInteger(k) || k < 2) throw new Error(`folds must be an integer ≥ 2, got ${k}`);
  if (y.length < k) throw new Error(`${y.length} images are too few for ${k} folds`);
  const random = mulberry32(seed);
  const perm = Array.from({ length: y.length }, (_, i) => i);
  for (let i = perm.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const byClass = new Map<number, number[]>();
  for (const r of perm) {
    let l = byClass.get(y[r]);
    if (!l) byClass.set(y[r], (l = []));
    l.push(r);
  }
  const fold = new Int32Array(y.length);
  let next = 0;
  for (const members of byClass.values()) for (const r of members) fold[r] = next++ % k;
  return fold;
}

export interface CrossValidation {
  /** The grid, as given. */
  grid: number[];
  /** Held-out accuracy pooled over the folds, per grid value (empty when a one-value grid needed no cross-validation). */
  accuracy: number[];
  /** The chosen value: the highest mean accuracy; ties go to the stronger regularisation. */
  best: number;
  /** Folds used (0: no cross-validation). */
  folds: number;
}

/** Pick the best grid value: highest mean accuracy, ties to the larger value (stronger regularisation). */
function choose(grid: readonly number[], acc: number[]): number {
  let best = -1;
  for (let i = 0; i < grid.length; i++) {
    if (best < 0 || acc[i] > acc[best] + 1e-12 || (Math.abs(acc[i] - acc[best]) <= 1e-12 && grid[i] > grid[best])) best = i;
  }
  return grid[best];
}

export interface LogisticCvOptions {
  lambdas?: readonly number[];
  folds?: number;
  seed?: number;
  /** Restrict to these data rows (default: all); fold assignment is over them. */
  rows?: ArrayLike<number>;
  tol?: number;
  ftol?: number;
  maxIter?: number;
}

/**
 * Pooled held-out accuracy of stratified k-fold cross-validation on `rows` for every λ of the grid (each fold's
 * standardisation from its own training rows; the grid walked from strong to weak regularisation with warm
 * starts), and the folds' fits.
 */
export async function crossValidatedAccuracy(
  data: HeadData,
  y: ArrayLike<number>,
  grid: readonly number[],
  opts: Omit<LogisticCvOptions, 'lambdas'> = {},
): Promise<{ accuracy: number[]; perFold: LogisticFit[][] }> {
  checkGrid(grid);
  const k = opts.folds ?? 5;
  const rows = Int32Array.from(opts.rows ?? Array.from({ length: data.n }, (_, i) => i));
  const ry = Int32Array.from(rows, (r) => y[r]);
  const fold = stratifiedFolds(ry, k, opts.seed ?? 0);
  const hits = new Float64Array(grid.length);
  const runFold = async (f: number, on: HeadData): Promise<LogisticFit[]> => {
    const train = rows.filter((_, i) => fold[i] !== f);
    const test = rows.filter((_, i) => fold[i] === f);
    const fits = await logisticPath(on, y, grid, { rows: train, tol: opts.tol, ftol: opts.ftol, maxIter: opts.maxIter });
    for (let g = 0; g < grid.length; g++) {
      const pred = await predictLogisticRows(on, fits[g], test);
      for (let i = 0; i < test.length; i++) if (pred[i] === y[test[i]]) hits[g]++;
    }
    return fits;
  };
  let perFold: LogisticFit[][];
  if (data.fixed) {
    // The folds' fits in lockstep: each evaluation's two products over the whole data matrix become one product
    // for every fold waiting on the same matrix (see LockstepEngine).
    const lock = new LockstepEngine(data.engine, k);
    const shared: HeadData = { ...data, engine: lock };
    perFold = await Promise.all(
      Array.from({ length: k }, async (_, f) => {
        try {
          return await runFold(f, shared);
        } finally {
          lock.leave();
        }
      }),
    );
  } else {
    perFold = [];
    for (let f = 0; f < k; f++) perFold.push(await runFold(f, data));
  }
  return { accuracy: Array.from(hits, (h) => h / rows.length), perFold };
}

interface LockstepRequest {
  a: Float;
  m: number;
  b: Float;
  n: number;
  k: number;
  precision?: Precision;
  resolve: (c: Float64Array) => void;
  reject: (e: unknown) => void;
}

/**
 * A GEMM engine shared by several fits that run concurrently (the folds of one cross-validation): a product is held
 * until every fit still running waits on one, then the waiting products with the same left matrix A run as one
 * A·[B₁; B₂; …]ᵀ. Each evaluation of a fit multiplies the whole N×r data matrix (or its transpose) by C columns, a
 * product bound by reading the matrix: five folds' columns at once cost about as much as two folds' one at a time.
 * Each output column is the same dot product either way, so the fits are the ones a sequential run makes. Only
 * products from the fits' own awaits pass here (a fit awaits nothing else), so every running fit reaches one.
 */
class LockstepEngine implements GemmEngine {
  readonly name: string;
  private pending: LockstepRequest[] = [];
  constructor(
    private readonly inner: GemmEngine,
    private running: number,
  ) {
    this.name = inner.name;
  }
  abt(a: Float, m: number, b: Float, n: number, k: number, precision?: Precision): Promise<Float64Array> {
    return new Promise((resolve, reject) => {
      this.pending.push({ a, m, b, n, k, precision, resolve, reject });
      this.flushIfAllWait();
    });
  }
  /** A fit finished (or failed): stop waiting for it. */
  leave(): void {
    this.running--;
    this.flushIfAllWait();
  }
  private flushIfAllWait(): void {
    if (this.pending.length === 0 || this.pending.length < this.running) return;
    const batch = this.pending;
    this.pending = [];
    const groups = new Map<Float, LockstepRequest[]>();
    for (const r of batch) {
      const g = groups.get(r.a);
      if (g && g[0].m === r.m && g[0].k === r.k && g[0].precision === r.precision) g.push(r);
      else if (!g) groups.set(r.a, [r]);
      else void this.run([r]);
    }
    for (const g of groups.values()) void this.run(g);
  }
  private async run(group: LockstepRequest[]): Promise<void> {
    const { a, m, k, precision } = group[0];
    try {
      if (group.length === 1) {
        group[0].resolve(await this.inner.abt(a, m, group[0].b, group[0].n, k, precision));
        return;
      }
      let total = 0;
      for (const r of group) total += r.n;
      const b = new Float64Array(total * k);
      let offset = 0;
      for (const r of group) {
        b.set(r.b.subarray(0, r.n * k), offset * k);
        offset += r.n;
      }
      const c = await this.inner.abt(a, m, b, total, k, precision);
      offset = 0;
      for (const r of group) {
        const out = new Float64Array(m * r.n);
        const n = r.n;
        for (let i = 0; i < m; i++) {
          const from = i * total + offset;
          for (let j = 0; j < n; j++) out[i * n + j] = c[from + j];
        }
        offset += r.n;
        r.resolve(out);
      }
    } catch (e) {
      for (const r of group) r.reject(e);
    }
  }
}

/**
 * Choose λ by stratified k-fold cross-validation on `rows` (crossValidatedAccuracy), then fit on all of `rows` at
 * the chosen λ, warm-started from the mean of the folds' solutions at that λ. A one-value grid skips the
 * cross-validation.
 */
export async function crossValidatedLogistic(
  data: HeadData,
  y: ArrayLike<number>,
  opts: LogisticCvOptions = {},
): Promise<{ fit: LogisticFit; cv: CrossValidation }> {
  const grid = [...(opts.lambdas ?? DEFAULT_LAMBDAS)];
  checkGrid(grid);
  const k = opts.folds ?? 5;
  const rows = Int32Array.from(opts.rows ?? Array.from({ length: data.n }, (_, i) => i));
  if (grid.length === 1) {
    const fit = await fitLogistic(data, y, { lambda: grid[0], rows, tol: opts.tol, ftol: opts.ftol, maxIter: opts.maxIter });
    return { fit, cv: { grid, accuracy: [], best: grid[0], folds: 0 } };
  }
  const { accuracy: acc, perFold } = await crossValidatedAccuracy(data, y, grid, { ...opts, folds: k, rows });
  const best = choose(grid, acc);
  const gi = grid.indexOf(best);
  // Warm start: the folds' solutions at the chosen λ, averaged over the folds that saw every class.
  const p = problem(data, y, rows);
  const c = p.classes.length;
  const full = perFold.map((fs) => fs[gi]).filter((f) => f.classes.length === c);
  let init: LogisticOptions['init'];
  if (full.length && c > 1) {
    const w = new Float64Array(data.d * c);
    const b = new Float64Array(c);
    for (const f of full) {
      for (let i = 0; i < w.length; i++) w[i] += f.weights.data[i] / full.length;
      for (let q = 0; q < c; q++) b[q] += f.bias[q] / full.length;
    }
    init = { weights: { rows: data.d, cols: c, data: w }, bias: b, classes: p.classes };
  }
  const fit = await fitProblem(p, { lambda: best, init, tol: opts.tol, ftol: opts.ftol, maxIter: opts.maxIter });
  return { fit, cv: { grid, accuracy: acc, best, folds: k } };
}

// ---------------------------------------------------------------------------------------------------------
// One-hidden-layer MLP

/**
 * Standardised MLP inputs are clipped to ±MLP_CLIP. A column that is nearly constant on the training rows (a ReLU
 * channel that barely fires) gets a huge 1/σ; an image where it does fire would then feed the network values of
 * 1e6 and more, and one such image blows up the validation loss that early stopping watches. Training rows stay
 * within √n of the mean by construction, so the clip only binds on outliers.
 */
export const MLP_CLIP = 10;

export interface MlpOptions {
  /** Hidden units (default 256). */
  hidden?: number;
  /** Decoupled weight decay (AdamW) on both weight matrices, not the biases (default 1e-4). */
  weightDecay?: number;
  learningRate?: number;
  batchSize?: number;
  maxEpochs?: number;
  /** Stop after this many epochs without a better validation loss (default 10). */
  patience?: number;
  /** Share of the training rows held out, stratified, for early stopping (default 0.1). */
  validation?: number;
  seed?: number;
  /** Element type of the products and the parameters (default float32: the head is trained by noisy SGD anyway). */
  precision?: Precision;
  /** Training rows (default: all data rows). */
  rows?: ArrayLike<number>;
}

type Floats = Float32Array | Float64Array;

/** A fitted MLP head: logits = W2·relu(W1·x̃ + b1) + b2, x̃ standardised as for the logistic head and clipped to ±MLP_CLIP. */
export interface MlpFit {
  classes: number[];
  /** H×D and C×H (row-major, output × input). */
  w1: { rows: number; cols: number; data: Floats };
  b1: Floats;
  w2: { rows: number; cols: number; data: Floats };
  b2: Floats;
  mean: Float64Array;
  scale: Float64Array;
  weightDecay: number;
  /** Epochs run, and the epoch whose weights were kept (lowest validation loss). */
  epochs: number;
  bestEpoch: number;
  validationLoss: number;
  /** Accuracy on the held-out validation part, at the kept epoch. */
  validationAccuracy: number;
}

function transposeInto(a: Floats, rows: number, cols: number, out: Floats): Floats {
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j];
  return out;
}

/** AdamW on one parameter array (β = 0.9, 0.999; ε = 1e-8; decoupled decay). */
class Adam {
  private m: Float64Array;
  private v: Float64Array;
  private t = 0;
  constructor(
    private readonly p: Floats,
    private readonly lr: number,
    private readonly decay: number,
  ) {
    this.m = new Float64Array(p.length);
    this.v = new Float64Array(p.length);
  }
  step(g: ArrayLike<number>): void {
    this.t++;
    const c1 = 1 / (1 - 0.9 ** this.t);
    const c2 = 1 / (1 - 0.999 ** this.t);
    const { p, m, v, lr, decay } = this;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i];
      const mi = (m[i] = 0.9 * m[i] + 0.1 * gi);
      const vi = (v[i] = 0.999 * v[i] + 0.001 * gi * gi);
      p[i] -= lr * ((mi * c1) / (Math.sqrt(vi * c2) + 1e-8) + decay * p[i]);
    }
  }
}

interface Net {
  w1: Floats;
  b1: Floats;
  w2: Floats;
  b2: Floats;
  h: number;
  c: number;
}

/** Forward pass of a batch of standardised rows (B×D): hidden activations (B×H) and logits (B×C). */
async function mlpForward(engine: GemmEngine, xb: Floats, nb: number, d: number, net: Net, precision: Precision): Promise<{ a: Floats; z: Float64Array }> {
  const { h, c } = net;
  const a64 = await engine.abt(xb, nb, net.w1, h, d, precision);
  const a = precision === 'float32' ? new Float32Array(nb * h) : a64;
  for (let i = 0; i < nb; i++) for (let u = 0; u < h; u++) a[i * h + u] = Math.max(0, a64[i * h + u] + net.b1[u]);
  const z = await engine.abt(a, nb, net.w2, c, h, precision);
  for (let i = 0; i < nb; i++) for (let q = 0; q < c; q++) z[i * c + q] += net.b2[q];
  return { a, z };
}

/** Softmax cross-entropy of logits rows against columns `t`; fills `dz` with (p − onehot)/scale when given. */
function crossEntropy(z: Float64Array, nb: number, c: number, t: ArrayLike<number>, dz?: Floats, scale = 1): number {
  let loss = 0;
  for (let i = 0; i < nb; i++) {
    let max = -Infinity;
    for (let q = 0; q < c; q++) max = Math.max(max, z[i * c + q]);
    let s = 0;
    for (let q = 0; q < c; q++) s += Math.exp(z[i * c + q] - max);
    loss += max + Math.log(s) - z[i * c + t[i]];
    if (dz) for (let q = 0; q < c; q++) dz[i * c + q] = (Math.exp(z[i * c + q] - max) / s - (q === t[i] ? 1 : 0)) / scale;
  }
  return loss;
}

function argmaxRows(z: Float64Array, n: number, c: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let q = 1; q < c; q++) if (z[i * c + q] > z[i * c + best]) best = q;
    out[i] = best;
  }
  return out;
}

const clip = (v: number) => (v > MLP_CLIP ? MLP_CLIP : v < -MLP_CLIP ? -MLP_CLIP : v);

/** The MLP's inputs for raw feature rows: standardised with the fit's mean and 1/σ, clipped to ±MLP_CLIP. */
export function mlpInputs(fit: Pick<MlpFit, 'mean' | 'scale'>, x: Matrix, precision: Precision = 'float64'): Floats {
  const { rows: n, cols: d } = x;
  const shift = fit.mean;
  const scale = fit.scale;
  const out = precision === 'float32' ? new Float32Array(n * d) : new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) out[i * d + j] = clip((x.data[i * d + j] - shift[j]) * scale[j]);
  return out;
}

function gatherStandardized(data: HeadData, st: Standardizer, rows: ArrayLike<number>, precision: Precision): Floats {
  const { d, xc } = data;
  const out = precision === 'float32' ? new Float32Array(rows.length * d) : new Float64Array(rows.length * d);
  for (let k = 0; k < rows.length; k++) {
    const o = rows[k] * d;
    for (let j = 0; j < d; j++) out[k * d + j] = clip((xc[o + j] - st.mu[j]) * st.scale[j]);
  }
  return out;
}

/** The stratified early-stopping split of `count` training positions (codes `target`): validation flags. */
function validationSplit(target: Int32Array, share: number, random: () => number): Uint8Array {
  const byClass = new Map<number, number[]>();
  target.forEach((t, k) => {
    let l = byClass.get(t);
    if (!l) byClass.set(t, (l = []));
    l.push(k);
  });
  const isVal = new Uint8Array(target.length);
  let carry = 0;
  for (const t of [...byClass.keys()].sort((a, b) => a - b)) {
    const m = byClass.get(t)!;
    for (let i = m.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [m[i], m[j]] = [m[j], m[i]];
    }
    // Largest-remainder rounding over the classes, never a whole class.
    const exact = m.length * share + carry;
    const take = Math.min(m.length - 1, Math.floor(exact));
    carry = exact - Math.floor(exact);
    for (let i = 0; i < take; i++) isVal[m[i]] = 1;
  }
  if (!isVal.some((v) => v === 1)) isVal[target.length - 1] = 1;
  return isVal;
}

interface MlpSetup {
  p: Problem;
  st: Standardizer;
  xTrain: Floats;
  yTrain: Int32Array;
  xVal: Floats;
  yVal: Int32Array;
  random: () => number;
}

/** Split `rows` into training and early-stopping parts and standardise both on the training part. */
function mlpSetup(data: HeadData, y: ArrayLike<number>, rows: Int32Array, share: number, seed: number, precision: Precision): MlpSetup {
  const p = problem(data, y, rows);
  const random = mulberry32(seed);
  const isVal = validationSplit(p.target, share, random);
  const trainRows: number[] = [];
  const valRows: number[] = [];
  const yTrain: number[] = [];
  const yVal: number[] = [];
  rows.forEach((r, k) => {
    if (isVal[k]) {
      valRows.push(r);
      yVal.push(p.target[k]);
    } else {
      trainRows.push(r);
      yTrain.push(p.target[k]);
    }
  });
  if (trainRows.length === 0) throw new Error('MLP head: too few images to hold out a validation part');
  const st = standardizer(data, trainRows);
  return {
    p,
    st,
    xTrain: gatherStandardized(data, st, trainRows, precision),
    yTrain: Int32Array.from(yTrain),
    xVal: gatherStandardized(data, st, valRows, precision),
    yVal: Int32Array.from(yVal),
    random,
  };
}

/** Train on a prepared split; `random` continues the setup's generator (init, then shuffles). */
async function trainMlp(data: HeadData, s: MlpSetup, opts: MlpOptions): Promise<MlpFit> {
  const hidden = opts.hidden ?? 256;
  const wd = opts.weightDecay ?? 1e-4;
  const lr = opts.learningRate ?? 1e-3;
  const bs = opts.batchSize ?? 128;
  const maxEpochs = opts.maxEpochs ?? 200;
  const patience = opts.patience ?? 10;
  const precision = opts.precision ?? 'float32';
  const Arr = precision === 'float32' ? Float32Array : Float64Array;
  const { engine } = data;
  const d = data.d;
  const c = s.p.classes.length;
  const random = s.random;
  const net: Net = {
    w1: new Arr(hidden * d).map(() => normalDraw(random) * Math.sqrt(2 / d)),
    b1: new Arr(hidden),
    w2: new Arr(c * hidden).map(() => normalDraw(random) * Math.sqrt(2 / (hidden + c))),
    b2: new Arr(c),
    h: hidden,
    c,
  };
  const opt = [new Adam(net.w1, lr, wd), new Adam(net.b1, lr, 0), new Adam(net.w2, lr, wd), new Adam(net.b2, lr, 0)];
  const nTr = s.yTrain.length;
  const nVal = s.yVal.length;
  const snapshot = () => ({ w1: net.w1.slice(), b1: net.b1.slice(), w2: net.w2.slice(), b2: net.b2.slice() });
  let best = { loss: Infinity, acc: 0, epoch: 0, ...snapshot() };
  const order = Array.from({ length: nTr }, (_, i) => i);
  // Scratch buffers of the largest batch.
  const xb = new Arr(bs * d);
  const xbT = new Arr(bs * d);
  const aT = new Arr(bs * hidden);
  const daT = new Arr(bs * hidden);
  const dz = new Arr(bs * c);
  const dzT = new Arr(bs * c);
  const w2T = new Arr(hidden * c);
  const tb = new Int32Array(bs);
  const gb1 = new Float64Array(hidden);
  const gb2 = new Float64Array(c);
  let epoch = 0;
  for (; epoch < maxEpochs && epoch - best.epoch < patience; epoch++) {
    for (let i = nTr - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (let s0 = 0; s0 < nTr; s0 += bs) {
      const nb = Math.min(bs, nTr - s0);
      for (let i = 0; i < nb; i++) {
        xb.set(s.xTrain.subarray(order[s0 + i] * d, order[s0 + i] * d + d), i * d);
        tb[i] = s.yTrain[order[s0 + i]];
      }
      const xbv = xb.subarray(0, nb * d);
      const { a, z } = await mlpForward(engine, xbv, nb, d, net, precision);
      crossEntropy(z, nb, c, tb, dz, nb);
      transposeInto(dz.subarray(0, nb * c), nb, c, dzT);
      const gw2 = await engine.abt(dzT.subarray(0, c * nb), c, transposeInto(a, nb, hidden, aT).subarray(0, hidden * nb), hidden, nb, precision); // C×H
      gb2.fill(0);
      for (let i = 0; i < nb; i++) for (let q = 0; q < c; q++) gb2[q] += dz[i * c + q];
      const da = await engine.abt(dz.subarray(0, nb * c), nb, transposeInto(net.w2, c, hidden, w2T), hidden, c, precision); // B×H
      gb1.fill(0);
      for (let i = 0; i < nb; i++) {
        for (let u = 0; u < hidden; u++) {
          if (a[i * hidden + u] <= 0) da[i * hidden + u] = 0;
          gb1[u] += da[i * hidden + u];
        }
      }
      transposeInto(da, nb, hidden, daT);
      const gw1 = await engine.abt(daT.subarray(0, hidden * nb), hidden, transposeInto(xbv, nb, d, xbT).subarray(0, d * nb), d, nb, precision); // H×D
      opt[0].step(gw1);
      opt[1].step(gb1);
      opt[2].step(gw2);
      opt[3].step(gb2);
    }
    const { z } = await mlpForward(engine, s.xVal, nVal, d, net, precision);
    const vl = crossEntropy(z, nVal, c, s.yVal) / nVal;
    if (vl < best.loss) best = { loss: vl, acc: accuracy(argmaxRows(z, nVal, c), s.yVal), epoch: epoch + 1, ...snapshot() };
  }
  const mean = new Float64Array(d);
  for (let j = 0; j < d; j++) mean[j] = data.mean[j] + s.st.mu[j];
  return {
    classes: s.p.classes,
    w1: { rows: hidden, cols: d, data: best.w1 },
    b1: best.b1,
    w2: { rows: c, cols: hidden, data: best.w2 },
    b2: best.b2,
    mean,
    scale: Float64Array.from(s.st.scale),
    weightDecay: wd,
    epochs: epoch,
    bestEpoch: best.epoch,
    validationLoss: best.loss,
    validationAccuracy: best.acc,
  };
}

function checkMlpOptions(opts: MlpOptions): void {
  const wd = opts.weightDecay ?? 1e-4;
  const share = opts.validation ?? 0.1;
  if (!(wd >= 0)) throw new Error(`MLP head: weight decay must be ≥ 0, got ${wd}`);
  if (!(share > 0 && share < 1)) throw new Error(`MLP head: validation share must be in (0, 1), got ${share}`);
}

/**
 * Train the MLP head with AdamW on mini-batches (seeded init: He-normal W1, Glorot-normal W2, zero biases; seeded
 * shuffles), holding out a stratified `validation` share of the training rows and keeping the weights of the epoch
 * with the lowest validation loss.
 */
export async function fitMlp(data: HeadData, y: ArrayLike<number>, opts: MlpOptions = {}): Promise<MlpFit> {
  checkMlpOptions(opts);
  const rows = Int32Array.from(opts.rows ?? Array.from({ length: data.n }, (_, i) => i));
  const setup = mlpSetup(data, y, rows, opts.validation ?? 0.1, opts.seed ?? 0, opts.precision ?? 'float32');
  return trainMlp(data, setup, opts);
}

/** Class codes predicted by the MLP head for raw feature rows. */
export async function predictMlp(fit: MlpFit, x: Matrix, engine?: GemmEngine, precision: Precision = 'float32'): Promise<Int32Array> {
  const { rows: n, cols: d } = x;
  if (d !== fit.w1.cols) throw new Error(`MLP head: ${d} features given, the fit has ${fit.w1.cols}`);
  const net: Net = { w1: fit.w1.data, b1: fit.b1, w2: fit.w2.data, b2: fit.b2, h: fit.w1.rows, c: fit.w2.rows };
  const { z } = await mlpForward(engine ?? (await getGemmEngine()), mlpInputs(fit, x, precision), n, d, net, precision);
  return Int32Array.from(argmaxRows(z, n, net.c), (k) => fit.classes[k]);
}

export interface MlpCvOptions extends Omit<MlpOptions, 'weightDecay' | 'rows'> {
  weightDecays?: readonly number[];
  /**
   * k ≥ 2: choose the weight decay by stratified k-fold cross-validation, then train on all `rows`. 0: choose it on
   * the early-stopping validation part itself — every grid value trained once on the same split, the one with the
   * best validation accuracy kept (|grid| trainings instead of k·|grid| + 1).
   */
  folds?: number;
  rows?: ArrayLike<number>;
}

/**
 * AdamW's decay shrinks the weights by lr·wd per step: with lr = 2e-3 and ~1,000 steps, 1e-3 is nearly none (0.2 %)
 * and 1e-1 a real pull towards zero (~18 %); 1e-4 vs 1e-2 (the first grid tried) gave the same networks.
 */
export const DEFAULT_WEIGHT_DECAYS: readonly number[] = [1e-3, 1e-1];

/** Choose the weight decay (k-fold CV or the validation part, see `folds`), ties to the larger decay. */
export async function crossValidatedMlp(data: HeadData, y: ArrayLike<number>, opts: MlpCvOptions = {}): Promise<{ fit: MlpFit; cv: CrossValidation }> {
  const grid = [...(opts.weightDecays ?? DEFAULT_WEIGHT_DECAYS)];
  if (grid.length === 0) throw new Error('MLP head: empty weight-decay grid');
  for (const wd of grid) checkMlpOptions({ ...opts, weightDecay: wd });
  const k = opts.folds ?? 3;
  const rows = Int32Array.from(opts.rows ?? Array.from({ length: data.n }, (_, i) => i));
  const precision = opts.precision ?? 'float32';
  if (grid.length === 1) return { fit: await fitMlp(data, y, { ...opts, weightDecay: grid[0], rows }), cv: { grid, accuracy: [], best: grid[0], folds: 0 } };
  if (k === 0) {
    const fits: MlpFit[] = [];
    for (const wd of grid)
      fits.push(await trainMlp(data, mlpSetup(data, y, rows, opts.validation ?? 0.1, opts.seed ?? 0, precision), { ...opts, weightDecay: wd }));
    const acc = fits.map((f) => f.validationAccuracy);
    const best = choose(grid, acc);
    return { fit: fits[grid.indexOf(best)], cv: { grid, accuracy: acc, best, folds: 0 } };
  }
  const fold = stratifiedFolds(
    Int32Array.from(rows, (r) => y[r]),
    k,
    opts.seed ?? 0,
  );
  const hits = new Float64Array(grid.length);
  for (let f = 0; f < k; f++) {
    const train = rows.filter((_, i) => fold[i] !== f);
    const test = rows.filter((_, i) => fold[i] === f);
    const xTest = { rows: test.length, cols: data.d, data: new Float64Array(test.length * data.d) };
    test.forEach((r, i) => {
      for (let j = 0; j < data.d; j++) xTest.data[i * data.d + j] = data.xc[r * data.d + j] + data.mean[j];
    });
    for (let g = 0; g < grid.length; g++) {
      const fit = await fitMlp(data, y, { ...opts, weightDecay: grid[g], rows: train });
      const pred = await predictMlp(fit, xTest, data.engine, precision);
      for (let i = 0; i < test.length; i++) if (pred[i] === y[test[i]]) hits[g]++;
    }
  }
  const acc = Array.from(hits, (h) => h / rows.length);
  const best = choose(grid, acc);
  const fit = await fitMlp(data, y, { ...opts, weightDecay: best, rows });
  return { fit, cv: { grid, accuracy: acc, best, folds: k } };
}
