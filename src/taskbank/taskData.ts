/**
 * Network-ready arrays for a task: inputs [n, R, R, 3] in [0, 1], targets [n, ...targetShape], the masked-l1 mask
 * [n, R, R, 1] — built from uint8 crops by the task's builder (pixel tasks, tasks.ts) or from the crops plus targets
 * a teacher computed on them (teacher tasks, teachers.ts).
 *
 * Sample i of a part is always built with crop index i (the seeded tasks draw from (task seed, crop index)), so a
 * batch built from any subset of the crops (`taskBatch`) holds exactly the rows `taskData` would give for them:
 * training builds its batches on the fly instead of holding 8,000 inputs and targets as float32 (≈ 790 MB for
 * autoencoding at 64 px).
 */
import { toUnit } from './pixels.js';
import { buildPixelSamples, taskDefinition, type TaskDefinition } from './tasks.js';

export interface TaskData {
  n: number;
  /** n × R × R × 3, values in [0, 1]. */
  inputs: Float32Array;
  /** n × ∏ targetShape. */
  targets: Float32Array;
  /** n × R × R (masked-l1 tasks only). */
  mask?: Float32Array;
  targetShape: number[];
}

function resolveTask(task: TaskDefinition | string): TaskDefinition {
  return typeof task === 'string' ? taskDefinition(task) : task;
}

function cropCount(task: TaskDefinition, crops: Uint8Array, resolution: number): number {
  const per = resolution * resolution * 3;
  if (!Number.isInteger(resolution) || resolution < 1 || crops.length % per !== 0)
    throw new Error(`task ${task.id}: ${crops.length} values are not whole ${resolution}×${resolution}×3 crops`);
  return crops.length / per;
}

/**
 * The samples of the crops at `indices` (rows of `crops`, n_all × R × R × 3 uint8), in that order. Teacher tasks
 * need `teacher`: the teacher's targets for all n_all crops (teachers.ts teacherTargets).
 */
export function taskBatch(
  taskOrId: TaskDefinition | string,
  crops: Uint8Array,
  resolution: number,
  seed: number,
  indices: ArrayLike<number>,
  teacher?: Float32Array,
): TaskData {
  const task = resolveTask(taskOrId);
  const total = cropCount(task, crops, resolution);
  const targetShape = task.targetShape(resolution);
  const perTarget = targetShape.reduce((a, b) => a * b, 1);
  const per = resolution * resolution * 3;
  const n = indices.length;
  for (let i = 0; i < n; i++) {
    const k = indices[i];
    if (!Number.isInteger(k) || k < 0 || k >= total) throw new Error(`task ${task.id}: crop index ${k} is outside 0…${total - 1}`);
  }
  const inputs = new Float32Array(n * per);
  const targets = new Float32Array(n * perTarget);
  if (task.kind === 'teacher') {
    if (!teacher) throw new Error(`task ${task.id} is distilled from ${task.teacher}: pass its targets (teachers.ts teacherTargets)`);
    if (teacher.length !== total * perTarget)
      throw new Error(`task ${task.id}: ${total} crops need ${total * perTarget} teacher values ([${targetShape.join(', ')}] each), got ${teacher.length}`);
    for (let i = 0; i < n; i++) {
      const k = indices[i];
      inputs.set(toUnit(crops.subarray(k * per, (k + 1) * per)), i * per);
      targets.set(teacher.subarray(k * perTarget, (k + 1) * perTarget), i * perTarget);
    }
    return { n, inputs, targets, targetShape };
  }
  if (teacher) throw new Error(`task ${task.id} is computed from the pixels; teacher targets were given`);
  const mask = task.loss === 'masked-l1' ? new Float32Array(n * resolution * resolution) : undefined;
  for (let i = 0; i < n; i++) {
    const k = indices[i];
    const [s] = buildPixelSamples(task, crops.subarray(k * per, (k + 1) * per), resolution, seed, k);
    inputs.set(s.input, i * per);
    targets.set(s.target, i * perTarget);
    if (mask) {
      if (!s.mask) throw new Error(`task ${task.id}: its builder gave no mask`);
      mask.set(s.mask, i * resolution * resolution);
    }
  }
  return mask ? { n, inputs, targets, mask, targetShape } : { n, inputs, targets, targetShape };
}

/** The samples of the first n crops (all of them by default). */
export function taskData(
  task: TaskDefinition | string,
  crops: Uint8Array,
  n: number | undefined,
  resolution: number,
  seed: number,
  teacher?: Float32Array,
): TaskData {
  const def = resolveTask(task);
  const total = cropCount(def, crops, resolution);
  const count = n ?? total;
  if (!Number.isInteger(count) || count < 1 || count > total) throw new Error(`task ${def.id}: asked for ${count} samples of ${total} crops`);
  return taskBatch(
    def,
    crops,
    resolution,
    seed,
    Array.from({ length: count }, (_, i) => i),
    teacher,
  );
}
