/**
 * Training one task network of the bank (encoder + its decoder, ./network.ts) on a task's samples (./taskData.ts),
 * and what the bank reads from trained networks: features, predictions and per-image losses.
 *
 * Optimiser: Adam (β1 0.9, β2 0.999, ε 1e-7, TF's defaults) at a constant learning rate (TRAIN_DEFAULTS: 1e-3), no
 * weight decay, batches of 32 in an order drawn per epoch from (seed, epoch); the remainder of an epoch's
 * permutation is dropped (whole batches only). Adam is written out here rather than taken from tf.train: its state
 * (moments and step count, the bias corrections computed in float64 from the step count) is then exactly what a
 * checkpoint stores, and a resumed run continues bit for bit — tf.train.adam's setWeights rebuilds β^t with pow()
 * where the uninterrupted run multiplied, which can differ in the last bit.
 *
 * Resumption is exact for the same reason as the NSL harness's (nsl/train.ts): nothing random is carried between
 * epochs (the order of epoch e comes from (seed, e); the network's initialisation from the seed) and the WASM
 * backend is deterministic on one thread. A run stopped after epoch e and resumed gives the same weights as one that
 * never stopped (tested).
 *
 * Files under `dir`:
 *   checkpoint.json + checkpoint-<epoch>.bin   after every epoch (the JSON, written last, names its weight file)
 *   network.json + network.bin                 the trained encoder and decoder (loadTaskNetwork), at the end
 *   encoder/model.json + shard                 the encoder as built-in Keras layers (network.ts exportEncoder)
 *   result.json                                 settings and loss history
 * A finished `dir` is reused: calling again with the same settings loads the network instead of training.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '../io/atomic.js';
import { loadTf } from '../models/tfjs.js';
import { permutation } from '../nsl/data.js';
import { perImageLosses, perImageLossTensor } from './losses.js';
import { buildDecoder, buildEncoder, featureShape, firstLayerPatches, saveEncoder, TaskEncoder, weightCount, type TaskDecoder } from './network.js';
import type { TaskData } from './taskData.js';
import { targetVersion, taskDefinition, type TaskDefinition } from './tasks.js';

export interface TaskTrainSettings {
  /** Seeds the encoder, the decoder and the batch order. */
  seed: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
}

/**
 * The bank's training budget: 2 epochs of the train part (500 steps on 8,000 crops). Measured on the default pool at
 * 64 px, one thread of a loaded 2-core machine: an 8,000-crop epoch takes 55–75 s of CPU (rotation/jigsaw heads
 * the cheapest, the 3-channel image heads the dearest), building the samples 0.4–5 ms per crop (segmentation's
 * superpixels the dearest) — about 27 CPU-minutes for the 13 tasks, ≈ 14 minutes on two threads. What the budget
 * buys (mean test loss on the 1,000 test crops, trained network vs the 3-epoch readouts of readout.ts):
 * edges 0.0178 (pixels 0.0275, random encoder 0.0500), denoising 0.0534 (0.1046, 0.1193), segmentation 0.0725
 * (0.1166, 0.1057), rotation 1.310 (chance log 4 = 1.386; pixels 2.50, random 1.40 — barely learnt in 500 steps).
 * Teacher tasks train on fewer crops (teacherJobs.ts), hence fewer steps, at the same epoch count.
 */
export const TRAIN_DEFAULTS: Readonly<TaskTrainSettings> = { seed: 0, epochs: 2, batchSize: 32, learningRate: 1e-3 };

const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };

export interface TrainProgress {
  task: string;
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  /** This batch's training loss. */
  loss: number;
}

export interface TaskTrainOptions extends Partial<TaskTrainSettings> {
  /** Checkpoints and the trained network go here; without it nothing is written. */
  dir?: string;
  /** Stop after this epoch (counted over the whole run), checkpointed and resumable (for tests and time slicing). */
  stopAfterEpoch?: number;
  onProgress?: (p: TrainProgress) => void;
}

export interface EpochLoss {
  epoch: number;
  /** Mean training loss over the epoch's batches. */
  loss: number;
  /** Wall seconds of the epoch's steps (without checkpointing). */
  seconds: number;
}

export interface TaskNetwork {
  task: string;
  resolution: number;
  encoder: TaskEncoder;
  decoder: TaskDecoder;
}

export interface TaskTrainResult extends TaskNetwork {
  settings: TaskTrainSettings;
  history: EpochLoss[];
  /** Trainable weights of the encoder (the shared architecture) and the decoder. */
  encoderWeights: number;
  decoderWeights: number;
  /** True when the run stopped early (stopAfterEpoch) and can be resumed. */
  stopped: boolean;
  /** True when `dir` already held the finished network (nothing was trained). */
  reused: boolean;
}

interface RunKey {
  task: string;
  resolution: number;
  n: number;
  /** sha256 of the inputs, targets and mask: resuming on other data is refused. */
  data: string;
  settings: TaskTrainSettings;
  /** The task's target version (tasks.ts targetVersion; absent in networks saved before it existed: 1). */
  targetVersion?: number;
}

interface Checkpoint {
  version: 1;
  key: RunKey;
  epoch: number;
  step: number;
  history: EpochLoss[];
  file: string;
  /** Shapes of the arrays in the weight file: the network's weights, then Adam's first and second moments. */
  shapes: number[][];
}

function dataHash(d: TaskData): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ n: d.n, targetShape: d.targetShape }));
  for (const a of [d.inputs, d.targets, d.mask]) if (a) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex').slice(0, 24);
}

function keyDiff(a: RunKey, b: RunKey): string[] {
  const out: string[] = [];
  const flat = (k: RunKey) => ({ task: k.task, targetVersion: k.targetVersion ?? 1, resolution: k.resolution, n: k.n, data: k.data, ...k.settings });
  const fa = flat(a);
  const fb = flat(b);
  for (const k of Object.keys(fa) as (keyof typeof fa)[]) if (fa[k] !== fb[k]) out.push(`${k}: saved ${String(fa[k])}, now ${String(fb[k])}`);
  return out;
}

function concatArrays(arrays: Float32Array[]): Uint8Array {
  const out = new Float32Array(arrays.reduce((s, a) => s + a.length, 0));
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return new Uint8Array(out.buffer);
}

function splitArrays(bytes: Uint8Array, shapes: number[][], what: string): Float32Array[] {
  const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
  const total = sizes.reduce((a, b) => a + b, 0);
  if (bytes.byteLength !== 4 * total) throw new Error(`${what}: ${bytes.byteLength} bytes, expected ${4 * total} (truncated or from another network)`);
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  let o = 0;
  return sizes.map((s) => {
    const a = all.subarray(o, o + s);
    o += s;
    return a;
  });
}

/** Adam with its state in plain variables (see the module comment); the readouts use it too. */
export class Adam {
  readonly m: tf.Variable[];
  readonly v: tf.Variable[];
  step = 0;

  constructor(
    private readonly params: tf.Variable[],
    private readonly lr: number,
  ) {
    this.m = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    this.v = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
  }

  apply(grads: tf.Tensor[]): void {
    this.step++;
    const c1 = 1 - ADAM.beta1 ** this.step;
    const c2 = 1 - ADAM.beta2 ** this.step;
    tf.tidy(() => {
      this.params.forEach((p, i) => {
        const m = tf.add(tf.mul(this.m[i], ADAM.beta1), tf.mul(grads[i], 1 - ADAM.beta1));
        const v = tf.add(tf.mul(this.v[i], ADAM.beta2), tf.mul(tf.square(grads[i]), 1 - ADAM.beta2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        p.assign(tf.sub(p, tf.mul(tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), ADAM.epsilon)), this.lr)));
      });
    });
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}

/** Rows idx of a row-major array with `per` values per row. */
export function rows(src: Float32Array, per: number, idx: ArrayLike<number>): Float32Array {
  const out = new Float32Array(idx.length * per);
  for (let i = 0; i < idx.length; i++) out.set(src.subarray(idx[i] * per, (idx[i] + 1) * per), i * per);
  return out;
}

function resolveTask(task: TaskDefinition | string): TaskDefinition {
  return typeof task === 'string' ? taskDefinition(task) : task;
}

function resolutionOf(data: TaskData): number {
  const r = Math.round(Math.sqrt(data.inputs.length / (3 * data.n)));
  if (r * r * 3 * data.n !== data.inputs.length) throw new Error(`task data: ${data.inputs.length} input values are not ${data.n} square RGB images`);
  return r;
}

function checkData(task: TaskDefinition, data: TaskData, resolution: number): void {
  const expected = task.targetShape(resolution);
  if (data.targetShape.join() !== expected.join())
    throw new Error(`task ${task.id}: targets of shape [${data.targetShape.join(', ')}] given, the task's are [${expected.join(', ')}] at ${resolution} px`);
  const per = expected.reduce((a, b) => a * b, 1);
  if (data.targets.length !== data.n * per)
    throw new Error(`task ${task.id}: ${data.n} samples need ${data.n * per} target values, got ${data.targets.length}`);
  if (task.loss === 'masked-l1' && data.mask?.length !== data.n * resolution * resolution)
    throw new Error(`task ${task.id}: a mask of ${data.n}×${resolution}×${resolution} values is needed`);
}

/** The network's weights (encoder then decoder) in checkpoint order. */
function networkVariables(net: TaskNetwork): tf.Variable[] {
  return [...net.encoder.variables, ...net.decoder.variables];
}

async function saveNetwork(dir: string, net: TaskNetwork, settings: TaskTrainSettings): Promise<void> {
  const vars = networkVariables(net);
  await writeFileAtomic(join(dir, 'network.bin'), concatArrays(vars.map((v) => v.dataSync() as Float32Array)));
  const meta = { version: 1, task: net.task, resolution: net.resolution, settings, shapes: vars.map((v) => v.shape) };
  await writeFileAtomic(join(dir, 'network.json'), JSON.stringify(meta) + '\n');
}

/** A trained network saved by trainTaskNetwork (network.json + network.bin in `dir`). */
export async function loadTaskNetwork(dir: string): Promise<TaskNetwork & { settings: TaskTrainSettings }> {
  await loadTf();
  const path = join(dir, 'network.json');
  let meta: { version: number; task: string; resolution: number; settings: TaskTrainSettings; shapes: number[][] };
  try {
    meta = JSON.parse(await readFile(path, 'utf8')) as typeof meta;
  } catch (e) {
    throw new Error(`${path}: no trained task network here (${(e as Error).message})`, { cause: e });
  }
  if (meta.version !== 1) throw new Error(`${path}: unsupported version ${meta.version}`);
  const task = taskDefinition(meta.task);
  const encoder = buildEncoder(meta.resolution, meta.settings.seed);
  const decoder = buildDecoder(task, featureShape(meta.resolution), meta.resolution, meta.settings.seed + 1);
  const net = { task: task.id, resolution: meta.resolution, encoder, decoder };
  const vars = networkVariables(net);
  const arrays = splitArrays(new Uint8Array(await readFile(join(dir, 'network.bin'))), meta.shapes, join(dir, 'network.bin'));
  if (arrays.length !== vars.length || vars.some((v, i) => v.shape.join() !== meta.shapes[i].join()))
    throw new Error(`${path}: its weights do not fit the ${task.id} network at ${meta.resolution} px`);
  vars.forEach((v, i) => v.assign(tf.tensor(arrays[i], v.shape)));
  return { ...net, settings: meta.settings };
}

async function readCheckpoint(dir: string): Promise<{ state: Checkpoint; arrays: Float32Array[] } | undefined> {
  const path = join(dir, 'checkpoint.json');
  if (!existsSync(path)) return undefined;
  let state: Checkpoint;
  try {
    state = JSON.parse(await readFile(path, 'utf8')) as Checkpoint;
  } catch (e) {
    throw new Error(`${path}: unreadable checkpoint (${(e as Error).message})`, { cause: e });
  }
  if (state.version !== 1) throw new Error(`${path}: unsupported checkpoint version ${state.version}`);
  const bytes = await readFile(join(dir, state.file)).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`${path}: its weight file ${state.file} is missing (${e.code ?? e.message})`);
  });
  return { state, arrays: splitArrays(new Uint8Array(bytes), state.shapes, join(dir, state.file)) };
}

async function writeCheckpoint(dir: string, state: Omit<Checkpoint, 'version' | 'file' | 'shapes'>, vars: tf.Variable[], adam: Adam): Promise<void> {
  const all = [...vars, ...adam.m, ...adam.v];
  const file = `checkpoint-${String(state.epoch).padStart(4, '0')}.bin`;
  await writeFileAtomic(join(dir, file), concatArrays(all.map((v) => v.dataSync() as Float32Array)));
  const full: Checkpoint = { version: 1, ...state, file, shapes: all.map((v) => v.shape) };
  await writeFileAtomic(join(dir, 'checkpoint.json'), JSON.stringify(full) + '\n');
  for (const f of await readdir(dir)) if (/^checkpoint-\d+\.bin$/.test(f) && f !== file) await unlink(join(dir, f)).catch(() => undefined);
}

/**
 * Train the task network of `task` on `data` (taskData of the train part). With `dir`, a checkpoint is written after
 * every epoch and the run resumes from it; a finished `dir` with the same settings and data is loaded, not retrained.
 */
export async function trainTaskNetwork(taskOrId: TaskDefinition | string, data: TaskData, opts: TaskTrainOptions = {}): Promise<TaskTrainResult> {
  await loadTf();
  const task = resolveTask(taskOrId);
  const resolution = resolutionOf(data);
  checkData(task, data, resolution);
  const settings: TaskTrainSettings = {
    seed: opts.seed ?? TRAIN_DEFAULTS.seed,
    epochs: opts.epochs ?? TRAIN_DEFAULTS.epochs,
    batchSize: opts.batchSize ?? TRAIN_DEFAULTS.batchSize,
    learningRate: opts.learningRate ?? TRAIN_DEFAULTS.learningRate,
  };
  if (!Number.isInteger(settings.epochs) || settings.epochs < 1) throw new Error(`epochs must be a positive integer, got ${settings.epochs}`);
  if (!Number.isInteger(settings.batchSize) || settings.batchSize < 1) throw new Error(`batch size must be a positive integer, got ${settings.batchSize}`);
  if (!(settings.learningRate > 0)) throw new Error(`learning rate must be positive, got ${settings.learningRate}`);
  if (!Number.isInteger(settings.seed) || settings.seed < 0) throw new Error(`seed must be a non-negative integer, got ${settings.seed}`);
  const key: RunKey = { task: task.id, resolution, n: data.n, data: dataHash(data), settings, targetVersion: targetVersion(task) };

  const dir = opts.dir;
  if (dir && existsSync(join(dir, 'result.json')) && existsSync(join(dir, 'network.json'))) {
    const prev = JSON.parse(await readFile(join(dir, 'result.json'), 'utf8')) as { key: RunKey; history: EpochLoss[] };
    const diff = keyDiff(prev.key, key);
    if (diff.length > 0) throw new Error(`${dir} holds a ${prev.key.task} network trained with other settings or data:\n  ${diff.join('\n  ')}`);
    const net = await loadTaskNetwork(dir);
    return {
      ...net,
      settings,
      history: prev.history,
      encoderWeights: weightCount(net.encoder),
      decoderWeights: weightCount(net.decoder),
      stopped: false,
      reused: true,
    };
  }

  const encoder = buildEncoder(resolution, settings.seed);
  const decoder = buildDecoder(task, featureShape(resolution), resolution, settings.seed + 1);
  const net: TaskNetwork = { task: task.id, resolution, encoder, decoder };
  const vars = networkVariables(net);
  const adam = new Adam(vars, settings.learningRate);
  let history: EpochLoss[] = [];
  let startEpoch = 0;
  const ck = dir ? await readCheckpoint(dir) : undefined;
  if (ck) {
    const diff = keyDiff(ck.state.key, key);
    if (diff.length > 0) {
      encoder.dispose();
      decoder.dispose();
      adam.dispose();
      throw new Error(`cannot resume ${dir}: its checkpoint was made with other settings or data:\n  ${diff.join('\n  ')}`);
    }
    const all = [...vars, ...adam.m, ...adam.v];
    all.forEach((v, i) => v.assign(tf.tensor(ck.arrays[i], v.shape)));
    adam.step = ck.state.step;
    history = ck.state.history;
    startEpoch = ck.state.epoch;
  }

  const batch = Math.min(settings.batchSize, data.n);
  const steps = Math.max(1, Math.floor(data.n / batch));
  const perInput = resolution * resolution * 3;
  const perTarget = data.targetShape.reduce((a, b) => a * b, 1);
  const lastEpoch = Math.min(settings.epochs, opts.stopAfterEpoch ?? settings.epochs);
  try {
    for (let epoch = startEpoch; epoch < lastEpoch; epoch++) {
      const order = permutation(data.n, (Math.imul(settings.seed, 1000003) + epoch) >>> 0);
      const t0 = performance.now();
      let sum = 0;
      for (let s = 0; s < steps; s++) {
        const idx = order.subarray(s * batch, (s + 1) * batch);
        const xs = rows(data.inputs, perInput, idx);
        const x = tf.tensor4d(xs, [batch, resolution, resolution, 3]);
        const patches = tf.tensor2d(firstLayerPatches(xs, batch, resolution), [27, batch * resolution * resolution]);
        const t = tf.tensor(rows(data.targets, perTarget, idx), [batch, ...data.targetShape]);
        const m = data.mask ? tf.tensor4d(rows(data.mask, resolution * resolution, idx), [batch, resolution, resolution, 1]) : undefined;
        const { value, grads } = tf.variableGrads(
          () => tf.mean(perImageLossTensor(task.loss, decoder.apply(encoder.apply(x, patches)), t, m)) as tf.Scalar,
          vars,
        );
        adam.apply(vars.map((v) => grads[v.name]));
        const loss = (await value.data())[0];
        tf.dispose([x, patches, t, m, value, ...Object.values(grads)]);
        if (!Number.isFinite(loss)) throw new Error(`task ${task.id}: training diverged at epoch ${epoch + 1}, step ${s + 1} (loss ${loss})`);
        sum += loss;
        opts.onProgress?.({ task: task.id, epoch: epoch + 1, epochs: settings.epochs, step: s + 1, steps, loss });
      }
      history.push({ epoch: epoch + 1, loss: sum / steps, seconds: (performance.now() - t0) / 1000 });
      if (dir) await writeCheckpoint(dir, { key, epoch: epoch + 1, step: adam.step, history }, vars, adam);
    }
  } catch (e) {
    encoder.dispose();
    decoder.dispose();
    throw e;
  } finally {
    adam.dispose();
  }
  const done = (history.at(-1)?.epoch ?? 0) >= settings.epochs;
  if (dir && done) {
    await saveEncoder(encoder, join(dir, 'encoder'), { task: task.id, seed: settings.seed, epochs: settings.epochs });
    await saveNetwork(dir, net, settings);
    await writeFileAtomic(
      join(dir, 'result.json'),
      JSON.stringify({ key, history, encoderWeights: weightCount(encoder), decoderWeights: weightCount(decoder) }, null, 2) + '\n',
    );
  }
  return { ...net, settings, history, encoderWeights: weightCount(encoder), decoderWeights: weightCount(decoder), stopped: !done, reused: false };
}

/** Anything that maps images [B, R, R, 3] to features: the trainable encoder or its exported / loaded layers model. */
export type FeatureEncoder = TaskEncoder | tf.LayersModel;

function runEncoder(encoder: FeatureEncoder, x: tf.Tensor4D): tf.Tensor {
  return encoder instanceof TaskEncoder ? encoder.apply(x) : (encoder.predict(x, { batchSize: x.shape[0] }) as tf.Tensor);
}

/** Features of n images (n × R × R × 3 in [0, 1]) in batches: n × (R/8)·(R/8)·64 float32, NHWC-flattened per image. */
export async function encodeFeatures(encoder: FeatureEncoder, inputs: Float32Array, n: number, batchSize = 64): Promise<Float32Array> {
  await loadTf();
  const per = inputs.length / n;
  const r = Math.round(Math.sqrt(per / 3));
  if (!Number.isInteger(n) || n < 1 || r * r * 3 !== per) throw new Error(`encodeFeatures: ${inputs.length} values are not ${n} square RGB images`);
  let out: Float32Array | undefined;
  for (let start = 0; start < n; start += batchSize) {
    const b = Math.min(batchSize, n - start);
    const f = tf.tidy(() => runEncoder(encoder, tf.tensor4d(inputs.subarray(start * per, (start + b) * per), [b, r, r, 3])));
    const values = (await f.data()) as Float32Array;
    f.dispose();
    out ??= new Float32Array((n * values.length) / b);
    out.set(values, (start * values.length) / b);
  }
  return out!;
}

/** The network's pre-activation outputs on n samples (n × ∏ decoder.outputShape), in batches. */
export async function predictTask(net: TaskNetwork, inputs: Float32Array, n: number, batchSize = 64): Promise<Float32Array> {
  await loadTf();
  const r = net.resolution;
  const per = r * r * 3;
  if (inputs.length !== n * per) throw new Error(`predictTask: ${n} images of ${r}×${r}×3 need ${n * per} values, got ${inputs.length}`);
  const outPer = net.decoder.outputShape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n * outPer);
  for (let start = 0; start < n; start += batchSize) {
    const b = Math.min(batchSize, n - start);
    const y = tf.tidy(() => net.decoder.apply(net.encoder.apply(tf.tensor4d(inputs.subarray(start * per, (start + b) * per), [b, r, r, 3]))));
    out.set((await y.data()) as Float32Array, start * outPer);
    y.dispose();
  }
  return out;
}

/** Per-image test losses (float64) of the trained network on `data` (taskData of the test part): Taskonomy's `self`. */
export async function selfLosses(net: TaskNetwork, data: TaskData): Promise<Float64Array> {
  const task = taskDefinition(net.task);
  checkData(task, data, net.resolution);
  const pred = await predictTask(net, data.inputs, data.n);
  return perImageLosses(task.loss, pred, data.targets, data.mask, data.n, data.targetShape);
}

/** Free a network's weights. */
export function disposeTaskNetwork(net: TaskNetwork): void {
  net.encoder.dispose();
  net.decoder.dispose();
}
