/**
 * The task bank's networks (docs/taskbank.md): one encoder architecture for every task and a task head (decoder)
 * whose builder also serves as the transfer readout on frozen features.
 *
 * Encoder: input [R, R, 3] in [0, 1] → four stages of (3×3 SAME convolution + bias, ReLU), a 2×2 average pool
 * between stages, widths ENCODER_WIDTHS → a [R/8, R/8, 64] feature map (4096 values at R = 64): the representation
 * the similarity measures compare and the transfers read. About 13.6 M multiply-adds per 64-px image. No batch norm:
 * the exported encoder is then exactly the stock Conv2D/ReLU/AveragePooling2D layers, and a four-layer net trains
 * well with Adam without it.
 *
 * Training runs on the WASM backend, which has no Conv2DBackpropFilter kernel: the convolutions go through
 * nsl/conv.ts `conv2d` (filter gradient written with forward convolutions). The weights are plain tf.Variables
 * rather than a tf.LayersModel, so a checkpoint is just their bytes in a fixed order (see ./train.ts);
 * `exportEncoder` copies them into a model of built-in Keras layers that any TF.js loader (src/models/load.ts)
 * reads without custom classes.
 *
 * Decoder, pre-activation outputs (logits for the cross-entropy and BCE losses):
 *   dense targets [H, W, C]   per feature position: 1×1 conv to DECODER_HIDDEN + ReLU, 1×1 conv to (H/h)·(W/w)·C,
 *                             then depth-to-space to [H, W, C] (reshape/transpose, so gradients exist on WASM);
 *                             the segmentation task's C is the embedding size SEGMENT_EMBEDDING (metric loss)
 *   vector targets [K]        flatten → dense DECODER_HIDDEN + ReLU → dense K.
 * Initialisation: He-normal kernels (std √(2 / fan-in)) drawn from mulberry32 with one derived seed per layer,
 * zero biases — reproducible without TF.js's own generators.
 */
import * as tf from '@tensorflow/tfjs';
import type { CustomGradientFunc } from '@tensorflow/tfjs-core/dist/engine.js';
import { mulberry32, normalDraw } from '../linalg/resample.js';
import { conv2d } from '../nsl/conv.js';
import { directoryIO } from '../nsl/io.js';
import type { TaskDefinition } from './tasks.js';

/** Channels of the encoder's four stages; the last is the feature map's depth. */
export const ENCODER_WIDTHS: readonly number[] = [16, 32, 64, 64];
/** The encoder halves the side three times. */
export const ENCODER_STRIDE = 8;
/** Hidden width of every decoder. */
export const DECODER_HIDDEN = 128;
/** Embedding channels the segmentation decoder outputs per pixel (the metric loss compares them). */
export const SEGMENT_EMBEDDING = 8;

/** [R/8, R/8, 64]: the encoder's output for crops of side R (R must be a multiple of 8). */
export function featureShape(resolution: number): [number, number, number] {
  if (!Number.isInteger(resolution) || resolution < ENCODER_STRIDE || resolution % ENCODER_STRIDE !== 0)
    throw new Error(`the task bank's encoder needs a crop side that is a positive multiple of ${ENCODER_STRIDE}, got ${resolution}`);
  const s = resolution / ENCODER_STRIDE;
  return [s, s, ENCODER_WIDTHS[ENCODER_WIDTHS.length - 1]];
}

/** The decoder's output shape for a task: its target shape, except that segmentation outputs an embedding per pixel. */
export function decoderOutputShape(task: TaskDefinition, resolution: number): number[] {
  const t = task.targetShape(resolution);
  return task.loss === 'metric' ? [...t.slice(0, -1), SEGMENT_EMBEDDING] : t;
}

/** Seed of layer k of a network seeded with `seed` (uint32). */
function layerSeed(seed: number, k: number): number {
  return (Math.imul((seed >>> 0) ^ 0x2545f491, 0x9e3779b1) + Math.imul(k + 1, 0x85ebca77)) >>> 0;
}

function heNormal(shape: number[], fanIn: number, seed: number): tf.Tensor {
  const random = mulberry32(seed);
  const std = Math.sqrt(2 / fanIn);
  const size = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(size);
  for (let i = 0; i < size; i++) v[i] = std * normalDraw(random);
  return tf.tensor(v, shape);
}

/**
 * The first layer's patches, transposed: row (3·kh + kw)·3 + c, column (b·R + y)·R + x holds channel c of image b at
 * (y + kh − 1, x + kw − 1), zero outside the image — [27, B·R·R]. Built on the CPU from the batch the trainer already
 * holds: with them the first layer's filter gradient is one [27, N]·[N, 16] product (≈ 7 ms at B = 32, R = 64 on
 * WASM) instead of the convolution trick of nsl/conv.ts, which is slowest exactly on 3-channel inputs (≈ 100 ms),
 * and the input gradient it would also compute is never needed.
 */
export function firstLayerPatches(images: Float32Array, batch: number, resolution: number): Float32Array {
  const r = resolution;
  const n = batch * r * r;
  if (images.length !== n * 3) throw new Error(`firstLayerPatches: ${batch} images of ${r}×${r}×3 need ${n * 3} values, got ${images.length}`);
  const out = new Float32Array(27 * n);
  for (let kh = 0; kh < 3; kh++)
    for (let kw = 0; kw < 3; kw++)
      for (let c = 0; c < 3; c++) {
        const row = out.subarray(((3 * kh + kw) * 3 + c) * n, ((3 * kh + kw) * 3 + c + 1) * n);
        for (let b = 0; b < batch; b++)
          for (let y = 0; y < r; y++) {
            const sy = y + kh - 1;
            if (sy < 0 || sy >= r) continue;
            const src = (b * r + sy) * r;
            const dst = (b * r + y) * r;
            for (let x = Math.max(0, 1 - kw); x < Math.min(r, r + 1 - kw); x++) row[dst + x] = images[3 * (src + x + kw - 1) + c];
          }
      }
  return out;
}

/** conv(x, w) whose filter gradient is patchesᵀ-product (see firstLayerPatches); no gradient flows to x. */
const firstConv = tf.customGrad(((x: tf.Tensor4D, w: tf.Tensor4D, patches: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([patches]);
  return {
    value: tf.conv2d(x, w, 1, 'same'),
    gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
      const [b, h, wd, cout] = dy.shape;
      const dw = tf.reshape(tf.matMul(saved[0] as tf.Tensor2D, tf.reshape(dy, [b * h * wd, cout])), w.shape);
      return [tf.zerosLike(x), dw, tf.zerosLike(saved[0])];
    },
  };
}) as unknown as CustomGradientFunc<tf.Tensor4D>) as (x: tf.Tensor4D, w: tf.Tensor4D, patches: tf.Tensor2D) => tf.Tensor4D;

/**
 * 2×2 average pooling, stride 2, whose gradient is the output gradient blown up by pixel replication (nearest
 * neighbour) × ¼ — the same values as the AvgPoolGrad kernel, which takes 4–10× longer on the WASM backend.
 */
const avgPool2 = tf.customGrad(((x: tf.Tensor4D) => ({
  value: tf.avgPool(x, 2, 2, 'valid'),
  gradFunc: (dy: tf.Tensor4D) => tf.mul(tf.image.resizeNearestNeighbor(dy, [x.shape[1], x.shape[2]]), 0.25),
})) as unknown as CustomGradientFunc<tf.Tensor4D>) as (x: tf.Tensor4D) => tf.Tensor4D;

/**
 * a·w with gradients a-side dy·wᵀ and w-side (aᵀ)·dy, the transpose made explicit: the WASM backend's batched
 * matMul with a transposed first operand is several times slower than a transpose followed by a plain product
 * (64 ms against ≈ 5 ms for the rotation head's [32, 4096]ᵀ·[32, 128] at B = 32).
 */
const dense = tf.customGrad(((a: tf.Tensor2D, w: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([a, w]);
  return {
    value: tf.matMul(a, w),
    gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
      const [sa, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(dy, tf.transpose(sw)), tf.matMul(tf.transpose(sa), dy)];
    },
  };
}) as unknown as CustomGradientFunc<tf.Tensor2D>) as (a: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

/** A named set of trainable variables in a fixed order (the order of checkpoints and exports). */
export interface WeightSet {
  readonly names: readonly string[];
  readonly variables: readonly tf.Variable[];
}

function makeVariable(init: tf.Tensor): tf.Variable {
  const v = tf.variable(init, true);
  init.dispose();
  return v;
}

/** Number of scalar weights. */
export function weightCount(w: WeightSet): number {
  return w.variables.reduce((s, v) => s + v.size, 0);
}

/** The weights' current values, in order (float32 copies). */
export function readWeights(w: WeightSet): Float32Array[] {
  return w.variables.map((v) => v.dataSync() as Float32Array).map((a) => Float32Array.from(a));
}

/** The task bank's encoder (trainable form). */
export class TaskEncoder implements WeightSet {
  readonly resolution: number;
  readonly seed: number;
  readonly names: string[] = [];
  readonly variables: tf.Variable[] = [];
  readonly outputShape: [number, number, number];

  constructor(resolution: number, seed: number) {
    this.outputShape = featureShape(resolution);
    this.resolution = resolution;
    this.seed = seed;
    let cin = 3;
    ENCODER_WIDTHS.forEach((cout, k) => {
      this.names.push(`conv${k + 1}/kernel`, `conv${k + 1}/bias`);
      this.variables.push(makeVariable(heNormal([3, 3, cin, cout], 9 * cin, layerSeed(seed, k))), makeVariable(tf.zeros([cout])));
      cin = cout;
    });
  }

  /**
   * Features [B, R/8, R/8, 64] of images [B, R, R, 3]. Training passes the batch's `patches` (firstLayerPatches):
   * without them the first layer's filter gets its gradient through nsl/conv.ts, correct but slower.
   */
  apply(x: tf.Tensor4D, patches?: tf.Tensor2D): tf.Tensor4D {
    const [, h, w, c] = x.shape;
    if (h !== this.resolution || w !== this.resolution || c !== 3)
      throw new Error(`the encoder takes [batch, ${this.resolution}, ${this.resolution}, 3] images, got [${x.shape.join(', ')}]`);
    return tf.tidy(() => {
      let y: tf.Tensor4D = x;
      for (let k = 0; k < ENCODER_WIDTHS.length; k++) {
        if (k > 0) y = avgPool2(y);
        const kernel = this.variables[2 * k] as tf.Variable<tf.Rank.R4>;
        const z = k === 0 && patches ? firstConv(y, kernel, patches) : conv2d(y, kernel);
        y = tf.relu(tf.add(z, this.variables[2 * k + 1])) as tf.Tensor4D;
      }
      return y;
    });
  }

  dispose(): void {
    tf.dispose(this.variables);
  }
}

/** A fresh, seeded encoder for crops of side `resolution`. */
export function buildEncoder(resolution: number, seed: number): TaskEncoder {
  return new TaskEncoder(resolution, seed);
}

/** A task head (decoder) on features of `featureShape`; also the transfer readout. */
export class TaskDecoder implements WeightSet {
  readonly task: string;
  readonly kind: 'dense' | 'vector';
  readonly featureShape: [number, number, number];
  readonly outputShape: number[];
  readonly names: string[] = [];
  readonly variables: tf.Variable[] = [];
  /** Depth-to-space block (dense heads): output pixels per feature position along each side. */
  private readonly block: [number, number];

  constructor(task: TaskDefinition, features: readonly number[], resolution: number, seed: number) {
    if (features.length !== 3 || features.some((d) => !Number.isInteger(d) || d < 1))
      throw new Error(`decoder for ${task.id}: the feature shape must be [h, w, c] positive integers, got [${features.join(', ')}]`);
    const [h, w, c] = features;
    this.task = task.id;
    this.featureShape = [h, w, c];
    this.outputShape = decoderOutputShape(task, resolution);
    const add = (name: string, shape: number[], fanIn: number, k: number) => {
      this.names.push(`${name}/kernel`, `${name}/bias`);
      this.variables.push(makeVariable(heNormal(shape, fanIn, layerSeed(seed, 100 + k))), makeVariable(tf.zeros([shape[shape.length - 1]])));
    };
    if (this.outputShape.length === 3) {
      const [oh, ow, oc] = this.outputShape;
      if (oh % h !== 0 || ow % w !== 0)
        throw new Error(`decoder for ${task.id}: a [${h}, ${w}] feature map cannot be expanded to a [${oh}, ${ow}] target by whole blocks`);
      this.kind = 'dense';
      this.block = [oh / h, ow / w];
      add('hidden', [c, DECODER_HIDDEN], c, 0);
      add('out', [DECODER_HIDDEN, this.block[0] * this.block[1] * oc], DECODER_HIDDEN, 1);
    } else if (this.outputShape.length === 1) {
      this.kind = 'vector';
      this.block = [1, 1];
      add('hidden', [h * w * c, DECODER_HIDDEN], h * w * c, 0);
      add('out', [DECODER_HIDDEN, this.outputShape[0]], DECODER_HIDDEN, 1);
    } else {
      throw new Error(`decoder for ${task.id}: targets must be [H, W, C] maps or [K] vectors, got [${this.outputShape.join(', ')}]`);
    }
  }

  /** Pre-activation outputs [B, ...outputShape] of features [B, h, w, c]. */
  apply(features: tf.Tensor4D): tf.Tensor {
    const [b, h, w, c] = features.shape;
    const [fh, fw, fc] = this.featureShape;
    if (h !== fh || w !== fw || c !== fc)
      throw new Error(`the ${this.task} decoder takes [batch, ${fh}, ${fw}, ${fc}] features, got [${features.shape.join(', ')}]`);
    const [w1, b1, w2, b2] = this.variables as tf.Variable<tf.Rank.R2>[];
    return tf.tidy(() => {
      if (this.kind === 'vector') {
        const hidden = tf.relu(tf.add(dense(tf.reshape(features, [b, h * w * c]), w1), b1)) as tf.Tensor2D;
        return tf.add(dense(hidden, w2), b2);
      }
      const hidden = tf.relu(tf.add(dense(tf.reshape(features, [b * h * w, c]), w1), b1)) as tf.Tensor2D;
      const out = tf.add(dense(hidden, w2), b2);
      const [sh, sw] = this.block;
      const oc = this.outputShape[2];
      // Depth-to-space: channel (i·sw + j)·oc + k of position (y, x) → pixel (y·sh + i, x·sw + j), channel k.
      const blocks = tf.reshape(out, [b * h, w, sh, sw * oc]);
      return tf.reshape(tf.transpose(blocks, [0, 2, 1, 3]), [b, h * sh, w * sw, oc]);
    });
  }

  dispose(): void {
    tf.dispose(this.variables);
  }
}

/** A fresh, seeded decoder for `task` on features of `features` shape, crops of side `resolution`. */
export function buildDecoder(task: TaskDefinition, features: readonly number[], resolution: number, seed: number): TaskDecoder {
  return new TaskDecoder(task, features, resolution, seed);
}

/**
 * The encoder as a tf.LayersModel of built-in layers only (InputLayer, Conv2D, ReLU, AveragePooling2D) holding a
 * copy of the current weights: what the bank saves and what `taskmap extract` and the similarity measures load.
 * Layer names conv1…conv4, relu1…relu4 (the representation), pool1…pool3.
 */
export function exportEncoder(encoder: TaskEncoder): tf.LayersModel {
  const r = encoder.resolution;
  // A functional model rather than a Sequential: models/tfjs.ts taps layers through sub-models built from
  // model.inputs, which a reloaded Sequential does not support.
  const input = tf.input({ shape: [r, r, 3], name: 'image' });
  let y = input;
  const convs: tf.layers.Layer[] = [];
  ENCODER_WIDTHS.forEach((filters, k) => {
    if (k > 0) y = tf.layers.averagePooling2d({ poolSize: 2, strides: 2, padding: 'valid', name: `pool${k}` }).apply(y) as tf.SymbolicTensor;
    const conv = tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', useBias: true, name: `conv${k + 1}` });
    convs.push(conv);
    y = conv.apply(y) as tf.SymbolicTensor;
    y = tf.layers.reLU({ name: `relu${k + 1}` }).apply(y) as tf.SymbolicTensor;
  });
  const model = tf.model({ inputs: input, outputs: y, name: 'taskbank_encoder' });
  convs.forEach((conv, k) => conv.setWeights([encoder.variables[2 * k], encoder.variables[2 * k + 1]]));
  return model;
}

/** Save the exported encoder (exportEncoder) as model.json + one weight shard in `dir`. */
export async function saveEncoder(encoder: TaskEncoder, dir: string, metadata?: Record<string, unknown>): Promise<void> {
  const model = exportEncoder(encoder);
  try {
    await model.save(directoryIO(dir, { taskmap: { kind: 'taskbank-encoder', resolution: encoder.resolution, ...(metadata ?? {}) } }));
  } finally {
    model.dispose();
  }
}
