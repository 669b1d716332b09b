/**
 * Transfer readouts for the zoo-transfer benchmark: closed-form ridge regression from a source's frozen features
 * to a target task's outputs, cross-fitted over seeded folds so every image gets a held-out loss.
 *
 * Everything is written in the dual (kernel) form because the probe set has far fewer images (n ≈ 100) than
 * features (p up to ~20 000): with K = X Xᵀ, the ridge solution w = (XᵀX + λI)⁻¹ Xᵀ y equals Xᵀ (K + λI)⁻¹ y,
 * so one n × n Gram per source serves every fold, every λ and every target. Per fold the centred train block
 * K_tr = U diag(s) Uᵀ is decomposed once; then for any λ
 *   fitted  Ŷ_tr = U diag(s/(s+λ)) Uᵀ Y,    hat diagonal H_ii = Σ_k U_ik² s_k/(s_k+λ),
 *   held-out Ŷ_te = K_te U diag(1/(s+λ)) Uᵀ Y,
 * and the leave-one-out residual is (y_i − ŷ_i)/(1 − H_ii) (the PRESS identity), which picks λ from a grid
 * without refitting.
 *
 * Intercept: features are centred on the training fold's mean (derived from the uncentred Gram, so nothing is
 * recomputed per fold) and targets are standardised on the training fold, so the intercept is zero in that
 * space; the hat matrix of ridge with an unpenalised intercept is 11ᵀ/t + K_c(K_c + λI)⁻¹, so the PRESS residuals
 * are exact leave-one-out residuals of the intercept model (the left-out image also leaves the mean).
 *
 * Loss normalisation (the space every per-image loss lives in): each output dimension is z-scored with the
 * training fold's mean and standard deviation; dimensions that are constant on the training fold (std ≤ 1e-9 ×
 * the largest std of the task, e.g. a dead class or a saturated flag) are dropped, because no readout can learn
 * them and their z-score would be undefined; z-scores are clipped to ±5 (Z_CLIP). Each output tensor of a task weighs the same: a dimension of a tensor
 * with q_o kept dimensions gets weight 1/(O · q_o) for a task with O output tensors, so a per-image loss is a
 * weighted mean squared error — 1.0 is the loss of always predicting the training mean.
 */
import type { Matrix } from '../linalg/dense.js';
import { symmetricEigen } from '../linalg/eigen.js';
import { centredBlocks, foldAssignment } from '../linalg/crossfit.js';
import type { LossRecord } from '../taskonomy/winrates.js';

/** λ = ratio · tr(K_tr)/n_tr: relative to the mean squared norm of the centred features, so one grid fits every source. */
// The grid reaches n·100 × the mean eigenvalue so that even the top principal directions can be shrunk away and a
// useless source falls back to (nearly) predicting the training mean instead of overfitting.
export const DEFAULT_LAMBDA_RATIOS: readonly number[] = [1e-3, 1e-2, 1e-1, 1, 10, 100, 1e3, 1e4];

// Fold assignment and the fold's centred Gram blocks live in linalg/crossfit.ts (shared with the linear-predictivity measure).
export { centredBlocks, foldAssignment } from '../linalg/crossfit.js';

/** A decomposed centred training Gram: fit any number of targets and λ values against it. */
export class DualRidge {
  readonly t: number;
  readonly values: Float64Array;
  /** Column j = eigenvector j (t × t, row-major). */
  readonly vectors: Float64Array;
  /** tr(K_tr)/t: the scale λ ratios refer to. */
  readonly scale: number;

  constructor(kTrain: Matrix) {
    const e = symmetricEigen(kTrain);
    this.t = kTrain.rows;
    // Round-off can leave tiny negative eigenvalues on a PSD Gram; they would make s + λ cross zero.
    this.values = e.values.map((v) => Math.max(0, v));
    this.vectors = e.vectors.data;
    let tr = 0;
    for (let i = 0; i < this.t; i++) tr += kTrain.data[i * this.t + i];
    this.scale = Math.max(tr / this.t, 1e-300);
  }

  /** Z = Uᵀ Y for a t × q target block (rows in training order). */
  project(y: Matrix): Float64Array {
    const { t, vectors: u } = this;
    if (y.rows !== t) throw new Error(`DualRidge: target has ${y.rows} rows, the Gram ${t}`);
    const q = y.cols;
    const z = new Float64Array(t * q);
    for (let i = 0; i < t; i++) {
      const yi = i * q;
      for (let k = 0; k < t; k++) {
        const uik = u[i * t + k];
        if (uik === 0) continue;
        const zk = k * q;
        for (let d = 0; d < q; d++) z[zk + d] += uik * y.data[yi + d];
      }
    }
    return z;
  }

  /**
   * Leave-one-out sum of squared errors (summed over images and dimensions) of ridge with an intercept, for a
   * Gram centred on these rows and targets centred on them, for each λ, via PRESS:
   * residuals R = U diag(λ/(s+λ)) Z, so Σ_d R_id² = (A M Aᵀ)_ii with A = U diag(λ/(s+λ)) and M = Z Zᵀ — t³ per λ
   * instead of t²·q.
   */
  looErrors(z: Float64Array, q: number, lambdas: number[]): number[] {
    const { t, values: s, vectors: u } = this;
    const m = new Float64Array(t * t);
    for (let a = 0; a < t; a++) {
      for (let b = a; b < t; b++) {
        let acc = 0;
        for (let d = 0; d < q; d++) acc += z[a * q + d] * z[b * q + d];
        m[a * t + b] = acc;
        m[b * t + a] = acc;
      }
    }
    return lambdas.map((lambda) => {
      const shrink = Float64Array.from(s, (v) => lambda / (v + lambda));
      const keep = Float64Array.from(s, (v) => v / (v + lambda));
      let total = 0;
      const ai = new Float64Array(t);
      for (let i = 0; i < t; i++) {
        // The unpenalised intercept adds 11ᵀ/t to the hat matrix (the centred Gram's null direction is fitted
        // exactly); without it an interpolating λ would look perfect in LOO.
        let h = 1 / t;
        for (let k = 0; k < t; k++) {
          const uik = u[i * t + k];
          ai[k] = uik * shrink[k];
          h += uik * uik * keep[k];
        }
        let r2 = 0;
        for (let k = 0; k < t; k++) {
          if (ai[k] === 0) continue;
          let row = 0;
          for (let l = 0; l < t; l++) row += m[k * t + l] * ai[l];
          r2 += ai[k] * row;
        }
        const denom = Math.max(1 - h, 1e-12);
        total += r2 / (denom * denom);
      }
      return total;
    });
  }

  /** Dual coefficients α = U diag(1/(s+λ)) Z (t × q): predictions are K_new,train · α. */
  coefficients(z: Float64Array, q: number, lambda: number): Float64Array {
    const { t, values: s, vectors: u } = this;
    const alpha = new Float64Array(t * q);
    for (let k = 0; k < t; k++) {
      const f = 1 / (s[k] + lambda);
      if (!Number.isFinite(f)) throw new Error('DualRidge: λ = 0 with a singular Gram; use a positive λ');
      for (let i = 0; i < t; i++) {
        const w = u[i * t + k] * f;
        if (w === 0) continue;
        for (let d = 0; d < q; d++) alpha[i * q + d] += w * z[k * q + d];
      }
    }
    return alpha;
  }
}

/** k × q predictions K_new (k × t) · α (t × q). */
export function predictDual(kNew: Matrix, alpha: Float64Array, q: number): Float64Array {
  const { rows, cols: t } = kNew;
  const out = new Float64Array(rows * q);
  for (let a = 0; a < rows; a++) {
    for (let i = 0; i < t; i++) {
      const kv = kNew.data[a * t + i];
      if (kv === 0) continue;
      for (let d = 0; d < q; d++) out[a * q + d] += kv * alpha[i * q + d];
    }
  }
  return out;
}

/** Ridge weights in the dual form, w = Xᵀ (X Xᵀ + λI)⁻¹ Y, for an already centred X (n × p) and Y (n × q). */
export function ridgeWeightsDual(x: Matrix, y: Matrix, lambda: number): Matrix {
  const n = x.rows;
  const k = { rows: n, cols: n, data: new Float64Array(n * n) };
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let c = 0; c < x.cols; c++) s += x.data[i * x.cols + c] * x.data[j * x.cols + c];
      k.data[i * n + j] = s;
      k.data[j * n + i] = s;
    }
  const r = new DualRidge(k);
  const alpha = r.coefficients(r.project(y), y.cols, lambda);
  const w = new Float64Array(x.cols * y.cols);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < x.cols; c++) {
      const xv = x.data[i * x.cols + c];
      for (let d = 0; d < y.cols; d++) w[c * y.cols + d] += xv * alpha[i * y.cols + d];
    }
  return { rows: x.cols, cols: y.cols, data: w };
}

/** One target task: its outputs on all n images, split into output tensors that weigh equally. */
export interface TaskOutputs {
  name: string;
  /** n × q, the output tensors' values side by side. */
  y: Matrix;
  /** Number of columns of each output tensor, in order (sums to q); default: one tensor. */
  blocks?: number[];
}

export interface Standardizer {
  /** Indices of the kept (non-constant on the training rows) columns. */
  keep: Uint32Array;
  mean: Float64Array;
  std: Float64Array;
  /** √weight of each kept column, so a sum of squares is the weighted mean. */
  weight: Float64Array;
}

/** Relative std below which a column counts as constant on the training rows. */
export const CONSTANT_STD = 1e-9;
/**
 * z-scores are clipped to ±Z_CLIP: saturating outputs (a softmax that is 0.999 on all but one image) have a tiny
 * training std, and one held-out image would otherwise carry a loss in the hundreds and decide the mean alone.
 */
export const Z_CLIP = 5;

/**
 * The loss normalisation of a task on one training split (see the module comment): z-score every column with the
 * training rows' statistics, drop constant columns, and weight so every output tensor counts equally and the
 * per-image loss is a weighted mean squared error. Throws when every column is constant.
 */
export function fitStandardizer(task: TaskOutputs, train: ArrayLike<number>): Standardizer {
  const { y } = task;
  const q = y.cols;
  const blocks = task.blocks ?? [q];
  if (blocks.reduce((a, b) => a + b, 0) !== q) throw new Error(`task ${task.name}: output blocks [${blocks.join(', ')}] do not add up to ${q} columns`);
  const mean = new Float64Array(q);
  const std = new Float64Array(q);
  const t = train.length;
  for (let k = 0; k < t; k++) for (let d = 0; d < q; d++) mean[d] += y.data[train[k] * q + d];
  for (let d = 0; d < q; d++) mean[d] /= t;
  for (let k = 0; k < t; k++)
    for (let d = 0; d < q; d++) {
      const v = y.data[train[k] * q + d] - mean[d];
      std[d] += v * v;
    }
  let maxStd = 0;
  for (let d = 0; d < q; d++) {
    std[d] = Math.sqrt(std[d] / t);
    if (std[d] > maxStd) maxStd = std[d];
  }
  const threshold = maxStd * CONSTANT_STD;
  const live = (d: number) => std[d] > threshold && std[d] > 0;
  const keep: number[] = [];
  const weights: number[] = [];
  let start = 0;
  const liveBlocks = blocks
    .map((b, i) => {
      const cols = Array.from({ length: b }, (_, j) => start + j).filter(live);
      start += b;
      return { i, cols };
    })
    .filter((b) => b.cols.length > 0);
  if (liveBlocks.length === 0) throw new Error(`task ${task.name}: every output is constant on the training images; it cannot be a target`);
  for (const b of liveBlocks) {
    for (const d of b.cols) {
      keep.push(d);
      weights.push(1 / (liveBlocks.length * b.cols.length));
    }
  }
  return {
    keep: Uint32Array.from(keep),
    mean: Float64Array.from(keep, (d) => mean[d]),
    std: Float64Array.from(keep, (d) => std[d]),
    weight: Float64Array.from(weights, Math.sqrt),
  };
}

/** The rows of a task in normalised space (rows × kept columns). */
export function standardize(task: TaskOutputs, st: Standardizer, rows: ArrayLike<number>): Matrix {
  const q = task.y.cols;
  const m = st.keep.length;
  const out = new Float64Array(rows.length * m);
  for (let a = 0; a < rows.length; a++)
    for (let j = 0; j < m; j++) {
      const z = (task.y.data[rows[a] * q + st.keep[j]] - st.mean[j]) / st.std[j];
      out[a * m + j] = Math.max(-Z_CLIP, Math.min(Z_CLIP, z)) * st.weight[j];
    }
  return { rows: rows.length, cols: m, data: out };
}

/** Per-row loss: sum of squared differences in normalised space (= the weighted MSE, since the weights are folded in). */
export function rowLosses(pred: Float64Array, truth: Matrix): Float64Array {
  const { rows, cols } = truth;
  const out = new Float64Array(rows);
  for (let a = 0; a < rows; a++) {
    let s = 0;
    for (let d = 0; d < cols; d++) {
      const e = pred[a * cols + d] - truth.data[a * cols + d];
      s += e * e;
    }
    out[a] = s;
  }
  return out;
}

/** A candidate source: its uncentred Gram over all n images. */
export interface SourceGram {
  name: string;
  gram: Matrix;
}

export interface TransferOptions {
  folds?: number;
  seed?: number;
  lambdaRatios?: readonly number[];
  /** Image ids for the loss records (default "0", "1", …). */
  images?: string[];
  /**
   * For each target, the source that is its own network (renamed `self` in the records, the Taskonomy
   * pseudo-source for the fully supervised network). Default: the source with the target's name.
   */
  selfOf?: Record<string, string>;
  onProgress?: (done: number, total: number, label: string) => void;
}

export interface TransferMeasurement {
  /** One per (target, candidate, image): held-out loss of the readout trained on the other folds. */
  records: LossRecord[];
  /** Fold of each image. */
  fold: Int32Array;
  /** λ ratio chosen by LOO, per target → source → fold. */
  lambdaRatio: Record<string, Record<string, number[]>>;
  /** Mean held-out loss per target → source (1 = predicting the training mean). */
  meanLoss: Record<string, Record<string, number>>;
  ms: number;
}

/**
 * Measure every source → target readout with k-fold cross-fitting. Sources are Grams (one per source, reused for
 * every fold and target); each (source, target, fold) picks λ by leave-one-out on its training folds.
 */
export function measureTransfers(sources: SourceGram[], targets: TaskOutputs[], opts: TransferOptions = {}): TransferMeasurement {
  const t0 = performance.now();
  if (sources.length === 0 || targets.length === 0) throw new Error('measureTransfers: no sources or no targets');
  const n = sources[0].gram.rows;
  for (const s of sources)
    if (s.gram.rows !== n || s.gram.cols !== n) throw new Error(`source ${s.name}: Gram is ${s.gram.rows}×${s.gram.cols}, expected ${n}×${n}`);
  for (const t of targets) if (t.y.rows !== n) throw new Error(`target ${t.name}: ${t.y.rows} rows, expected ${n} images`);
  const k = opts.folds ?? 5;
  const fold = foldAssignment(n, k, opts.seed ?? 1);
  const ratios = [...(opts.lambdaRatios ?? DEFAULT_LAMBDA_RATIOS)];
  const images = opts.images ?? Array.from({ length: n }, (_, i) => String(i));
  if (images.length !== n) throw new Error(`measureTransfers: ${images.length} image ids for ${n} images`);
  const names = new Set(sources.map((s) => s.name));
  const candidateName = (source: string, target: string) => ((opts.selfOf?.[target] ?? target) === source ? 'self' : source);
  for (const t of targets) {
    const self = opts.selfOf?.[t.name] ?? t.name;
    if (!names.has(self)) throw new Error(`target ${t.name}: its own network "${self}" is not among the sources (needed as \`self\`)`);
  }
  const loss = targets.map(() => sources.map(() => new Float64Array(n)));
  const lambdaRatio: TransferMeasurement['lambdaRatio'] = {};
  for (const t of targets) lambdaRatio[t.name] = Object.fromEntries(sources.map((s) => [candidateName(s.name, t.name), new Array<number>(k)]));
  const total = k * sources.length;
  for (let f = 0; f < k; f++) {
    const train: number[] = [];
    const test: number[] = [];
    for (let i = 0; i < n; i++) (fold[i] === f ? test : train).push(i);
    const ys = targets.map((task) => {
      const st = fitStandardizer(task, train);
      return { train: standardize(task, st, train), test: standardize(task, st, test) };
    });
    for (let si = 0; si < sources.length; si++) {
      const src = sources[si];
      const { kTrain, kTest } = centredBlocks(src.gram, train, test);
      const ridge = new DualRidge(kTrain);
      const lambdas = ratios.map((r) => r * ridge.scale);
      targets.forEach((task, ti) => {
        const { train: yTr, test: yTe } = ys[ti];
        const q = yTr.cols;
        const z = ridge.project(yTr);
        const errs = ridge.looErrors(z, q, lambdas);
        let best = 0;
        for (let j = 1; j < errs.length; j++) if (errs[j] < errs[best]) best = j;
        const alpha = ridge.coefficients(z, q, lambdas[best]);
        const l = rowLosses(predictDual(kTest, alpha, q), yTe);
        test.forEach((img, a) => (loss[ti][si][img] = l[a]));
        lambdaRatio[task.name][candidateName(src.name, task.name)][f] = ratios[best];
      });
      opts.onProgress?.(f * sources.length + si + 1, total, `fold ${f + 1}/${k} ${src.name}`);
    }
  }
  const records: LossRecord[] = [];
  const meanLoss: TransferMeasurement['meanLoss'] = {};
  targets.forEach((task, ti) => {
    meanLoss[task.name] = {};
    sources.forEach((src, si) => {
      const source = candidateName(src.name, task.name);
      const l = loss[ti][si];
      let s = 0;
      for (let i = 0; i < n; i++) {
        records.push({ target: task.name, source, image: images[i], loss: l[i] });
        s += l[i];
      }
      meanLoss[task.name][source] = s / n;
    });
  });
  return { records, fold, lambdaRatio, meanLoss, ms: performance.now() - t0 };
}
