/**
 * A bank task's labels and a source's features in the form the label-based transferability scores take
 * (transferability/: LogME, …), so that the scores can be judged on the bank's measured transfers like the similarity
 * measures (docs/taskbank.md, *A label-based score on the same truth*): the setting of a user with a new task and a few
 * hundred labelled images. The score reads each target the way the transfer readout does (network.ts TaskDecoder):
 *
 * - A map target, per feature cell: the dense decoder maps each cell's C features to that cell's 8×8 block of the
 *   target (depth-to-space), so each cell of each image is one sample — its C features against its block's
 *   8·8·channels values (a coarser map, the face heat-map's 16×16 at 64 px, its 2×2 block). A masked target
 *   (inpainting) keeps only the cells its hole touches, with the pixels outside the hole at 0, as its loss sees them.
 *   (The first version averaged each map over the cells and regressed that on all the image's features: a linear map
 *   the decoder never learns, which scored lower on every seed; docs/taskbank.md.)
 * - A vector target, on all the features: the vector decoder reads the whole flattened map. One-hot classes (rotation,
 *   jigsaw) become class codes (argmax); a soft distribution (content classes) stays a regression on the probabilities.
 *
 * A similarity measure (`--label-score cka`) reads the labels as a representation instead (labelRepresentation): each
 * image's whole target against the source's whole feature map — how alike the images are under the source and under
 * the labels, the RSA paper's comparison with an ideal target, with no readout fitted.
 *
 * - The metric task (segmentation) has no label a score can read: its target is a segment id per pixel whose numbering
 *   means nothing (the loss is invariant to relabelling), so it gets no label score.
 */
import type { Representation } from '../features/types.js';
import type { Matrix } from '../linalg/dense.js';
import type { TaskData } from './taskData.js';
import type { TaskDefinition } from './tasks.js';
import { classTarget, regressionTarget, type ScoreInput } from '../transferability/index.js';

/**
 * Version of how labels and features become a score's input (the cells, the blocks, the codes): raised when
 * labelScoreInput gives other values, so that cached label scores (jobs.ts) are recomputed.
 */
export const LABEL_TARGETS_VERSION = 2;

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

/**
 * A task's target shape at `resolution` and its values per sample, after checking that `data` holds n of them and, for
 * a masked target, its R×R mask per sample. Undefined for the metric task.
 */
function checkedTargets(task: TaskDefinition, data: TaskData, resolution: number): { shape: number[]; per: number } | undefined {
  if (!hasLabelScore(task)) return undefined;
  const shape = task.targetShape(resolution);
  const per = shape.reduce((a, b) => a * b, 1);
  const n = data.n;
  if (data.targets.length !== n * per) throw new Error(`${task.id}: ${n} samples need ${n * per} target values, got ${data.targets.length}`);
  if (
    task.loss === 'masked-l1' &&
    (!data.mask || data.mask.length !== n * resolution * resolution || shape.length !== 3 || shape[0] !== resolution || shape[1] !== resolution)
  )
    throw new Error(`${task.id}: a masked target needs its R×R mask`);
  return { shape, per };
}

/**
 * The score's input for a task's samples and a source's features of them (n × h × w × c, channels last, the
 * encoder's grid): see the module comment. Undefined for the metric task.
 */
export function labelScoreInput(
  task: TaskDefinition,
  data: TaskData,
  features: Float32Array,
  featureShape: readonly number[],
  resolution: number,
): Pick<ScoreInput, 'features' | 'target'> | undefined {
  const checked = checkedTargets(task, data, resolution);
  if (!checked) return undefined;
  const { shape, per } = checked;
  const n = data.n;
  const [gh, gw, c] = featureShape;
  if (features.length !== n * gh * gw * c) throw new Error(`${task.id}: ${n} samples need ${n * gh * gw * c} feature values, got ${features.length}`);
  if (shape.length === 1) {
    const flat: Matrix = { rows: n, cols: gh * gw * c, data: Float64Array.from(features) };
    if (task.loss !== 'cross-entropy')
      return { features: flat, target: regressionTarget({ rows: n, cols: per, data: Float64Array.from(data.targets) }, `${task.id} labels`) };
    const codes: number[] = [];
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < per; j++) if (data.targets[i * per + j] > data.targets[i * per + best]) best = j;
      codes.push(best);
    }
    return { features: flat, target: classTarget(codes, `${task.id} labels`) };
  }
  const [h, w, ch] = shape;
  if (h % gh !== 0 || w % gw !== 0) throw new Error(`${task.id}: a ${h}×${w} target does not divide into the features' ${gh}×${gw} grid`);
  const masked = task.loss === 'masked-l1';
  const by = h / gh;
  const bx = w / gw;
  const cols = by * bx * ch;
  // The cells kept: all of them, or those a masked target's hole touches.
  const keep: number[] = [];
  for (let i = 0; i < n; i++)
    for (let cy = 0; cy < gh; cy++)
      for (let cx = 0; cx < gw; cx++) {
        let any = !masked;
        for (let y = cy * by; !any && y < (cy + 1) * by; y++) for (let x = cx * bx; !any && x < (cx + 1) * bx; x++) any = data.mask![(i * h + y) * w + x] > 0;
        if (any) keep.push((i * gh + cy) * gw + cx);
      }
  if (keep.length === 0) throw new Error(`${task.id}: no cell of the labelled images holds a target value its loss counts`);
  const x = new Float64Array(keep.length * c);
  const t = new Float64Array(keep.length * cols);
  keep.forEach((cell, row) => {
    for (let k = 0; k < c; k++) x[row * c + k] = features[cell * c + k];
    const i = Math.floor(cell / (gh * gw));
    const cy = Math.floor((cell % (gh * gw)) / gw);
    const cx = cell % gw;
    for (let dy = 0; dy < by; dy++)
      for (let dx = 0; dx < bx; dx++) {
        const y = cy * by + dy;
        const xx = cx * bx + dx;
        const m = masked ? data.mask![(i * h + y) * w + xx] : 1;
        for (let k = 0; k < ch; k++) t[row * cols + (dy * bx + dx) * ch + k] = data.targets[((i * h + y) * w + xx) * ch + k] * m;
      }
  });
  return { features: { rows: keep.length, cols: c, data: x }, target: regressionTarget({ rows: keep.length, cols, data: t }, `${task.id} labels`) };
}

/**
 * The labels of a task's samples as a representation for a similarity measure: one row per image, its whole target
 * flattened — a masked target's pixels outside the hole at 0, as its loss sees them; classes one-hot, a distribution
 * as it is. Undefined for the metric task (its segment ids mean nothing: a labelling, not values).
 */
export function labelRepresentation(task: TaskDefinition, data: TaskData, resolution: number): Representation | undefined {
  const checked = checkedTargets(task, data, resolution);
  if (!checked) return undefined;
  const { shape, per } = checked;
  const values = Float64Array.from(data.targets);
  if (task.loss === 'masked-l1') {
    const ch = shape[2];
    for (let k = 0; k < values.length; k++) values[k] *= data.mask![Math.floor(k / ch)];
  }
  return { label: `${task.id} labels`, n: data.n, p: per, shape: [...shape], data: values, source: `${task.id} labels` };
}

/** A source's features of n samples (n × h × w × c) as a representation: each image's whole map, flattened. */
export function featureRepresentation(label: string, features: Float32Array, featureShape: readonly number[], n: number): Representation {
  const p = featureShape.reduce((a, b) => a * b, 1);
  if (features.length !== n * p) throw new Error(`${label}: ${n} samples need ${n * p} feature values, got ${features.length}`);
  return { label, n, p, shape: [...featureShape], data: features, source: label };
}
