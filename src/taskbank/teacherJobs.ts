/**
 * The distilled targets of the bank's teacher tasks on the parts of the crop pool the bank needs: the first
 * `trainCrops` training crops (the teacher tasks train on these only, because the teachers cost 40–170 ms per crop),
 * and every transfer and test crop. Crops go to the teachers in chunks, each cached on its own (teachers.ts keys a
 * cache file by the crop bytes), so an interrupted run resumes chunk by chunk and the chunks spread over worker
 * threads.
 */
import { runOnWorkers } from '../workers/jobPool.js';
import { startSiblingWorker } from '../workers/startWorker.js';
import type { CropPool, PoolSplit } from './pool.js';
import { TEACHER_TASKS } from './tasks.js';
import { cachedTeacherTargets, teacherTargets } from './teachers.js';

/** Crops per cached chunk: small enough that an interruption loses little, large enough that caching costs nothing. */
export const TEACHER_CHUNK = 500;
/** Training crops the teacher tasks are trained on (all of the pool's transfer and test crops get targets too). */
export const DEFAULT_TEACHER_TRAIN_CROPS = 3000;

export interface TeacherJob {
  task: string;
  /** e.g. "train 0–499", for progress and errors. */
  label: string;
  crops: Uint8Array;
  size: number;
  cacheDir: string;
}

export interface TeacherStageOptions {
  cacheDir: string;
  trainCrops?: number;
  /** Worker threads (default 2; 0 runs in this thread). */
  workers?: number;
  tasks?: readonly string[];
  onJob?: (job: TeacherJob, done: number, total: number, cached: boolean) => void;
}

/** A teacher job's result: the chunk's targets, and whether they came from the cache. */
export interface TeacherReply {
  targets: Float32Array;
  cached: boolean;
}

/** Per teacher task, per part, the targets of that part's crops (train: the first trainCrops only). */
export type TeacherTargetSet = Record<string, Partial<Record<PoolSplit, Float32Array>>>;

const PARTS: readonly PoolSplit[] = ['train', 'transfer', 'test'];

export async function ensureTeacherTargets(pool: CropPool, opts: TeacherStageOptions): Promise<TeacherTargetSet> {
  const size = pool.manifest.resolution;
  const per = size * size * 3;
  const tasks = TEACHER_TASKS.filter((t) => !opts.tasks || opts.tasks.includes(t.id));
  // Each chunk knows where its targets go: the part's array (n crops × targetSize values) at its first crop.
  const jobs: { job: TeacherJob; task: string; part: PoolSplit; offset: number; n: number; targetSize: number }[] = [];
  for (const task of tasks) {
    const targetSize = task.targetShape(size).reduce((a, b) => a * b, 1);
    for (const part of PARTS) {
      const all = pool.crops[part];
      const n = part === 'train' ? Math.min(opts.trainCrops ?? DEFAULT_TEACHER_TRAIN_CROPS, all.length / per) : all.length / per;
      for (let s = 0; s < n; s += TEACHER_CHUNK) {
        const e = Math.min(n, s + TEACHER_CHUNK);
        jobs.push({
          job: { task: task.id, label: `${part} ${s}–${e - 1}`, crops: all.subarray(s * per, e * per), size, cacheDir: opts.cacheDir },
          task: task.id,
          part,
          offset: s,
          n,
          targetSize,
        });
      }
    }
  }
  const out: TeacherTargetSet = {};
  const place = (j: (typeof jobs)[number], targets: Float32Array) => {
    const slot = ((out[j.task] ??= {})[j.part] ??= new Float32Array(j.n * j.targetSize));
    slot.set(targets, j.offset * j.targetSize);
  };
  let done = 0;
  // Chunks an earlier run cached are read here: a finished stage starts no thread (booting one costs seconds).
  const todo: typeof jobs = [];
  for (const j of jobs) {
    const hit = await cachedTeacherTargets(j.task, j.job.crops, size, opts.cacheDir);
    if (!hit) {
      todo.push(j);
      continue;
    }
    place(j, hit.targets);
    opts.onJob?.(j.job, ++done, jobs.length, true);
  }
  const workers = Math.max(0, Math.min(opts.workers ?? 2, todo.length));
  if (workers === 0) {
    for (const j of todo) {
      const t = await teacherTargets(j.job.task, j.job.crops, size, { cacheDir: opts.cacheDir });
      place(j, t.targets);
      opts.onJob?.(j.job, ++done, jobs.length, t.cached);
    }
    return out;
  }
  // Longest first would need costs; the jobs are few and similar within a task, so plain order is fine. The crops
  // are copied to the worker (a transfer would detach the pool's buffer).
  await runOnWorkers<TeacherJob, TeacherReply>(
    todo.map((j) => j.job),
    {
      threads: workers,
      start: () => startSiblingWorker(import.meta.url, 'teacherWorker', 'teacher'),
      describe: (i) => `teacher targets: ${todo[i].task} (${todo[i].job.label})`,
      onResult: (i, reply) => {
        place(todo[i], reply.targets);
        opts.onJob?.(todo[i].job, ++done, jobs.length, reply.cached);
      },
    },
  );
  return out;
}
