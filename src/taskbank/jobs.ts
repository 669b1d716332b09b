/**
 * The bank's heavy work as jobs that run in worker threads, one TF.js WASM backend per thread (the backend is
 * single-threaded in Node, so N threads keep N cores busy; the NSL benchmark's pattern, nsl/bench.ts):
 *   train    one task network on the train part (train.ts), saved to `dir` (checkpointed, resumable)
 *   readout  the transfer source → task: a fresh decoder on the source's frozen features of the task's transfer
 *            crops, per-image losses on its test crops (readout.ts), written to `out` (JSON)
 *   self     the trained network's own per-image test losses (Taskonomy's `self`), written to `out`
 *   probe    a source's features on the probe crops, written to `out` (.npy, float32 n × 4096)
 *   label-score  a label-based transferability score (LogME, …) of a source's frozen features of `labelled` of the
 *            task's transfer crops against the task's labels there (labelTargets.ts), or a similarity measure (CKA, …)
 *            between those features and the labels as a representation, written to `out` (JSON)
 * A source is a trained network (`sourceDir`, whose exported encoder is read), `pixels` (the task input
 * space-to-depth, readout.ts pixelFeatures) or `random` (the encoder at its initialisation from `randomSeed`).
 *
 * Jobs carry paths, not arrays: a worker reads the crop pool's .npy parts and the teachers' cached targets itself
 * (teacherJobs.ts wrote them chunk by chunk; the same chunks are read back, so no teacher runs here unless its cache
 * is gone). Each thread keeps what consecutive jobs share: the crop parts, the samples of the last two targets, the
 * encoders, and each source's features of the plain crops (seven of the thirteen targets read the crop itself).
 * Sources are dealt to the threads, so a source's features are computed by one thread only, and each thread runs
 * its jobs in the given order — target by target, when the caller lists them so — building a target's samples once.
 *
 * A finished job's output (result.json of a network, a readout's JSON, a probe .npy) is reused without starting
 * a worker, so an interrupted stage resumes where it stopped. Each output records the target versions of the tasks
 * it depends on (targetVersions: the trained task; a readout's target and task source; a probe's task source) and is
 * reused only while they are current, so a task whose target definition changed (tasks.ts targetVersion) is retrained
 * and every readout and probe involving it redone, while the other tasks' outputs stay. Outputs written before
 * versions were recorded count as version 1.
 */
import { existsSync } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '../io/atomic.js';
import { readNpy, writeNpy } from '../io/npy.js';
import { loadTf } from '../models/tfjs.js';
import { loadModel } from '../nsl/io.js';
import { runOnWorkers } from '../workers/jobPool.js';
import { startSiblingWorker } from '../workers/startWorker.js';
import { computeScore } from '../transferability/index.js';
import { pairSimilarity } from '../measures/similarity.js';
import { isScoreId } from '../taxonomy/scoreColumns.js';
import {
  featureRepresentation,
  hasLabelScore,
  LABEL_TARGETS_VERSION,
  labelledIndices,
  labelRepresentation,
  labelScoreInput,
  subsetSamples,
} from './labelTargets.js';
import { buildEncoder, featureShape, type TaskEncoder } from './network.js';
import type { PoolSplit } from './pool.js';
import { pixelFeatures, pixelFeatureShape, READOUT_DEFAULTS, trainReadout, type ReadoutSettings } from './readout.js';
import { TEACHER_CHUNK } from './teacherJobs.js';
import { teacherTargets } from './teachers.js';
import { taskBatch, taskData, type TaskData } from './taskData.js';
import { TASKS, targetVersion, taskDefinition, type TaskDefinition } from './tasks.js';
import {
  disposeTaskNetwork,
  encodeFeatures,
  loadTaskNetwork,
  selfLosses,
  TRAIN_DEFAULTS,
  trainTaskNetwork,
  type EpochLoss,
  type TaskTrainSettings,
  type TrainProgress,
} from './train.js';

export type BankJobKind = 'train' | 'readout' | 'self' | 'probe' | 'label-score';

export interface BankJob {
  kind: BankJobKind;
  /** The task trained (train), read out (readout) or scored (self); for probe jobs, a label (the source). */
  task: string;
  /** readout, probe: a task id (its network in sourceDir), `pixels` or `random`. */
  source?: string;
  /** The trained network's folder (train.ts layout) of a task source; self jobs read it too. */
  sourceDir?: string;
  /** Seed of the `random` source's encoder. */
  randomSeed?: number;
  /** train: the network's folder. */
  dir?: string;
  /** readout, self: the losses' JSON file; probe: the features' .npy file. */
  out?: string;
  /** train: TaskTrainSettings; readout: ReadoutSettings (the same four fields). */
  settings?: Partial<TaskTrainSettings>;
  /** The crop pool's folder (its <part>.npy files). */
  poolDir: string;
  resolution: number;
  /** The teachers' target cache (teacherJobs.ts). */
  teacherDir: string;
  /** Training crops of the teacher tasks (the first this many of the train part). */
  teacherTrainCrops: number;
  /** Seed of the seeded task builders (noise, holes, turns, permutations); default 0. */
  dataSeed?: number;
  /**
   * label-score: the score's id — a transferability score (transferability/) or a similarity measure (measures/) — and
   * how many transfer crops are labelled (spread evenly).
   */
  labelScore?: { score: string; labelled: number };
}

export interface BankJobResult {
  job: BankJob;
  /** train: the loss per epoch. */
  history?: EpochLoss[];
  encoderWeights?: number;
  decoderWeights?: number;
  /** readout, self: per test image. */
  losses?: Float64Array;
  /** readout: the mean training loss of its last epoch; the scalar its features were divided by. */
  trainLoss?: number;
  featureScale?: number;
  /** probe: n × feature values. */
  features?: Float32Array;
  /** label-score: the score (larger = the source predicted to transfer better) or the measure's value (a distance: the evaluation turns it around). */
  value?: number;
  /** Wall seconds in the worker (0 when reused). */
  seconds: number;
  /** The output existed and was read back, nothing computed. */
  cached: boolean;
}

export function describeJob(job: BankJob): string {
  switch (job.kind) {
    case 'train':
      return `train ${job.task}`;
    case 'readout':
      return `readout ${job.source ?? '?'} → ${job.task}`;
    case 'self':
      return `self ${job.task}`;
    case 'probe':
      return `probe features of ${job.source ?? job.task}`;
    case 'label-score':
      return `${job.labelScore?.score ?? 'label score'} ${job.source ?? '?'} → ${job.task}`;
  }
}

/** The target tasks whose input is the crop itself: their transfers share a source's features. */
const PLAIN_INPUT_TASKS = new Set(['autoencoding', 'edges', 'keypoints', 'segmentation']);

function inputKey(task: TaskDefinition): string {
  return task.kind === 'teacher' || PLAIN_INPUT_TASKS.has(task.id) ? 'crop' : task.id;
}

// ---------------------------------------------------------------------------------------------------------------
// Per-thread caches

const parts = new Map<string, Uint8Array>();
const encoders = new Map<string, TaskEncoder | tf.LayersModel>();
const samples: { key: string; data: TaskData }[] = [];
const features: { key: string; data: Float32Array }[] = [];
/** Targets' samples kept (transfer + test of the two latest targets). */
const SAMPLE_CACHE = 4;
/** Source features on the plain crops kept (two parts × the sources a thread owns, with room to spare). */
const FEATURE_CACHE = 48;

function remember<T>(list: { key: string; data: T }[], key: string, data: T, size: number): T {
  list.push({ key, data });
  if (list.length > size) list.shift();
  return data;
}

async function cropPart(job: BankJob, part: PoolSplit): Promise<Uint8Array> {
  const file = join(job.poolDir, `${part}.npy`);
  let crops = parts.get(file);
  if (!crops) {
    const arr = readNpy(await readFile(file), file);
    const r = job.resolution;
    if (arr.dtype !== 'uint8' || arr.shape.length !== 4 || arr.shape[1] !== r || arr.shape[2] !== r || arr.shape[3] !== 3)
      throw new Error(`${file}: expected uint8 crops n × ${r} × ${r} × 3, got ${arr.dtype} [${arr.shape.join(', ')}]`);
    crops = arr.data as Uint8Array;
    parts.set(file, crops);
  }
  return crops;
}

/** The crops a task uses of a part: teacher tasks train on the first teacherTrainCrops only. */
async function partCrops(job: BankJob, task: TaskDefinition, part: PoolSplit): Promise<Uint8Array> {
  const all = await cropPart(job, part);
  const per = job.resolution * job.resolution * 3;
  if (task.kind !== 'teacher' || part !== 'train') return all;
  return all.subarray(0, Math.min(job.teacherTrainCrops, all.length / per) * per);
}

/** A teacher task's targets on crops, read back chunk by chunk from the teachers' cache (teacherJobs.ts). */
async function teacherPart(job: BankJob, task: TaskDefinition, crops: Uint8Array): Promise<Float32Array> {
  const r = job.resolution;
  const per = r * r * 3;
  const n = crops.length / per;
  const tsize = task.targetShape(r).reduce((a, b) => a * b, 1);
  const out = new Float32Array(n * tsize);
  for (let s = 0; s < n; s += TEACHER_CHUNK) {
    const e = Math.min(n, s + TEACHER_CHUNK);
    const t = await teacherTargets(task.id, crops.subarray(s * per, e * per), r, { cacheDir: job.teacherDir });
    out.set(t.targets, s * tsize);
  }
  return out;
}

async function samplesOf(job: BankJob, task: TaskDefinition, part: PoolSplit): Promise<TaskData> {
  const key = `${job.poolDir}|${part}|${task.id}|${job.dataSeed ?? 0}|${job.teacherTrainCrops}`;
  const hit = samples.find((s) => s.key === key);
  if (hit) return hit.data;
  const crops = await partCrops(job, task, part);
  const teacher = task.kind === 'teacher' ? await teacherPart(job, task, crops) : undefined;
  const data = taskData(task, crops, undefined, job.resolution, job.dataSeed ?? 0, teacher);
  return part === 'train' ? data : remember(samples, key, data, SAMPLE_CACHE);
}

async function encoderOf(job: BankJob): Promise<TaskEncoder | tf.LayersModel> {
  const source = job.source!;
  const key = source === 'random' ? `random|${job.randomSeed ?? 0}|${job.resolution}` : `${job.sourceDir}`;
  let enc = encoders.get(key);
  if (!enc) {
    if (source === 'random') enc = buildEncoder(job.resolution, job.randomSeed ?? 0);
    else {
      if (!job.sourceDir) throw new Error(`source ${source} needs the folder of its trained network (sourceDir)`);
      enc = await loadModel(join(job.sourceDir, 'encoder'));
    }
    encoders.set(key, enc);
  }
  return enc;
}

/** A source's features of a task's inputs on a part, and their [h, w, c]. */
async function sourceFeatures(job: BankJob, task: TaskDefinition, part: PoolSplit, data: TaskData): Promise<{ data: Float32Array; shape: number[] }> {
  const r = job.resolution;
  if (job.source === 'pixels') return { data: pixelFeatures(data.inputs, data.n, r), shape: pixelFeatureShape(r) };
  // Only features of the plain crops are kept: a changed input (noise, a hole, a turn…) belongs to one target.
  const shared = inputKey(task) === 'crop';
  const key = `${job.source}|${job.sourceDir ?? job.randomSeed}|${job.poolDir}|${part}|${job.dataSeed ?? 0}|${data.n}`;
  const hit = shared ? features.find((f) => f.key === key) : undefined;
  if (hit) return { data: hit.data, shape: featureShape(r) };
  const f = await encodeFeatures(await encoderOf(job), data.inputs, data.n);
  return { data: shared ? remember(features, key, f, FEATURE_CACHE) : f, shape: featureShape(r) };
}

// ---------------------------------------------------------------------------------------------------------------
// Running one job

/**
 * The target versions a job's output depends on, by task id: the task trained, read out or scored, and a task
 * source's (its encoder was trained on that task's target). Baselines (`pixels`, `random`) have none.
 */
export function targetVersions(job: BankJob): Record<string, number> {
  const out: Record<string, number> = {};
  if (job.kind !== 'probe') out[job.task] = targetVersion(job.task);
  if (job.source !== undefined && TASKS.some((t) => t.id === job.source)) out[job.source] = targetVersion(job.source);
  return out;
}

/** Whether saved versions (absent: all 1) are the job's current ones. */
function versionsCurrent(job: BankJob, saved: Record<string, number> | undefined): boolean {
  return Object.entries(targetVersions(job)).every(([id, v]) => (saved?.[id] ?? 1) === v);
}

/** Where a probe job records the versions its .npy was computed with: beside it, `<out>.json`. */
function probeMeta(out: string): string {
  return `${out}.json`;
}

/** A train job's folder holding a finished or partial network of an older target goes to `<dir>.target-v<old>`. */
async function retireOlderTarget(job: BankJob, dir: string): Promise<void> {
  for (const file of ['result.json', 'checkpoint.json']) {
    const path = join(dir, file);
    if (!existsSync(path)) continue;
    const saved = JSON.parse(await readFile(path, 'utf8')) as { key?: { task?: string; targetVersion?: number } };
    const old = saved.key?.targetVersion ?? 1;
    if (saved.key?.task !== job.task || old === targetVersion(job.task)) return;
    const aside = `${dir}.target-v${old}`;
    await rm(aside, { recursive: true, force: true });
    await rename(dir, aside);
    return;
  }
}

function readoutSettings(job: BankJob): ReadoutSettings {
  return { ...READOUT_DEFAULTS, ...job.settings };
}

/** A finished job's JSON record at `job.out` (none without one): its task and source first, written atomically. */
async function writeRecord(job: BankJob, source: string, fields: Record<string, unknown>): Promise<void> {
  if (job.out) await writeFileAtomic(job.out, JSON.stringify({ task: job.task, source, ...fields }) + '\n');
}

/** The saved output of a finished job, or undefined. Cheap: runs in the calling thread before any worker starts. */
export async function reusedResult(job: BankJob): Promise<BankJobResult | undefined> {
  try {
    if (job.kind === 'train') {
      if (!job.dir || !existsSync(join(job.dir, 'network.json'))) return undefined;
      const r = JSON.parse(await readFile(join(job.dir, 'result.json'), 'utf8')) as {
        key: { task: string; resolution: number; settings: TaskTrainSettings; targetVersion?: number };
        history: EpochLoss[];
        encoderWeights: number;
        decoderWeights: number;
      };
      const want = { ...TRAIN_DEFAULTS, ...job.settings };
      if (r.key.task !== job.task || r.key.resolution !== job.resolution || JSON.stringify(r.key.settings) !== JSON.stringify(want)) return undefined;
      if (!versionsCurrent(job, { [job.task]: r.key.targetVersion ?? 1 })) return undefined;
      return { job, history: r.history, encoderWeights: r.encoderWeights, decoderWeights: r.decoderWeights, seconds: 0, cached: true };
    }
    if (!job.out || !existsSync(job.out)) return undefined;
    if (job.kind === 'probe') {
      const meta = existsSync(probeMeta(job.out))
        ? (JSON.parse(await readFile(probeMeta(job.out), 'utf8')) as { targetVersions?: Record<string, number> })
        : {};
      if (!versionsCurrent(job, meta.targetVersions)) return undefined;
      const arr = readNpy(await readFile(job.out), job.out);
      return arr.dtype === 'float32' ? { job, features: arr.data as Float32Array, seconds: 0, cached: true } : undefined;
    }
    if (job.kind === 'label-score') {
      const saved = JSON.parse(await readFile(job.out, 'utf8')) as {
        labelScore?: unknown;
        labelTargets?: number;
        value?: unknown;
        targetVersions?: Record<string, number>;
      };
      if (JSON.stringify(saved.labelScore) !== JSON.stringify(job.labelScore) || saved.labelTargets !== LABEL_TARGETS_VERSION) return undefined;
      if (typeof saved.value !== 'number') return undefined;
      if (!versionsCurrent(job, saved.targetVersions)) return undefined;
      return { job, value: saved.value, seconds: 0, cached: true };
    }
    const saved = JSON.parse(await readFile(job.out, 'utf8')) as {
      settings?: ReadoutSettings;
      losses: number[];
      trainLoss?: number;
      featureScale?: number;
      targetVersions?: Record<string, number>;
    };
    if (job.kind === 'readout' && JSON.stringify(saved.settings) !== JSON.stringify(readoutSettings(job))) return undefined;
    if (!versionsCurrent(job, saved.targetVersions)) return undefined;
    return { job, losses: Float64Array.from(saved.losses), trainLoss: saved.trainLoss, featureScale: saved.featureScale, seconds: 0, cached: true };
  } catch {
    return undefined;
  }
}

/** Run one job in this thread (the workers call this). */
export async function runBankJob(job: BankJob, onProgress?: (p: TrainProgress) => void): Promise<BankJobResult> {
  // The WASM backend before any tensor exists: a model loaded or an encoder built first would start TF.js's CPU
  // backend (and its "install tfjs-node" banner) and leave its weights there.
  await loadTf();
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  const task = job.kind === 'probe' ? undefined : taskDefinition(job.task);
  switch (job.kind) {
    case 'train': {
      if (!job.dir) throw new Error('a train job needs its network folder (dir)');
      await retireOlderTarget(job, job.dir);
      const data = await samplesOf(job, task!, 'train');
      const r = await trainTaskNetwork(task!, data, { ...job.settings, dir: job.dir, onProgress });
      disposeTaskNetwork(r);
      return { job, history: r.history, encoderWeights: r.encoderWeights, decoderWeights: r.decoderWeights, seconds: seconds(), cached: r.reused };
    }
    case 'readout': {
      if (!job.source) throw new Error('a readout job needs its source');
      const settings = readoutSettings(job);
      const train = await samplesOf(job, task!, 'transfer');
      const test = await samplesOf(job, task!, 'test');
      const ftrain = await sourceFeatures(job, task!, 'transfer', train);
      const ftest = await sourceFeatures(job, task!, 'test', test);
      const r = await trainReadout(
        task!,
        ftrain.shape,
        job.resolution,
        { features: ftrain.data, targets: train.targets, mask: train.mask },
        { features: ftest.data, targets: test.targets, mask: test.mask },
        settings,
      );
      await writeRecord(job, job.source, {
        settings,
        targetVersions: targetVersions(job),
        trainLoss: r.trainLoss,
        featureScale: r.featureScale,
        seconds: r.seconds,
        losses: Array.from(r.testLosses),
      });
      return { job, losses: r.testLosses, trainLoss: r.trainLoss, featureScale: r.featureScale, seconds: seconds(), cached: false };
    }
    case 'self': {
      if (!job.sourceDir) throw new Error('a self job needs the folder of the trained network (sourceDir)');
      const net = await loadTaskNetwork(job.sourceDir);
      if (net.task !== job.task) throw new Error(`${job.sourceDir} holds the ${net.task} network, not ${job.task}'s`);
      try {
        const losses = await selfLosses(net, await samplesOf(job, task!, 'test'));
        await writeRecord(job, 'self', { targetVersions: targetVersions(job), losses: Array.from(losses) });
        return { job, losses, seconds: seconds(), cached: false };
      } finally {
        disposeTaskNetwork(net);
      }
    }
    case 'label-score': {
      if (!job.source || !job.labelScore) throw new Error('a label-score job needs its source and labelScore');
      if (!hasLabelScore(task!)) throw new Error(`task ${job.task} has no labels a score can read (its loss is ${task!.loss})`);
      const all = await samplesOf(job, task!, 'transfer');
      const data = subsetSamples(all, labelledIndices(all.n, job.labelScore.labelled), job.resolution);
      const f = await sourceFeatures(job, task!, 'transfer', data);
      const value = isScoreId(job.labelScore.score)
        ? (await computeScore(job.labelScore.score, { ...labelScoreInput(task!, data, f.data, f.shape, job.resolution)!, name: job.source })).value
        : await pairSimilarity(
            featureRepresentation(job.source, f.data, f.shape, data.n),
            labelRepresentation(task!, data, job.resolution)!,
            job.labelScore.score,
          );
      await writeRecord(job, job.source, { labelScore: job.labelScore, labelTargets: LABEL_TARGETS_VERSION, targetVersions: targetVersions(job), value });
      return { job, value, seconds: seconds(), cached: false };
    }
    case 'probe': {
      if (!job.source) throw new Error('a probe job needs its source');
      const crops = await cropPart(job, 'probe');
      const n = crops.length / (job.resolution * job.resolution * 3);
      const inputs = taskBatch(
        'autoencoding',
        crops,
        job.resolution,
        0,
        Array.from({ length: n }, (_, i) => i),
      ).inputs;
      const f = job.source === 'pixels' ? pixelFeatures(inputs, n, job.resolution) : await encodeFeatures(await encoderOf(job), inputs, n);
      if (job.out) {
        // The features first: a crash between the two leaves new features under old versions (recomputed), never the
        // reverse (stale features under current versions, reused).
        await writeFileAtomic(job.out, writeNpy({ dtype: 'float32', shape: [n, f.length / n], data: f }));
        await writeFileAtomic(probeMeta(job.out), JSON.stringify({ source: job.source, targetVersions: targetVersions(job) }) + '\n');
      }
      return { job, features: f, seconds: seconds(), cached: false };
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Running many

export interface BankJobOptions {
  /** Worker threads (default 2; 0 runs every job in this thread). */
  workers?: number;
  /** After each job, finished or reused (done counts both). */
  onResult?: (job: BankJob, done: number, total: number, result: BankJobResult) => void;
  /** Training steps of train jobs. */
  onProgress?: (job: BankJob, p: TrainProgress) => void;
}

/** Readouts, probes and label scores of one source share a thread's cached features; other jobs have no affinity. */
function affinity(job: BankJob): string | undefined {
  return job.kind === 'readout' || job.kind === 'probe' || job.kind === 'label-score' ? `${job.source}|${job.sourceDir ?? job.randomSeed ?? ''}` : undefined;
}

/**
 * Run the jobs (finished ones are read back), `workers` at a time, and return their results in the jobs' order.
 * The first failure stops the handing out of jobs and is thrown, naming the job.
 */
export async function runBankJobs(jobs: readonly BankJob[], opts: BankJobOptions = {}): Promise<BankJobResult[]> {
  const results: (BankJobResult | undefined)[] = new Array(jobs.length);
  let done = 0;
  const finish = (i: number, r: BankJobResult) => {
    results[i] = r;
    opts.onResult?.(jobs[i], ++done, jobs.length, r);
  };
  const pending: number[] = [];
  for (const [i, job] of jobs.entries()) {
    const reused = await reusedResult(job);
    if (reused) finish(i, reused);
    else pending.push(i);
  }
  const workers = Math.max(0, Math.min(opts.workers ?? 2, pending.length));
  if (workers === 0) {
    for (const i of pending) {
      const r = await runBankJob(jobs[i], (p) => opts.onProgress?.(jobs[i], p)).catch((e: unknown) => {
        throw new Error(`${describeJob(jobs[i])}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
      });
      finish(i, r);
    }
    return results as BankJobResult[];
  }
  // Sources are dealt to the threads round-robin in order of first appearance; a thread runs its own sources' jobs
  // in the given order (target by target, so its cached samples and features are reused), then jobs without a
  // source, then takes over the last jobs of the other threads.
  const owner = new Map<string, number>();
  for (const i of pending) {
    const a = affinity(jobs[i]);
    if (a !== undefined && !owner.has(a)) owner.set(a, owner.size % workers);
  }
  const take = (w: number): number | undefined => {
    if (pending.length === 0) return undefined;
    let k = pending.findIndex((i) => owner.get(affinity(jobs[i]) ?? '') === w);
    if (k < 0) k = pending.findIndex((i) => affinity(jobs[i]) === undefined);
    if (k < 0) k = pending.length - 1;
    return pending.splice(k, 1)[0];
  };
  await runOnWorkers<BankJob, BankJobResult, TrainProgress>(jobs, {
    threads: workers,
    start: () => startSiblingWorker(import.meta.url, 'jobWorker', 'task bank'),
    take,
    describe: (i) => describeJob(jobs[i]),
    onProgress: (i, p) => opts.onProgress?.(jobs[i], p),
    // Structured cloning drops the job object's identity: put the caller's back.
    onResult: (i, r) => finish(i, { ...r, job: jobs[i] }),
  });
  return results as BankJobResult[];
}
