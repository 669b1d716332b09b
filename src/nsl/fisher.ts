/**
 * Fisher-information task similarity (Le, Soltani, Ravier & Tarokh; docs/measures.md#fisher-task-measures).
 *
 * A task (a labelled data set) is embedded as the diagonal empirical Fisher information of a probe network on the
 * task's data, normalised over the whole network (Task2Vec-style); two tasks are compared with the log-det
 * distance or its Fréchet variant. The probe is the NSL harness's network (any variant), trained on each task
 * from the same initialisation, as the reference trains one network per task (`taskEmbedding`); a given trained
 * model can also be embedded directly (`diagonalFisher`).
 */
import * as tf from '@tensorflow/tfjs';
import { loadTf } from '../models/tfjs.js';
import { makeBatch, type ImageDataset } from './data.js';
import { train, type TrainConfig } from './train.js';

export interface FisherTensor {
  /** The weight's name inside its layer's scope, e.g. `conv1_0/kernel` (stable across models). */
  name: string;
  shape: number[];
  /** Normalised Fisher values (all tensors together sum to 1). */
  values: Float64Array;
}

export interface FisherEmbedding {
  tensors: FisherTensor[];
  /** Trainable parameters of the probe network (the P of the log-det distance when this task is the target). */
  parameters: number;
  /** Σ of the unnormalised Fisher (for diagnostics: a zero total means no gradient signal at all). */
  total: number;
  /** Images the Fisher was estimated on. */
  images: number;
}

export interface FisherOptions {
  /** Images per batch; the reference uses its test loader's batches of 100. */
  batchSize?: number;
  /** Pixel scaling (as in training; the NSL reference feeds raw 0–255). */
  inputScale?: number;
  /**
   * Reference quirk: replace g² by its mean over the tensor's first axis, broadcast back to the full shape
   * (docs/measures.md#fisher-task-measures). Off by default: the standard per-element diagonal.
   */
  firstAxisMean?: boolean;
}

/** Batch-mean cross-entropy of integer labels (no smoothing: the Fisher is of the model's likelihood). */
function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const logp = tf.logSoftmax(logits);
  return tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels, logits.shape[1]), logp), 1))) as tf.Scalar;
}

/** Mean of g² over axis 0, repeated along axis 0 (the reference's reduction), in place on a row-major array. */
function firstAxisMeanInPlace(values: Float64Array, shape: number[]): void {
  const rows = shape[0] ?? 1;
  const inner = values.length / rows;
  for (let j = 0; j < inner; j++) {
    let s = 0;
    for (let r = 0; r < rows; r++) s += values[r * inner + j];
    for (let r = 0; r < rows; r++) values[r * inner + j] = s / rows;
  }
}

/**
 * Diagonal empirical Fisher of `model` on `data`: F_l = Σ_batches g_l², g_l the gradient of the batch-mean
 * cross-entropy w.r.t. trainable weight l, with the model in inference mode (BN moving averages); then
 * normalised so that all entries of all tensors sum to 1.
 */
export async function diagonalFisher(model: tf.LayersModel, data: ImageDataset, opts: FisherOptions = {}): Promise<FisherEmbedding> {
  await loadTf();
  const bs = opts.batchSize ?? 100;
  const weights = model.trainableWeights;
  const vars = weights.map((w) => w.read() as tf.Variable);
  const sums = weights.map((w) => new Float64Array(w.shape.reduce((a: number, b) => a * (b ?? 1), 1)));
  const outputs = (model.outputs[0].shape.at(-1) ?? 0) as number;
  for (let start = 0; start < data.n; start += bs) {
    const count = Math.min(bs, data.n - start);
    const { x, y } = makeBatch(
      data,
      Array.from({ length: count }, (_, i) => start + i),
      { scale: opts.inputScale ?? 1 },
    );
    if (y.some((l) => l >= outputs)) throw new Error(`Fisher: a label exceeds the probe's ${outputs} outputs`);
    const xs = tf.tensor4d(x, [count, data.height, data.width, data.channels]);
    const ys = tf.tensor1d(y, 'int32');
    const { value, grads } = tf.variableGrads(() => crossEntropy(model.apply(xs, { training: false }) as tf.Tensor2D, ys), vars);
    for (let i = 0; i < vars.length; i++) {
      const g = await grads[vars[i].name].data();
      const s = sums[i];
      for (let e = 0; e < g.length; e++) s[e] += g[e] * g[e];
    }
    tf.dispose([xs, ys, value, ...Object.values(grads)]);
  }
  if (opts.firstAxisMean) sums.forEach((s, i) => firstAxisMeanInPlace(s, weights[i].shape as number[]));
  const total = sums.reduce((t, s) => t + s.reduce((a, b) => a + b, 0), 0);
  if (total > 0) for (const s of sums) for (let e = 0; e < s.length; e++) s[e] /= total;
  return {
    tensors: weights.map((w, i) => ({ name: w.originalName, shape: [...(w.shape as number[])], values: sums[i] })),
    parameters: sums.reduce((t, s) => t + s.length, 0),
    total,
    images: data.n,
  };
}

/**
 * Both embeddings' tensors zero-padded (at the end of every axis) to the larger shape, matched by name: a head
 * for 3 classes against one for 5 is compared as 5 classes, the missing ones at Fisher 0 (docs/measures.md#fisher-task-measures).
 */
export function alignEmbeddings(
  a: FisherEmbedding,
  b: FisherEmbedding,
): { a: Float64Array; b: Float64Array; layers: { name: string; start: number; end: number }[] } {
  if (a.tensors.length !== b.tensors.length || a.tensors.some((t, i) => t.name !== b.tensors[i].name)) {
    throw new Error(
      `Fisher embeddings of different networks: [${a.tensors.map((t) => t.name).join(', ')}] vs [${b.tensors.map((t) => t.name).join(', ')}]; ` +
        'tasks must be embedded with the same probe architecture',
    );
  }
  const pa: number[] = [];
  const pb: number[] = [];
  const layers: { name: string; start: number; end: number }[] = [];
  a.tensors.forEach((ta, i) => {
    const tb = b.tensors[i];
    if (ta.shape.length !== tb.shape.length) throw new Error(`Fisher tensor ${ta.name}: rank ${ta.shape.length} vs ${tb.shape.length}`);
    const shape = ta.shape.map((d, k) => Math.max(d, tb.shape[k]));
    const start = pa.length;
    const size = shape.reduce((x, y) => x * y, 1);
    const strides = shape.map((_, k) => shape.slice(k + 1).reduce((x, y) => x * y, 1));
    for (let flat = 0; flat < size; flat++) {
      const coord = strides.map((s, k) => Math.floor(flat / s) % shape[k]);
      const pick = (t: FisherTensor) => {
        if (coord.some((c, k) => c >= t.shape[k])) return 0;
        let off = 0;
        for (let k = 0; k < coord.length; k++) off = off * t.shape[k] + coord[k];
        return t.values[off];
      };
      pa.push(pick(ta));
      pb.push(pick(tb));
    }
    layers.push({ name: ta.name, start, end: pa.length });
  });
  return { a: Float64Array.from(pa), b: Float64Array.from(pb), layers };
}

export interface LogDetResult {
  distance: number;
  /** Entries where exactly one side is below the floor: each contributes ≈ log(floor / F_other), and can dominate. */
  floorHits: number;
  /** Entries below the floor on both sides (they contribute ≈ 0). */
  bothBelowFloor: number;
  /** Entries compared (after padding). */
  entries: number;
}

/**
 * d(s, t) = (1/P) Σ_l | Σ_{e ∈ l} log((F_s,e + ε) / (F_t,e + ε)) |, P = trainable parameters of the target
 * network, ε the floor (reference 1e-10). For a diagonal F the inner sum is log det(F_s,l + εI) − log det(F_t,l + εI).
 */
export function logDetDistance(source: FisherEmbedding, target: FisherEmbedding, floor = 1e-10): LogDetResult {
  if (!(floor > 0)) throw new Error(`log-det floor must be positive, got ${floor}`);
  const { a, b, layers } = alignEmbeddings(source, target);
  let sum = 0;
  let floorHits = 0;
  let bothBelowFloor = 0;
  for (const { start, end } of layers) {
    let inner = 0;
    for (let e = start; e < end; e++) {
      inner += Math.log((a[e] + floor) / (b[e] + floor));
      const lowA = a[e] < floor;
      const lowB = b[e] < floor;
      if (lowA && lowB) bothBelowFloor++;
      else if (lowA || lowB) floorHits++;
    }
    sum += Math.abs(inner);
  }
  return { distance: sum / target.parameters, floorHits, bothBelowFloor, entries: a.length };
}

/** d_F(s, t) = ½ Σ_e (√F_s,e − √F_t,e)² over all (padded) entries. */
export function frechetDistance(source: FisherEmbedding, target: FisherEmbedding): number {
  const { a, b } = alignEmbeddings(source, target);
  let s = 0;
  for (let e = 0; e < a.length; e++) s += (Math.sqrt(a[e]) - Math.sqrt(b[e])) ** 2;
  return s / 2;
}

export interface Task {
  name: string;
  /** Data the probe is trained on. */
  train: ImageDataset;
  /** Data the Fisher is estimated on (the reference uses the task's test split). */
  probe: ImageDataset;
}

export interface TaskEmbeddingOptions extends FisherOptions {
  /** Probe training; every task starts from the same initialisation (config.seed). */
  config: TrainConfig;
  onEpoch?: (task: string, epoch: number, epochs: number) => void;
}

/** Train the probe on the task (same seed for every task), then embed the task by its Fisher on the probe data. */
export async function taskEmbedding(task: Task, opts: TaskEmbeddingOptions): Promise<FisherEmbedding & { trainAccuracy: number }> {
  const result = await train(task.train, opts.config, { onEpoch: (r) => opts.onEpoch?.(task.name, r.epoch, opts.config.epochs) });
  try {
    const fisher = await diagonalFisher(result.model, task.probe, { ...opts, inputScale: opts.inputScale ?? result.config.inputScale });
    return { ...fisher, trainAccuracy: result.history.at(-1)?.trainAccuracy ?? Number.NaN };
  } finally {
    result.model.dispose();
  }
}
