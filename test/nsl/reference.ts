/**
 * Independent float64 references for the NSL tests: direct loops over the formulas of docs/nsl.md#layers (no
 * TF.js, no im2col, no folding of M into kernels), and a central finite-difference gradient check.
 */
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../../src/linalg/resample.js';

export interface T4 {
  shape: [number, number, number, number];
  data: Float64Array;
}

export function t4(shape: [number, number, number, number], data?: ArrayLike<number>): T4 {
  return { shape, data: data ? Float64Array.from(data) : new Float64Array(shape.reduce((a, b) => a * b, 1)) };
}

export function fromTensor(t: tf.Tensor): T4 {
  if (t.rank !== 4) throw new Error(`rank ${t.rank}`);
  return t4(t.shape as [number, number, number, number], t.dataSync());
}

const idx = (t: T4, a: number, b: number, c: number, d: number) => ((a * t.shape[1] + b) * t.shape[2] + c) * t.shape[3] + d;
export const get = (t: T4, a: number, b: number, c: number, d: number) => t.data[idx(t, a, b, c, d)];

/** x_c(p + δ), zero outside the map. */
function shifted(x: T4, b: number, i: number, j: number, c: number): number {
  if (i < 0 || j < 0 || i >= x.shape[1] || j >= x.shape[2]) return 0;
  return get(x, b, i, j, c);
}

/** Stride-1 cross-correlation, SAME (odd k) or VALID, filter [k, k, C_in, C_out]. */
export function conv(x: T4, w: T4, padding: 'same' | 'valid' = 'same'): T4 {
  const [B, H, W, C] = x.shape;
  const [k, , , O] = w.shape;
  const p = padding === 'same' ? (k - 1) / 2 : 0;
  const Ho = padding === 'same' ? H : H - k + 1;
  const Wo = padding === 'same' ? W : W - k + 1;
  const y = t4([B, Ho, Wo, O]);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < Ho; i++)
      for (let j = 0; j < Wo; j++)
        for (let o = 0; o < O; o++) {
          let s = 0;
          for (let a = 0; a < k; a++) for (let e = 0; e < k; e++) for (let c = 0; c < C; c++) s += get(w, a, e, c, o) * shifted(x, b, i + a - p, j + e - p, c);
          y.data[idx(y, b, i, j, o)] = s;
        }
  return y;
}

/** ν(x)(p) = √(Σ_c Σ_window x² + 1e-4), [B, H, W, 1]. */
export function patchNorm(x: T4): T4 {
  const [B, H, W, C] = x.shape;
  const y = t4([B, H, W, 1]);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++) {
        let s = 0;
        for (let a = -1; a <= 1; a++) for (let e = -1; e <= 1; e++) for (let c = 0; c < C; c++) s += shifted(x, b, i + a, j + e, c) ** 2;
        y.data[idx(y, b, i, j, 0)] = Math.sqrt(s + 1e-4);
      }
  return y;
}

export function map(x: T4, f: (v: number, b: number, i: number, j: number, c: number) => number): T4 {
  const [B, H, W, C] = x.shape;
  const y = t4(x.shape);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) for (let c = 0; c < C; c++) y.data[idx(y, b, i, j, c)] = f(get(x, b, i, j, c), b, i, j, c);
  return y;
}

/** Training-mode batch norm: statistics over (B, H, W), population variance. */
export function batchNormTrain(x: T4, gamma: ArrayLike<number>, beta: ArrayLike<number>, eps = 1e-3): T4 {
  const [B, H, W, C] = x.shape;
  const n = B * H * W;
  const mean = new Float64Array(C);
  const v = new Float64Array(C);
  for (let i = 0; i < x.data.length; i++) mean[i % C] += x.data[i] / n;
  for (let i = 0; i < x.data.length; i++) v[i % C] += (x.data[i] - mean[i % C]) ** 2 / n;
  return map(x, (val, _b, _i, _j, c) => ((val - mean[c]) / Math.sqrt(v[c] + eps)) * gamma[c] + beta[c]);
}

/** Kernel slice w_{ci,co} ∈ ℝ⁹ (k = 3·kh + kw). */
function slice9(w: T4, ci: number, co: number): number[] {
  return Array.from({ length: 9 }, (_, k) => get(w, Math.floor(k / 3), k % 3, ci, co));
}

/** The 3×3 patch x_ci(p + δ_k), k = 0…8. */
function patch9(x: T4, b: number, i: number, j: number, ci: number): number[] {
  return Array.from({ length: 9 }, (_, k) => shifted(x, b, i + Math.floor(k / 3) - 1, j + (k % 3) - 1, ci));
}

/** y_co(p) = Σ_ci w_{ci,co}ᵀ M(p) x_ci(p), the bilinear form itself, with M given per position. */
function bilinear(x: T4, w: T4, mAt: (b: number, i: number, j: number) => number[][]): T4 {
  const [B, H, W, C] = x.shape;
  const O = w.shape[3];
  const y = t4([B, H, W, O]);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++) {
        const M = mAt(b, i, j);
        for (let o = 0; o < O; o++) {
          let s = 0;
          for (let c = 0; c < C; c++) {
            const wv = slice9(w, c, o);
            const xv = patch9(x, b, i, j, c);
            for (let l = 0; l < 9; l++) for (let k = 0; k < 9; k++) s += wv[l] * M[l][k] * xv[k];
          }
          y.data[idx(y, b, i, j, o)] = s;
        }
      }
  return y;
}

/** Static NSL: wᵀ M x with one M for all positions (static DNS: M = diag(m)). */
export function staticNsl(x: T4, w: T4, M: number[][]): T4 {
  return bilinear(x, w, () => M);
}

export function diag(m: ArrayLike<number>): number[][] {
  return Array.from({ length: 9 }, (_, a) => Array.from({ length: 9 }, (_, b) => (a === b ? m[a] : 0)));
}

export interface DnsWeights {
  kernel: T4;
  p1: T4;
  gamma1: number[];
  beta1: number[];
  p2: T4;
  gamma2: number[];
  beta2: number[];
}

/** Dynamic DNS in training mode: m(p) = 1 + BN(conv(ReLU(BN(conv(x)/ν(x))))), y = Σ wᵀ diag(m(p)) x. */
export function dynamicDns(x: T4, w: DnsWeights): T4 {
  const nu = patchNorm(x);
  const pre = conv(x, w.p1);
  const h = map(
    batchNormTrain(
      map(pre, (v, b, i, j) => v / get(nu, b, i, j, 0)),
      w.gamma1,
      w.beta1,
    ),
    (v) => Math.max(0, v),
  );
  const m = map(batchNormTrain(conv(h, w.p2), w.gamma2, w.beta2), (v) => 1 + v);
  return bilinear(x, w.kernel, (b, i, j) => diag(Array.from({ length: 9 }, (_, k) => get(m, b, i, j, k))));
}

export interface UnsWeights {
  /** [1, 1, C_in, 9·C_out], channel k·C_out + co. */
  f: T4;
  p1: T4;
  p2: T4;
}

/**
 * Dynamic UNS: M(p) = I + reshape(conv(ReLU(conv(x)/ν(x)))) (channel 9a + b → M[a, b]), z = f ⋆ x,
 * y_co(p) = Σ_l Σ_k M(p)[k, l]·z_{k,co}(p + δ_l).
 */
export function dynamicUns(x: T4, w: UnsWeights): T4 {
  const [B, H, W] = x.shape;
  const O = w.f.shape[3] / 9;
  const nu = patchNorm(x);
  const h = map(conv(x, w.p1), (v, b, i, j) => Math.max(0, v / get(nu, b, i, j, 0)));
  const m = conv(h, w.p2);
  const z = conv(x, w.f);
  const y = t4([B, H, W, O]);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++)
        for (let o = 0; o < O; o++) {
          let s = 0;
          for (let l = 0; l < 9; l++)
            for (let k = 0; k < 9; k++) {
              const M = (k === l ? 1 : 0) + get(m, b, i, j, 9 * k + l);
              s += M * shifted(z, b, i + Math.floor(l / 3) - 1, j + (l % 3) - 1, k * O + o);
            }
          y.data[idx(y, b, i, j, o)] = s;
        }
  return y;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Seeded standard normal values (Box–Muller on mulberry32). */
export function normals(n: number, seed: number, scale = 1): Float32Array {
  const u = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  return out;
}

/**
 * Directional finite-difference check of ∂L/∂θ for each variable: for a random direction v,
 * (L(θ + εv) − L(θ − εv)) / 2ε against ⟨∇L, v⟩. Returns the relative errors |fd − an| / max(|an|, floor).
 */
export function directionalCheck(
  loss: () => tf.Scalar,
  vars: tf.Variable[],
  opts: { eps?: number; seed?: number; floor?: number } = {},
): { name: string; analytic: number; numeric: number; rel: number }[] {
  const eps = opts.eps ?? 1e-3;
  const { grads } = tf.variableGrads(loss, vars);
  return vars.map((v, i) => {
    const dir = tf.tensor(normals(v.size, (opts.seed ?? 1) + i), v.shape);
    const analytic = tf.sum(tf.mul(grads[v.name], dir)).dataSync()[0];
    const orig = v.clone();
    v.assign(tf.add(orig, tf.mul(dir, eps)));
    const lp = tf.tidy(loss).dataSync()[0];
    v.assign(tf.sub(orig, tf.mul(dir, eps)));
    const lm = tf.tidy(loss).dataSync()[0];
    v.assign(orig);
    tf.dispose([dir, orig]);
    const numeric = (lp - lm) / (2 * eps);
    return { name: v.name, analytic, numeric, rel: Math.abs(numeric - analytic) / Math.max(Math.abs(analytic), opts.floor ?? 1) };
  });
}
