/**
 * The NSL training harness (docs/nsl.md#training): the reference's loss, SGD with momentum in
 * TensorFlow's form, a step learning-rate schedule, L2 weight decay through the layers' regularisers, the
 * reference's augmentation; checkpoints after every epoch and exact resumption.
 *
 * Resumption is exact because nothing random is carried between epochs: the shuffle order and the augmentation
 * draws of epoch e come from generators seeded with (seed, e), and the WASM backend is deterministic on one
 * thread. A run stopped after epoch e and resumed gives the same weights as one that never stopped (tested).
 */
import { existsSync } from 'node:fs';
import { readFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { NamedTensor } from '@tensorflow/tfjs-core/dist/tensor_types.js';
import { writeFileAtomic } from '../io/atomic.js';
import { mulberry32 } from '../linalg/resample.js';
import { loadTf } from '../models/tfjs.js';
import { makeBatch, permutation, type ImageDataset } from './data.js';
import { directoryIO, modelArtifacts, toArrayBuffer, weightBytes } from './io.js';
import { buildNetwork, countParameters, resolveNetworkConfig, type NetworkConfig, type ResolvedNetworkConfig } from './network.js';

/** The reference's learning-rate boundaries (iterations 20 000, 30 000, 37 500 of 42 500) as fractions of the run. */
export const REFERENCE_LR_STEPS = [20000 / 42500, 30000 / 42500, 37500 / 42500];

export interface TrainConfig {
  /** The network; inputShape and numClasses default to the training data's. */
  network: Omit<NetworkConfig, 'inputShape' | 'numClasses'> & Partial<Pick<NetworkConfig, 'inputShape' | 'numClasses'>>;
  epochs: number;
  /** Reference 128. */
  batchSize?: number;
  /** Reference 0.1. */
  learningRate?: number;
  /** Reference 0.9 (TensorFlow form: v ← μv + g, θ ← θ − lr·v). */
  momentum?: number;
  /** Where the learning rate is multiplied by lrDecay, as fractions of all iterations (default REFERENCE_LR_STEPS). */
  lrSteps?: number[];
  /** Reference 0.1. */
  lrDecay?: number;
  /** Reference 0.01: target 0.99·onehot + 0.01/K. */
  labelSmoothing?: number;
  /** Symmetric-pad-and-crop by this many pixels plus random horizontal flips; 0 turns augmentation off (reference 4). */
  augmentPad?: number;
  /** Pixel values are multiplied by this; the reference feeds raw 0–255 (scale 1). */
  inputScale?: number;
  /** Seeds the network, the shuffles and the augmentation. */
  seed?: number;
}

export type ResolvedTrainConfig = Required<Omit<TrainConfig, 'network'>> & { network: ResolvedNetworkConfig };

export function resolveTrainConfig(c: TrainConfig, data: ImageDataset): ResolvedTrainConfig {
  const seed = c.seed ?? c.network.seed ?? 0;
  const network = resolveNetworkConfig({
    ...c.network,
    inputShape: c.network.inputShape ?? [data.height, data.width, data.channels],
    numClasses: c.network.numClasses ?? data.numClasses,
    seed: c.network.seed ?? seed,
  });
  const out: ResolvedTrainConfig = {
    network,
    epochs: c.epochs,
    batchSize: c.batchSize ?? 128,
    learningRate: c.learningRate ?? 0.1,
    momentum: c.momentum ?? 0.9,
    lrSteps: [...(c.lrSteps ?? REFERENCE_LR_STEPS)],
    lrDecay: c.lrDecay ?? 0.1,
    labelSmoothing: c.labelSmoothing ?? 0.01,
    augmentPad: c.augmentPad ?? 4,
    inputScale: c.inputScale ?? 1,
    seed,
  };
  if (!Number.isInteger(out.epochs) || out.epochs < 1) throw new Error(`epochs must be a positive integer, got ${out.epochs}`);
  if (!Number.isInteger(out.batchSize) || out.batchSize < 1) throw new Error(`batch size must be a positive integer, got ${out.batchSize}`);
  if (!(out.learningRate > 0)) throw new Error(`learning rate must be positive, got ${out.learningRate}`);
  if (out.lrSteps.some((f) => !(f > 0 && f < 1))) throw new Error(`lrSteps are fractions of the run in (0, 1), got ${out.lrSteps.join(',')}`);
  if (!(out.labelSmoothing >= 0 && out.labelSmoothing < 1)) throw new Error(`label smoothing must be in [0, 1), got ${out.labelSmoothing}`);
  if (!Number.isInteger(out.augmentPad) || out.augmentPad < 0) throw new Error(`augmentPad must be a non-negative integer, got ${out.augmentPad}`);
  const [h, w, ch] = network.inputShape;
  if (h !== data.height || w !== data.width || ch !== data.channels) {
    throw new Error(`the network expects ${h}×${w}×${ch} images, the data has ${data.height}×${data.width}×${data.channels}`);
  }
  if (network.numClasses < data.numClasses) throw new Error(`the network has ${network.numClasses} outputs for ${data.numClasses} classes`);
  return out;
}

/**
 * The reference loss: probabilities softmax(logits) + 1e-4 against the smoothed target (1 − s)·onehot + s/K,
 * −Σ_k target_k·log(prob_k), mean over the batch. (Weight decay is added by the caller.)
 */
export function nslLoss(logits: tf.Tensor2D, labels: tf.Tensor1D, smoothing = 0.01): tf.Scalar {
  return tf.tidy(() => {
    const k = logits.shape[1];
    const probs = tf.add(tf.softmax(logits), 1e-4);
    const target = tf.add(tf.mul(tf.oneHot(labels, k), 1 - smoothing), smoothing / k);
    return tf.neg(tf.mean(tf.sum(tf.mul(target, tf.log(probs)), 1))) as tf.Scalar;
  });
}

/**
 * Σ of the layers' regularisation losses (the weight decay). Collected layer by layer: a Sequential's own
 * calculateLosses() is empty until its inner graph has been built by a call.
 */
export function weightPenalty(model: tf.LayersModel): tf.Scalar | undefined {
  const terms = model.layers.flatMap((l) => l.calculateLosses());
  return terms.length > 0 ? (tf.addN(terms) as tf.Scalar) : undefined;
}

/** The learning rate at `iteration` (0-based) of `total`: lr·decay^(number of boundaries passed). */
export function learningRateAt(iteration: number, total: number, c: Pick<ResolvedTrainConfig, 'learningRate' | 'lrSteps' | 'lrDecay'>): number {
  const passed = c.lrSteps.filter((f) => iteration >= Math.round(f * total)).length;
  return c.learningRate * c.lrDecay ** passed;
}

/** Iterations per epoch: whole batches only (the remainder is dropped, as the reference's fixed-size batches), at least one. */
export function stepsPerEpoch(n: number, batchSize: number): { steps: number; batch: number } {
  const batch = Math.min(batchSize, n);
  return { steps: Math.max(1, Math.floor(n / batch)), batch };
}

/** Classification accuracy (inference mode: BN moving averages) and the mean reference loss. */
export async function evaluate(
  model: tf.LayersModel,
  data: ImageDataset,
  opts: { batchSize?: number; inputScale?: number } = {},
): Promise<{ accuracy: number; loss: number }> {
  const bs = opts.batchSize ?? 250;
  let correct = 0;
  let lossSum = 0;
  for (let start = 0; start < data.n; start += bs) {
    const idx = Array.from({ length: Math.min(bs, data.n - start) }, (_, i) => start + i);
    const { x, y } = makeBatch(data, idx, { scale: opts.inputScale ?? 1 });
    const [c, l] = tf.tidy(() => {
      const logits = model.apply(tf.tensor4d(x, [idx.length, data.height, data.width, data.channels]), { training: false }) as tf.Tensor2D;
      const labels = tf.tensor1d(y, 'int32');
      return [tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32')), tf.mul(nslLoss(logits, labels, 0), idx.length)];
    });
    correct += (await c.data())[0];
    lossSum += (await l.data())[0];
    tf.dispose([c, l]);
  }
  return { accuracy: correct / data.n, loss: lossSum / data.n };
}

export interface EpochRecord {
  epoch: number;
  iterations: number;
  learningRate: number;
  /** Mean training objective (data loss + weight decay) over the epoch's batches. */
  loss: number;
  /** Mean data loss (label-smoothed) over the epoch's batches. */
  dataLoss: number;
  /** Accuracy on the training batches, in training mode (batch statistics, augmented). */
  trainAccuracy: number;
  testAccuracy?: number;
  testLoss?: number;
  /** Wall seconds of the epoch's training (without evaluation and checkpointing). */
  seconds: number;
}

export interface StepEvent {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
}

export interface TrainOptions {
  /** Test data: evaluated after every epoch (or only at the end with evalEveryEpoch false). */
  test?: ImageDataset;
  evalEveryEpoch?: boolean;
  /** Directory for checkpoints (checkpoint/), the final model (model/) and result.json. */
  out?: string;
  /** Continue from out/checkpoint if there is one (otherwise start). Without it, an existing checkpoint is an error. */
  resume?: boolean;
  /** Stop after this many epochs of the run (for tests of resumption); the checkpoint stays resumable. */
  stopAfterEpoch?: number;
  onStep?: (e: StepEvent) => void;
  onEpoch?: (r: EpochRecord) => void;
}

export interface TrainResult {
  model: tf.LayersModel;
  config: ResolvedTrainConfig;
  history: EpochRecord[];
  iterations: number;
  parameters: number;
  /** Test accuracy after the last completed epoch (if test data was given). */
  testAccuracy?: number;
  /** True when the run stopped early (stopAfterEpoch) and can be resumed. */
  stopped: boolean;
}

interface CheckpointState {
  version: 1;
  epoch: number;
  iteration: number;
  config: ResolvedTrainConfig;
  history: EpochRecord[];
  file: string;
  model: { modelTopology: unknown; weightSpecs: tf.io.WeightsManifestEntry[]; bytes: number };
  optimizer: { specs: tf.io.WeightsManifestEntry[] };
}

const CHECKPOINT_DIR = 'checkpoint';

function checkpointPath(out: string): string {
  return join(out, CHECKPOINT_DIR, 'checkpoint.json');
}

async function saveCheckpoint(
  out: string,
  state: Omit<CheckpointState, 'file' | 'model' | 'optimizer' | 'version'>,
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
): Promise<void> {
  const dir = join(out, CHECKPOINT_DIR);
  const art = await modelArtifacts(model);
  const modelBytes = weightBytes(art.weightData);
  const opt = await tf.io.encodeWeights(await optimizer.getWeights());
  const optBytes = weightBytes(opt.data);
  const blob = new Uint8Array(modelBytes.length + optBytes.length);
  blob.set(modelBytes, 0);
  blob.set(optBytes, modelBytes.length);
  const file = `ckpt-epoch${String(state.epoch).padStart(4, '0')}.bin`;
  // Weights first, then the JSON that names them (the commit point), then the older weight files.
  await writeFileAtomic(join(dir, file), blob);
  const full: CheckpointState = {
    version: 1,
    ...state,
    file,
    model: { modelTopology: art.modelTopology, weightSpecs: art.weightSpecs ?? [], bytes: modelBytes.length },
    optimizer: { specs: opt.specs },
  };
  await writeFileAtomic(checkpointPath(out), JSON.stringify(full));
  for (const f of await readdir(dir)) if (/^ckpt-epoch\d+\.bin$/.test(f) && f !== file) await unlink(join(dir, f)).catch(() => undefined);
}

async function loadCheckpoint(out: string): Promise<{ state: CheckpointState; model: tf.LayersModel; optimizerWeights: NamedTensor[] }> {
  const path = checkpointPath(out);
  let state: CheckpointState;
  try {
    state = JSON.parse(await readFile(path, 'utf8')) as CheckpointState;
  } catch (e) {
    throw new Error(`${path}: unreadable checkpoint (${(e as Error).message})`, { cause: e });
  }
  if (state.version !== 1) throw new Error(`${path}: unsupported checkpoint version ${String(state.version)}`);
  const blob = await readFile(join(out, CHECKPOINT_DIR, state.file)).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`${path}: its weight file ${state.file} is missing (${e.code ?? e.message})`);
  });
  await import('./layers.js');
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: state.model.modelTopology as tf.io.ModelArtifacts['modelTopology'],
      weightSpecs: state.model.weightSpecs,
      weightData: toArrayBuffer(blob.subarray(0, state.model.bytes)),
    }),
  );
  const decoded = tf.io.decodeWeights(toArrayBuffer(blob.subarray(state.model.bytes)), state.optimizer.specs);
  const optimizerWeights = state.optimizer.specs.map((s) => ({ name: s.name, tensor: decoded[s.name] }));
  return { state, model, optimizerWeights };
}

/** Keys whose values differ between two resolved configs (for a clear resume error). */
function configDiff(a: unknown, b: unknown, prefix = ''): string[] {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !Array.isArray(a)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => configDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [`${prefix || 'config'}: checkpoint ${JSON.stringify(a)}, now ${JSON.stringify(b)}`];
}

/**
 * Train a network on `data`. With `out`, a checkpoint is written after every epoch (atomically) and the final
 * model is saved to out/model (TF.js layers format) with out/result.json.
 */
export async function train(data: ImageDataset, config: TrainConfig, opts: TrainOptions = {}): Promise<TrainResult> {
  await loadTf();
  const cfg = resolveTrainConfig(config, data);
  const { steps, batch } = stepsPerEpoch(data.n, cfg.batchSize);
  const total = steps * cfg.epochs;

  let model: tf.LayersModel;
  let history: EpochRecord[] = [];
  let startEpoch = 0;
  const optimizer = tf.train.momentum(cfg.learningRate, cfg.momentum);
  if (opts.out && existsSync(checkpointPath(opts.out))) {
    if (!opts.resume) {
      throw new Error(`${opts.out} already holds a training checkpoint; pass --resume to continue it, or choose another --out directory`);
    }
    const ck = await loadCheckpoint(opts.out);
    const diff = configDiff(ck.state.config, cfg);
    if (diff.length > 0) {
      ck.model.dispose();
      tf.dispose(ck.optimizerWeights.map((w) => w.tensor));
      throw new Error(`cannot resume ${opts.out}: the run's settings differ from the checkpoint's:\n  ${diff.join('\n  ')}`);
    }
    model = ck.model;
    history = ck.state.history;
    startEpoch = ck.state.epoch;
    await optimizer.setWeights(ck.optimizerWeights);
  } else {
    model = buildNetwork(cfg.network);
  }
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { height: h, width: w, channels: ch } = data;
  const lastEpoch = Math.min(cfg.epochs, opts.stopAfterEpoch ?? cfg.epochs);

  for (let epoch = startEpoch; epoch < lastEpoch; epoch++) {
    const order = permutation(data.n, (cfg.seed * 1000003 + epoch) >>> 0);
    const random = mulberry32((cfg.seed * 7919 + epoch * 104729 + 1) >>> 0);
    const t0 = performance.now();
    let lossSum = 0;
    let dataLossSum = 0;
    let correct = 0;
    let lr = cfg.learningRate;
    for (let s = 0; s < steps; s++) {
      const iteration = epoch * steps + s;
      lr = learningRateAt(iteration, total, cfg);
      optimizer.setLearningRate(lr);
      const { x, y } = makeBatch(data, order.subarray(s * batch, (s + 1) * batch), {
        scale: cfg.inputScale,
        augment: cfg.augmentPad > 0 ? { pad: cfg.augmentPad, random } : undefined,
      });
      const xs = tf.tensor4d(x, [batch, h, w, ch]);
      const ys = tf.tensor1d(y, 'int32');
      let kept: tf.Tensor[] = [];
      const { value, grads } = tf.variableGrads(() => {
        const logits = model.apply(xs, { training: true }) as tf.Tensor2D;
        const dataLoss = nslLoss(logits, ys, cfg.labelSmoothing);
        kept = [tf.keep(dataLoss.clone()), tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), ys), 'int32')))];
        const penalty = weightPenalty(model);
        return (penalty ? tf.add(dataLoss, penalty) : dataLoss) as tf.Scalar;
      }, vars);
      optimizer.applyGradients(grads as tf.NamedTensorMap as Record<string, tf.Variable>);
      const loss = (await value.data())[0];
      dataLossSum += (await kept[0].data())[0];
      correct += (await kept[1].data())[0];
      tf.dispose([xs, ys, value, ...Object.values(grads), ...kept]);
      if (!Number.isFinite(loss))
        throw new Error(`training diverged at epoch ${epoch + 1}, iteration ${iteration + 1} (loss ${loss}); lower the learning rate`);
      lossSum += loss;
      opts.onStep?.({ epoch: epoch + 1, epochs: cfg.epochs, step: s + 1, steps, loss });
    }
    const record: EpochRecord = {
      epoch: epoch + 1,
      iterations: (epoch + 1) * steps,
      learningRate: lr,
      loss: lossSum / steps,
      dataLoss: dataLossSum / steps,
      trainAccuracy: correct / (steps * batch),
      seconds: (performance.now() - t0) / 1000,
    };
    if (opts.test && (opts.evalEveryEpoch !== false || epoch === cfg.epochs - 1)) {
      const r = await evaluate(model, opts.test, { inputScale: cfg.inputScale });
      record.testAccuracy = r.accuracy;
      record.testLoss = r.loss;
    }
    history.push(record);
    opts.onEpoch?.(record);
    if (opts.out) await saveCheckpoint(opts.out, { epoch: epoch + 1, iteration: (epoch + 1) * steps, config: cfg, history }, model, optimizer);
  }
  optimizer.dispose();

  const done = (history.at(-1)?.epoch ?? 0) >= cfg.epochs;
  const testAccuracy = history.at(-1)?.testAccuracy;
  const result: TrainResult = {
    model,
    config: cfg,
    history,
    iterations: (history.at(-1)?.epoch ?? 0) * steps,
    parameters: countParameters(model),
    testAccuracy,
    stopped: !done,
  };
  if (opts.out && done) {
    await model.save(directoryIO(join(opts.out, 'model'), { taskmap: { kind: 'nsl', variant: cfg.network.variant, testAccuracy } }));
    const summary = {
      config: cfg,
      history,
      iterations: result.iterations,
      parameters: result.parameters,
      testAccuracy: testAccuracy ?? null,
      trainImages: data.n,
    };
    await writeFileAtomic(join(opts.out, 'result.json'), JSON.stringify(summary, null, 2) + '\n');
  }
  return result;
}
