/**
 * Taskonomy's transfer readout at the bank's scale (ALGORITHMS.md §7.9): a fresh decoder of the target task
 * (network.ts buildDecoder — the same head the task network has) trained on frozen features of the target's
 * `transfer` crops, then scored per image on its `test` crops; those losses feed the win rates (§7.3).
 *
 * Budget (READOUT_DEFAULTS): 3 epochs over the transfer crops (93 steps of 32 for 1,000 crops; whole batches only,
 * an order drawn per epoch from (seed, epoch)), Adam (train.ts) at 3e-3, the decoder seeded — the same for every
 * source, so the losses compare sources, not training effort. Measured on the default pool's `edges` target
 * (1,000 transfer / 1,000 test crops; mean test L1): the trained edges encoder 0.0216, pixels 0.0275, a random
 * encoder 0.0500 (the trained network itself: 0.0178); at 1e-3 two epochs left every readout far from converged
 * (own encoder 0.0567, worse than pixels 0.0451), and 5e-3 lifted the random encoder to the pixels' level (0.0271).
 * About 2.5–4 s of one core per readout on encoder features (pixels: 192 channels, ≈ 1.5× that).
 *
 * Features are divided by their root mean square over the training (transfer) features first — one scalar per
 * readout, so the representation is unchanged up to scale — because the sources' feature scales differ by orders of
 * magnitude (raw pixels in [0, 1], a random encoder's ReLU outputs, trained encoders'), and a fixed-learning-rate
 * head on He-initialised weights would otherwise favour the sources whose scale happens to suit it.
 *
 * `pixelFeatures` is the `pixels` baseline: the target's own input rearranged space-to-depth to the encoder's grid,
 * [R/8, R/8, 8·8·3], so the same decoder reads it.
 */
import * as tf from '@tensorflow/tfjs';
import { loadTf } from '../models/tfjs.js';
import { permutation } from '../nsl/data.js';
import { perImageLosses, perImageLossTensor } from './losses.js';
import { buildDecoder, ENCODER_STRIDE } from './network.js';
import { Adam, rows } from './train.js';
import { taskDefinition, type TaskDefinition } from './tasks.js';

export interface ReadoutSettings {
  /** Seeds the decoder and the batch order. */
  seed: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /**
   * Decoupled weight decay λ of the head's kernels (AdamW: after each step w ← w·(1 − lr·λ); biases untouched).
   * Absent (the default): none — and absent from the settings a cached readout is checked against, so the readouts
   * cached before it existed stay valid.
   */
  weightDecay?: number;
}

/** The transfers' budget (195 readouts in about 10 minutes on two threads; docs/taskbank.md). */
export const READOUT_DEFAULTS: Readonly<ReadoutSettings> = { seed: 0, epochs: 3, batchSize: 32, learningRate: 3e-3 };

export interface ReadoutData {
  /** n × ∏ featureShape. */
  features: Float32Array;
  /** n × ∏ targetShape. */
  targets: Float32Array;
  /** n × R × R (masked-l1 tasks). */
  mask?: Float32Array;
}

export interface ReadoutResult {
  /** Per test image, float64, in the test crops' order. */
  testLosses: Float64Array;
  /** Mean training loss over the last epoch's batches. */
  trainLoss: number;
  /** The scalar the features were divided by. */
  featureScale: number;
  seconds: number;
}

function rms(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s / a.length);
}

function scaled(a: Float32Array, inv: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] * inv;
  return out;
}

/**
 * Train a fresh decoder for `task` on `train` features and score it on `test` features. `featureShape` is the
 * features' [h, w, c]; `resolution` the crops' side (the target shape depends on it).
 */
export async function trainReadout(
  taskOrId: TaskDefinition | string,
  featureShape: readonly number[],
  resolution: number,
  train: ReadoutData,
  test: ReadoutData,
  opts: Partial<ReadoutSettings> = {},
): Promise<ReadoutResult> {
  await loadTf();
  const t0 = performance.now();
  const task = typeof taskOrId === 'string' ? taskDefinition(taskOrId) : taskOrId;
  const s: ReadoutSettings = { ...READOUT_DEFAULTS, ...opts };
  if (!Number.isInteger(s.epochs) || s.epochs < 1) throw new Error(`readout epochs must be a positive integer, got ${s.epochs}`);
  const decay = s.weightDecay ?? 0;
  if (!(decay >= 0 && Number.isFinite(decay))) throw new Error(`readout weight decay must be a finite number ≥ 0, got ${s.weightDecay}`);
  const perFeature = featureShape.reduce((a, b) => a * b, 1);
  const targetShape = task.targetShape(resolution);
  const perTarget = targetShape.reduce((a, b) => a * b, 1);
  const count = (d: ReadoutData, part: string) => {
    const n = d.features.length / perFeature;
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`readout ${task.id}: ${d.features.length} ${part} feature values are not whole [${featureShape.join(', ')}] maps`);
    if (d.targets.length !== n * perTarget)
      throw new Error(`readout ${task.id}: ${n} ${part} samples need ${n * perTarget} target values, got ${d.targets.length}`);
    if (task.loss === 'masked-l1' && d.mask?.length !== n * resolution * resolution)
      throw new Error(`readout ${task.id}: the ${part} mask needs ${n * resolution * resolution} values`);
    if (d.features.some((v) => !Number.isFinite(v))) throw new Error(`readout ${task.id}: the ${part} features hold non-finite values`);
    return n;
  };
  const nTrain = count(train, 'training');
  const nTest = count(test, 'test');
  const scale = rms(train.features);
  if (!(scale > 0)) throw new Error(`readout ${task.id}: the training features are all zero (a dead encoder?)`);
  const trainF = scaled(train.features, 1 / scale);
  const testF = scaled(test.features, 1 / scale);

  const decoder = buildDecoder(task, featureShape, resolution, s.seed);
  const adam = new Adam(decoder.variables, s.learningRate);
  const kernels = decoder.variables.filter((_, i) => decoder.names[i].endsWith('/kernel'));
  const shrink = 1 - s.learningRate * decay;
  const batch = Math.min(s.batchSize, nTrain);
  const steps = Math.max(1, Math.floor(nTrain / batch));
  const fShape = [...featureShape] as [number, number, number];
  let trainLoss = Number.NaN;
  try {
    for (let epoch = 0; epoch < s.epochs; epoch++) {
      const order = permutation(nTrain, (Math.imul(s.seed, 1000003) + epoch + 7) >>> 0);
      let sum = 0;
      for (let k = 0; k < steps; k++) {
        const idx = order.subarray(k * batch, (k + 1) * batch);
        const x = tf.tensor4d(rows(trainF, perFeature, idx), [batch, ...fShape]);
        const t = tf.tensor(rows(train.targets, perTarget, idx), [batch, ...targetShape]);
        const m = train.mask ? tf.tensor4d(rows(train.mask, resolution * resolution, idx), [batch, resolution, resolution, 1]) : undefined;
        const { value, grads } = tf.variableGrads(() => tf.mean(perImageLossTensor(task.loss, decoder.apply(x), t, m)) as tf.Scalar, decoder.variables);
        adam.apply(decoder.variables.map((v) => grads[v.name]));
        // Inside tidy, as Adam's own assigns: the variable keeps the product, every other tensor is freed.
        if (decay > 0) tf.tidy(() => kernels.forEach((v) => v.assign(tf.mul(v, shrink))));
        const loss = (await value.data())[0];
        tf.dispose([x, t, m, value, ...Object.values(grads)]);
        if (!Number.isFinite(loss)) throw new Error(`readout ${task.id}: training diverged at epoch ${epoch + 1}, step ${k + 1} (loss ${loss})`);
        sum += loss;
      }
      trainLoss = sum / steps;
    }
    const outPer = decoder.outputShape.reduce((a, b) => a * b, 1);
    const pred = new Float32Array(nTest * outPer);
    for (let start = 0; start < nTest; start += 100) {
      const b = Math.min(100, nTest - start);
      const y = tf.tidy(() => decoder.apply(tf.tensor4d(testF.subarray(start * perFeature, (start + b) * perFeature), [b, ...fShape])));
      pred.set((await y.data()) as Float32Array, start * outPer);
      y.dispose();
    }
    const testLosses = perImageLosses(task.loss, pred, test.targets, test.mask, nTest, targetShape);
    return { testLosses, trainLoss, featureScale: scale, seconds: (performance.now() - t0) / 1000 };
  } finally {
    adam.dispose();
    decoder.dispose();
  }
}

/**
 * The `pixels` baseline's features: images n × R × R × 3 rearranged space-to-depth into n × R/8 × R/8 × 192, channel
 * (dy·8 + dx)·3 + c of cell (y, x) holding channel c of pixel (8y + dy, 8x + dx) (tf.depthToSpace's layout).
 */
export function pixelFeatures(inputs: Float32Array, n: number, resolution: number): Float32Array {
  const r = resolution;
  const s = ENCODER_STRIDE;
  if (!Number.isInteger(r) || r % s !== 0 || r < s) throw new Error(`pixel features need a side that is a multiple of ${s}, got ${r}`);
  if (inputs.length !== n * r * r * 3) throw new Error(`pixel features: ${n} images of ${r}×${r}×3 need ${n * r * r * 3} values, got ${inputs.length}`);
  const g = r / s;
  const out = new Float32Array(inputs.length);
  let o = 0;
  for (let i = 0; i < n; i++)
    for (let y = 0; y < g; y++)
      for (let x = 0; x < g; x++)
        for (let dy = 0; dy < s; dy++)
          for (let dx = 0; dx < s; dx++) {
            const src = ((i * r + y * s + dy) * r + x * s + dx) * 3;
            out[o++] = inputs[src];
            out[o++] = inputs[src + 1];
            out[o++] = inputs[src + 2];
          }
  return out;
}

/** [R/8, R/8, 192]: the shape of pixelFeatures. */
export function pixelFeatureShape(resolution: number): [number, number, number] {
  return [resolution / ENCODER_STRIDE, resolution / ENCODER_STRIDE, ENCODER_STRIDE * ENCODER_STRIDE * 3];
}
