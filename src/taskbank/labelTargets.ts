/**
 * A bank task's labels in the form the label-based transferability scores take (transferability/: LogME, …), so that
 * the scores can be judged on the bank's measured transfers like the similarity measures (docs/taskbank.md, *Label
 * scores*): the setting of a user with a new task and a few hundred labelled images.
 *
 * - Spatial targets (maps) are averaged over the encoder's grid cells (R/8 × R/8 × channels): LogME fits one Bayesian
 *   linear regression per target column, and at full resolution a 64-px colour target has 12,288 columns, each a near
 *   copy of its neighbours — 16× the work of the 768 cell means for the same picture of what the features can predict,
 *   and the decoders (network.ts) upsample from that grid anyway. A masked target (inpainting) keeps what its loss
 *   sees: the hole's pixels, zero elsewhere.
 * - One-hot class targets (rotation, jigsaw) become class codes (argmax); a soft class distribution (content classes)
 *   stays a regression on the probabilities.
 * - The metric task (segmentation) has no label a score can read: its target is a segment id per pixel whose numbering
 *   means nothing (the loss is invariant to relabelling), so it gets no label score.
 */
import { ENCODER_STRIDE } from './network.js';
import type { TaskData } from './taskData.js';
import type { TaskDefinition } from './tasks.js';
import { classTarget, regressionTarget, type ScoreTarget } from '../transferability/index.js';

/**
 * Version of how labels become score targets (the pooling, the codes): raised when labelScoreTarget gives other values,
 * so that cached label scores (jobs.ts) are recomputed.
 */
export const LABEL_TARGETS_VERSION = 1;

/** Whether a task's labels can be scored (every loss but the metric one). */
export function hasLabelScore(task: TaskDefinition): boolean {
  return task.loss !== 'metric';
}

/** `n` indices spread evenly over `total` (the labelled subset of a part; all of it when n ≥ total). */
export function labelledIndices(total: number, n: number): number[] {
  if (!Number.isInteger(n) || n < 1) throw new Error(`labelled images must be a positive whole number, got ${n}`);
  const k = Math.min(n, total);
  return Array.from({ length: k }, (_, i) => Math.floor((i * total) / k));
}

/** The rows `indices` of a task's samples, as a TaskData of their own. */
export function subsetSamples(data: TaskData, indices: readonly number[], resolution: number): TaskData {
  const perInput = data.inputs.length / data.n;
  const perTarget = data.targets.length / data.n;
  const perMask = resolution * resolution;
  const inputs = new Float32Array(indices.length * perInput);
  const targets = new Float32Array(indices.length * perTarget);
  const mask = data.mask ? new Float32Array(indices.length * perMask) : undefined;
  indices.forEach((k, i) => {
    if (!Number.isInteger(k) || k < 0 || k >= data.n) throw new Error(`sample ${k} is outside 0…${data.n - 1}`);
    inputs.set(data.inputs.subarray(k * perInput, (k + 1) * perInput), i * perInput);
    targets.set(data.targets.subarray(k * perTarget, (k + 1) * perTarget), i * perTarget);
    mask?.set(data.mask!.subarray(k * perMask, (k + 1) * perMask), i * perMask);
  });
  return { n: indices.length, inputs, targets, ...(mask ? { mask } : {}), targetShape: data.targetShape };
}

/** The task's labels of `data` as a score target (see the module comment); undefined for the metric task. */
export function labelScoreTarget(task: TaskDefinition, data: TaskData, resolution: number): ScoreTarget | undefined {
  if (!hasLabelScore(task)) return undefined;
  const shape = task.targetShape(resolution);
  const per = shape.reduce((a, b) => a * b, 1);
  if (data.targets.length !== data.n * per) throw new Error(`${task.id}: ${data.n} samples need ${data.n * per} target values, got ${data.targets.length}`);
  const n = data.n;
  if (shape.length === 1) {
    if (task.loss !== 'cross-entropy') return regressionTarget({ rows: n, cols: per, data: Float64Array.from(data.targets) }, `${task.id} labels`);
    const codes: number[] = [];
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < per; j++) if (data.targets[i * per + j] > data.targets[i * per + best]) best = j;
      codes.push(best);
    }
    return classTarget(codes, `${task.id} labels`);
  }
  const [h, w, c] = shape;
  const grid = resolution / ENCODER_STRIDE;
  if (h % grid !== 0 || w % grid !== 0) throw new Error(`${task.id}: a ${h}×${w} target does not divide into the encoder's ${grid}×${grid} grid`);
  if (task.loss === 'masked-l1' && (!data.mask || h !== resolution || w !== resolution)) throw new Error(`${task.id}: a masked target needs its R×R mask`);
  const fy = h / grid;
  const fx = w / grid;
  const cols = grid * grid * c;
  const out = new Float64Array(n * cols);
  const cell = 1 / (fy * fx);
  for (let i = 0; i < n; i++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const m = data.mask ? data.mask[(i * h + y) * w + x] : 1;
        const o = (i * grid + Math.floor(y / fy)) * grid + Math.floor(x / fx);
        for (let k = 0; k < c; k++) out[o * c + k] += data.targets[((i * h + y) * w + x) * c + k] * m * cell;
      }
  return regressionTarget({ rows: n, cols, data: out }, `${task.id} labels`);
}
