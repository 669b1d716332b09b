/**
 * The task bank's losses (tasks.ts TaskLoss) twice: as TF.js tensors for training (per image, then the mean over
 * the batch) and in float64 for the per-image test losses that Taskonomy's win rates are computed from
 * (ALGORITHMS.md §7.3). Both follow the same definitions, checked against a numpy reference
 * (test/reference/taskbank_losses_reference.py):
 *   l1                  mean |p − t| over the image's target values
 *   l2                  mean (p − t)²
 *   masked-l1           Σ m·|p − t| / (C·Σ m), the [H, W, 1] mask broadcast over the C channels
 *   cross-entropy,
 *   soft-cross-entropy  −Σ_k t_k log softmax(p)_k (log-sum-exp form)
 *   bce                 mean of max(p, 0) − p·t + log(1 + e^−|p|) = BCE of sigmoid(p) against t, without overflow
 *   metric              over a fixed set of METRIC_PAIRS pixel pairs (a, b) (metricPairs: the same pairs for every
 *                       image): d² = ‖e_a − e_b‖² of the predicted embeddings; a pair inside one segment costs d²,
 *                       a pair across segments max(0, METRIC_MARGIN − √(d² + METRIC_EPS))²; the mean over pairs.
 *                       Segment labels only enter through "same or not", so the loss does not depend on how the
 *                       superpixels are numbered.
 */
import * as tf from '@tensorflow/tfjs';
import type { CustomGradientFunc } from '@tensorflow/tfjs-core/dist/engine.js';
import { mulberry32 } from '../linalg/resample.js';
import type { TaskLoss } from './tasks.js';

/** Pixel pairs the metric loss compares per image. */
export const METRIC_PAIRS = 512;
/** Seed of the metric loss's pair set. */
export const METRIC_PAIR_SEED = 20240514;
/**
 * Pairs across segments are pushed to at least this distance. Embeddings are SEGMENT_EMBEDDING (8) unconstrained
 * channels; 1 is the scale of a He-initialised head's outputs, so the push is active from the start.
 */
export const METRIC_MARGIN = 1;
/** Added to d² under the square root of the push term: √ has no gradient at 0 (two equal embeddings). */
export const METRIC_EPS = 1e-6;

/**
 * The metric loss's pairs on an H×W map (positions y·W + x): for k = 0…count−1, a = ⌊u·N⌋ and
 * b = (a + 1 + ⌊u'·(N − 1)⌋) mod N with u, u' the next two mulberry32(seed) values, so a ≠ b.
 */
export function metricPairs(height: number, width: number, count = METRIC_PAIRS, seed = METRIC_PAIR_SEED): { a: Int32Array; b: Int32Array } {
  const n = height * width;
  if (!Number.isInteger(n) || n < 2) throw new Error(`metric loss: a ${height}×${width} map has no pixel pairs`);
  const random = mulberry32(seed);
  const a = new Int32Array(count);
  const b = new Int32Array(count);
  for (let k = 0; k < count; k++) {
    a[k] = Math.floor(random() * n);
    b[k] = (a[k] + 1 + Math.floor(random() * (n - 1))) % n;
  }
  return { a, b };
}

/**
 * Per-image metric losses of embeddings e (B × N × E, row-major) against labels (B × N), and, with `grad`, their
 * gradient: for a pair inside one segment ∂/∂e_a = 2(e_a − e_b); across segments, while √(d² + ε) < margin,
 * ∂/∂e_a = −2(margin − √(d² + ε))·(e_a − e_b)/√(d² + ε); ∂/∂e_b is the negative; each divided by the pair count.
 */
function metricLossesAndGradient(
  e: ArrayLike<number>,
  labels: ArrayLike<number>,
  b: number,
  n: number,
  ed: number,
  pa: Int32Array,
  pb: Int32Array,
  grad?: { weights: ArrayLike<number>; out: Float32Array },
): Float64Array {
  const out = new Float64Array(b);
  const pc = pa.length;
  const diff = new Float64Array(ed);
  for (let i = 0; i < b; i++) {
    let s = 0;
    const w = grad ? grad.weights[i] / pc : 0;
    for (let k = 0; k < pc; k++) {
      const oa = (i * n + pa[k]) * ed;
      const ob = (i * n + pb[k]) * ed;
      let d2 = 0;
      for (let c = 0; c < ed; c++) {
        diff[c] = e[oa + c] - e[ob + c];
        d2 += diff[c] * diff[c];
      }
      let factor: number;
      if (labels[i * n + pa[k]] === labels[i * n + pb[k]]) {
        s += d2;
        factor = 2;
      } else {
        const d = Math.sqrt(d2 + METRIC_EPS);
        const gap = METRIC_MARGIN - d;
        if (gap <= 0) continue;
        s += gap * gap;
        factor = (-2 * gap) / d;
      }
      if (grad)
        for (let c = 0; c < ed; c++) {
          const g = w * factor * diff[c];
          grad.out[oa + c] += g;
          grad.out[ob + c] -= g;
        }
    }
    out[i] = s / pc;
  }
  return out;
}

const pairCache = new Map<string, { a: Int32Array; b: Int32Array }>();

function cachedPairs(h: number, w: number): { a: Int32Array; b: Int32Array } {
  const key = `${h}x${w}`;
  let p = pairCache.get(key);
  if (!p) pairCache.set(key, (p = metricPairs(h, w)));
  return p;
}

/**
 * The metric loss per image as a tensor [B], computed on the CPU in float64 with its gradient written out
 * (metricLossesAndGradient): B·N·E values cross once each way, where the tensor form needed gathers whose gradient
 * the WASM backend lacks (UnsortedSegmentSum) and was slower besides.
 */
function metricLossTensor(pred: tf.Tensor, target: tf.Tensor): tf.Tensor1D {
  const [b, h, w, ed] = pred.shape as number[];
  const { a, b: pb } = cachedPairs(h, w);
  const labels = target.dataSync();
  const op = tf.customGrad(((x: tf.Tensor) => {
    const values = x.dataSync();
    return {
      value: tf.tensor1d(Float32Array.from(metricLossesAndGradient(values, labels, b, h * w, ed, a, pb))),
      gradFunc: (dy: tf.Tensor) => {
        const out = new Float32Array(values.length);
        metricLossesAndGradient(values, labels, b, h * w, ed, a, pb, { weights: dy.dataSync(), out });
        return tf.tensor(out, x.shape);
      },
    };
  }) as unknown as CustomGradientFunc<tf.Tensor1D>) as (x: tf.Tensor) => tf.Tensor1D;
  return op(pred);
}

function checkShapes(loss: TaskLoss, pred: tf.Tensor, target: tf.Tensor, mask?: tf.Tensor): void {
  const b = pred.shape[0];
  if (target.shape[0] !== b) throw new Error(`${loss} loss: ${b} predictions but ${target.shape[0]} targets`);
  if (loss === 'metric') {
    if (pred.rank !== 4 || target.rank !== 4 || target.shape[3] !== 1 || pred.shape[1] !== target.shape[1] || pred.shape[2] !== target.shape[2])
      throw new Error(`metric loss: embeddings [B, H, W, E] and labels [B, H, W, 1] needed, got [${pred.shape.join(', ')}] and [${target.shape.join(', ')}]`);
    return;
  }
  if (pred.shape.join() !== target.shape.join())
    throw new Error(`${loss} loss: prediction [${pred.shape.join(', ')}] and target [${target.shape.join(', ')}] differ in shape`);
  if (loss === 'masked-l1') {
    if (!mask) throw new Error('masked-l1 loss: no mask given');
    if (mask.rank !== 4 || mask.shape[3] !== 1 || mask.shape.slice(0, 3).join() !== target.shape.slice(0, 3).join())
      throw new Error(`masked-l1 loss: the mask must be [B, H, W, 1] for targets [${target.shape.join(', ')}], got [${mask.shape.join(', ')}]`);
  }
}

/** Per-image losses [B] of predictions against targets (batch first; see the module comment for the definitions). */
export function perImageLossTensor(loss: TaskLoss, pred: tf.Tensor, target: tf.Tensor, mask?: tf.Tensor): tf.Tensor1D {
  checkShapes(loss, pred, target, mask);
  return tf.tidy(() => {
    const axes = pred.shape.map((_, i) => i).slice(1);
    switch (loss) {
      case 'l1':
        return tf.mean(tf.abs(tf.sub(pred, target)), axes) as tf.Tensor1D;
      case 'l2':
        return tf.mean(tf.squaredDifference(pred, target), axes) as tf.Tensor1D;
      case 'masked-l1': {
        const m = mask!;
        const c = pred.shape[3]!;
        const num = tf.sum(tf.mul(tf.abs(tf.sub(pred, target)), m), axes);
        return tf.div(num, tf.maximum(tf.mul(tf.sum(m, axes), c), 1e-12)) as tf.Tensor1D;
      }
      case 'cross-entropy':
      case 'soft-cross-entropy':
        return tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(pred)), -1)) as tf.Tensor1D;
      case 'bce':
        return tf.mean(tf.add(tf.sub(tf.relu(pred), tf.mul(pred, target)), tf.log1p(tf.exp(tf.neg(tf.abs(pred))))), axes) as tf.Tensor1D;
      case 'metric':
        return metricLossTensor(pred, target);
    }
  });
}

/** The training objective: the batch mean of the per-image losses. */
export function trainingLoss(loss: TaskLoss, pred: tf.Tensor, target: tf.Tensor, mask?: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(perImageLossTensor(loss, pred, target, mask)) as tf.Scalar);
}

/**
 * Float64 per-image losses of n predictions against n targets of `targetShape` (channels last; the metric loss's
 * predictions have E channels per pixel where its targets have one label). `mask` (n × H × W) is read by
 * masked-l1 only. Errors name the image whose loss is undefined (an empty mask, a non-finite prediction).
 */
export function perImageLosses(
  loss: TaskLoss,
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  mask: ArrayLike<number> | undefined,
  n: number,
  targetShape: readonly number[],
): Float64Array {
  const per = targetShape.reduce((a, b) => a * b, 1);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${loss} loss: need at least one image, got ${n}`);
  if (target.length !== n * per) throw new Error(`${loss} loss: ${n} targets of [${targetShape.join(', ')}] need ${n * per} values, got ${target.length}`);
  const out = new Float64Array(n);
  if (loss === 'metric') {
    if (targetShape.length !== 3 || targetShape[2] !== 1) throw new Error(`metric loss: targets must be [H, W, 1] label maps, got [${targetShape.join(', ')}]`);
    const [h, w] = targetShape;
    const e = pred.length / (n * h * w);
    if (!Number.isInteger(e) || e < 1) throw new Error(`metric loss: ${pred.length} predictions are not n × ${h} × ${w} × E embeddings`);
    const { a, b } = cachedPairs(h, w);
    out.set(metricLossesAndGradient(pred, target, n, h * w, e, a, b));
  } else {
    if (pred.length !== n * per) throw new Error(`${loss} loss: ${n} predictions of [${targetShape.join(', ')}] need ${n * per} values, got ${pred.length}`);
    const c = targetShape[targetShape.length - 1];
    if (loss === 'masked-l1') {
      if (!mask) throw new Error('masked-l1 loss: no mask given');
      if (mask.length !== (n * per) / c) throw new Error(`masked-l1 loss: the mask needs ${(n * per) / c} values (n × H × W), got ${mask.length}`);
    }
    for (let i = 0; i < n; i++) {
      const o = i * per;
      let s = 0;
      switch (loss) {
        case 'l1':
          for (let j = 0; j < per; j++) s += Math.abs(pred[o + j] - target[o + j]);
          s /= per;
          break;
        case 'l2':
          for (let j = 0; j < per; j++) s += (pred[o + j] - target[o + j]) ** 2;
          s /= per;
          break;
        case 'masked-l1': {
          let m = 0;
          for (let j = 0; j < per; j++) {
            const mj = mask![(o + j - (j % c)) / c];
            s += mj * Math.abs(pred[o + j] - target[o + j]);
            if (j % c === 0) m += mj;
          }
          if (!(m > 0)) throw new Error(`masked-l1 loss: image ${i} has an empty mask; its loss is undefined`);
          s /= m * c;
          break;
        }
        case 'cross-entropy':
        case 'soft-cross-entropy':
          // Over each row of C classes (targetShape [K]: one row per image).
          for (let r = o; r < o + per; r += c) {
            let mx = -Infinity;
            for (let k = 0; k < c; k++) mx = Math.max(mx, pred[r + k]);
            let z = 0;
            for (let k = 0; k < c; k++) z += Math.exp(pred[r + k] - mx);
            const lse = mx + Math.log(z);
            for (let k = 0; k < c; k++) if (target[r + k] !== 0) s -= target[r + k] * (pred[r + k] - lse);
          }
          break;
        case 'bce':
          for (let j = 0; j < per; j++) {
            const p = pred[o + j];
            s += Math.max(p, 0) - p * target[o + j] + Math.log1p(Math.exp(-Math.abs(p)));
          }
          s /= per;
          break;
        default:
          throw new Error(`unknown loss "${String(loss)}"`);
      }
      out[i] = s;
    }
  }
  for (let i = 0; i < n; i++)
    if (!Number.isFinite(out[i])) throw new Error(`${loss} loss: image ${i} has a non-finite loss (non-finite predictions or targets)`);
  return out;
}
