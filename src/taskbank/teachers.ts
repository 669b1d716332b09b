/**
 * Semantic targets distilled from zoo networks: each teacher runs on the bank's crops (resized to its input the way
 * its model card says, as extraction does), and its outputs become a target map or distribution (tasks.ts
 * TEACHER_TASKS). Outputs are found by shape, not by tensor name, so a re-export with renamed heads still works.
 *
 * Targets are cached as float32 .npy files keyed by the teacher's fingerprint, the task's post-processing version,
 * the crop side and the crop bytes: a second call on the same crops reads the file and loads no model.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeResized, makeBatch } from '../images/preprocess.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readNpy, writeNpy } from '../io/npy.js';
import { loadModelFile } from '../models/load.js';
import { resolveModel } from '../models/resolve.js';
import type { TapValue } from '../models/types.js';
import { resizeArea } from './pixels.js';
import { taskDefinition, type TeacherTask } from './tasks.js';

/** Bump when a post-processing below changes, so cached targets are recomputed. */
const TEACHER_VERSION = 1;

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** BlazeFace's anchor grids at a 256-px input: 16×16 cells × 2 anchors (stride 16) and 8×8 cells × 6 anchors (stride 32). */
export const BLAZEFACE_GRIDS = { fine: { side: 16, anchors: 2 }, coarse: { side: 8, anchors: 6 } } as const;

/**
 * The face heat-map of one image from BlazeFace's two score tensors (logits, anchors in MediaPipe's order: row,
 * column, anchor): per 16×16 cell, the larger of its own anchors' probabilities and those of the 8×8 cell that
 * covers it. 256 values, row-major.
 */
export function faceHeatmap(fine: ArrayLike<number>, coarse: ArrayLike<number>): Float32Array {
  const { fine: f, coarse: c } = BLAZEFACE_GRIDS;
  if (fine.length !== f.side * f.side * f.anchors || coarse.length !== c.side * c.side * c.anchors)
    throw new Error(
      `faceHeatmap: expected ${f.side * f.side * f.anchors} and ${c.side * c.side * c.anchors} anchor scores, got ${fine.length} and ${coarse.length}`,
    );
  const out = new Float32Array(f.side * f.side);
  const ratio = f.side / c.side;
  for (let y = 0; y < f.side; y++)
    for (let x = 0; x < f.side; x++) {
      let best = 0;
      for (let a = 0; a < f.anchors; a++) best = Math.max(best, sigmoid(fine[(y * f.side + x) * f.anchors + a]));
      const cell = Math.floor(y / ratio) * c.side + Math.floor(x / ratio);
      for (let a = 0; a < c.anchors; a++) best = Math.max(best, sigmoid(coarse[cell * c.anchors + a]));
      out[y * f.side + x] = best;
    }
  return out;
}

/** A class distribution from a classifier's output: kept when it already is one (softmax head), else softmax. */
export function classDistribution(v: ArrayLike<number>): Float32Array {
  const a = Array.from(v);
  if (!a.every(Number.isFinite)) throw new Error('classDistribution: the teacher output has non-finite values');
  const sum = a.reduce((s, x) => s + x, 0);
  if (a.every((x) => x >= 0) && Math.abs(sum - 1) < 1e-3) return Float32Array.from(a, (x) => x / sum);
  const m = Math.max(...a);
  const e = a.map((x) => Math.exp(x - m));
  const z = e.reduce((s, x) => s + x, 0);
  return Float32Array.from(e, (x) => x / z);
}

/** The output tensor of the given per-image shape, or a clear error naming what the teacher returned. */
function outputOfShape(values: TapValue[], names: string[], shape: number[], teacher: string): TapValue {
  const i = values.findIndex((v) => v.shape.length === shape.length + 1 && v.shape.slice(1).every((d, k) => d === shape[k]));
  if (i < 0)
    throw new Error(
      `teacher ${teacher}: no output of shape [${shape.join(', ')}] (outputs: ${names.map((n, k) => `${n} [${values[k].shape.slice(1).join(', ')}]`).join(', ')})`,
    );
  return values[i];
}

/** One batch's targets (n × targetSize) from the teacher's outputs. */
function postProcess(task: TeacherTask, values: TapValue[], names: string[], n: number, size: number): Float32Array {
  const per = task.targetShape(size).reduce((a, b) => a * b, 1);
  const out = new Float32Array(n * per);
  for (let i = 0; i < n; i++) {
    let t: ArrayLike<number>;
    if (task.id === 'person-mask') {
      const v = outputOfShape(values, names, [256, 256, 1], task.teacher);
      t = resizeArea(v.data.subarray(i * 65536, (i + 1) * 65536), 256, 256, 1, size, size);
    } else if (task.id === 'face-heatmap') {
      const { fine: f, coarse: c } = BLAZEFACE_GRIDS;
      const a = outputOfShape(values, names, [f.side * f.side * f.anchors, 1], task.teacher);
      const b = outputOfShape(values, names, [c.side * c.side * c.anchors, 1], task.teacher);
      const nf = f.side * f.side * f.anchors;
      const nc = c.side * c.side * c.anchors;
      t = faceHeatmap(a.data.subarray(i * nf, (i + 1) * nf), b.data.subarray(i * nc, (i + 1) * nc));
    } else if (task.id === 'content-class') {
      const v = outputOfShape(values, names, [per], task.teacher);
      t = classDistribution(v.data.subarray(i * per, (i + 1) * per));
    } else throw new Error(`no post-processing for teacher task ${task.id}`);
    out.set(t, i * per);
  }
  return out;
}

export interface TeacherOptions {
  /** Folder of cached targets (default: no cache). */
  cacheDir?: string;
  /** Crops per forward pass for teachers that take batches (default 16; fixed batch-1 graphs run one at a time). */
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface TeacherTargets {
  task: string;
  teacher: string;
  /** [n, ...targetShape]. */
  shape: number[];
  targets: Float32Array;
  /** Read from the cache (no model loaded). */
  cached: boolean;
}

/** The cache file of a task's targets on these crops. */
function cacheKey(task: TeacherTask, fingerprint: string, crops: Uint8Array, size: number): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ task: task.id, teacher: task.teacher, fingerprint, version: TEACHER_VERSION, size }));
  h.update(crops);
  return `${task.id}-${h.digest('hex').slice(0, 20)}.npy`;
}

/** The task, the output shape and the cache file (when cached) of a teacher job; throws on malformed crops. */
async function teacherJob(taskId: string, crops: Uint8Array, size: number, cacheDir: string | undefined) {
  const task = taskDefinition(taskId);
  if (task.kind !== 'teacher') throw new Error(`task ${taskId} is computed from the pixels (tasks.ts), not by a teacher network`);
  const per = size * size * 3;
  if (!Number.isInteger(size) || size < 1 || crops.length === 0 || crops.length % per !== 0)
    throw new Error(`teacher task ${taskId}: ${crops.length} values are not whole ${size}×${size}×3 crops`);
  const n = crops.length / per;
  const shape = [n, ...task.targetShape(size)];
  const spec = await resolveModel(task.teacher);
  const file = cacheDir ? join(cacheDir, cacheKey(task, spec.fingerprint, crops, size)) : undefined;
  return { task, per, n, shape, spec, file };
}

/** The cached targets of a teacher job, or undefined (no cache file, or one of another shape). */
async function readCached(job: Awaited<ReturnType<typeof teacherJob>>): Promise<TeacherTargets | undefined> {
  const { task, shape, file } = job;
  if (!file) return undefined;
  const hit = await readFile(file).then(
    (b) => readNpy(b, file),
    () => undefined,
  );
  if (hit && hit.dtype === 'float32' && hit.shape.join() === shape.join())
    return { task: task.id, teacher: task.teacher, shape, targets: hit.data as Float32Array, cached: true };
  return undefined;
}

/**
 * A teacher task's targets on these crops when an earlier run cached them, else undefined — without loading any
 * model, so a caller can skip starting worker threads for a stage that is already done.
 */
export async function cachedTeacherTargets(taskId: string, crops: Uint8Array, size: number, cacheDir: string): Promise<TeacherTargets | undefined> {
  return readCached(await teacherJob(taskId, crops, size, cacheDir));
}

/**
 * A teacher task's targets on a batch of crops (n × size × size × 3 uint8, as the pool stores them), computed in
 * forward passes of `batchSize` or read from `cacheDir`.
 */
export async function teacherTargets(taskId: string, crops: Uint8Array, size: number, opts: TeacherOptions = {}): Promise<TeacherTargets> {
  const job = await teacherJob(taskId, crops, size, opts.cacheDir);
  const hit = await readCached(job);
  if (hit) return hit;
  const { task, per, n, shape, spec, file } = job;
  const pre = spec.preprocessing!;
  const runner = await loadModelFile(spec.file, { extraInputs: spec.extraInputs, threads: 1 });
  const targets = new Float32Array(shape.reduce((a, b) => a * b, 1));
  const step = spec.batchable ? Math.max(1, opts.batchSize ?? 16) : 1;
  try {
    for (let start = 0; start < n; start += step) {
      const count = Math.min(step, n - start);
      const pixels = await Promise.all(
        Array.from({ length: count }, (_, i) =>
          decodeResized(crops.subarray((start + i) * per, (start + i + 1) * per), pre, { width: size, height: size, channels: 3 }),
        ),
      );
      const values = await runner.run(makeBatch(pixels, pre), runner.outputs);
      targets.set(postProcess(task, values, runner.outputs, count, size), (start * targets.length) / n);
      opts.onProgress?.(start + count, n);
    }
  } finally {
    runner.dispose();
  }
  if (targets.some((v) => !Number.isFinite(v))) throw new Error(`teacher ${task.teacher} gave non-finite values for task ${task.id}`);
  if (file) await writeFileAtomic(file, writeNpy({ dtype: 'float32', shape, data: targets }));
  return { task: task.id, teacher: task.teacher, shape, targets, cached: false };
}
