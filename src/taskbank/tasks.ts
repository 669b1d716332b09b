/**
 * The task bank's tasks (ALGORITHMS.md §7.9; docs/taskbank.md): Taskonomy's tasks that need nothing but the image,
 * the usual self-supervised additions, and semantic tasks distilled from zoo teachers (./teachers.ts). Every
 * network of the bank sees the same kind of input — an RGB crop of side R with values in [0, 1] — so one encoder
 * architecture serves every task; a task that changes the input (noise, grey, a hole, low resolution, a rotation,
 * shuffled tiles) builds that input itself.
 *
 * A pixel task's builder is a pure function (crop, its index, the task seed) → { input, target, mask? }: the seeded
 * tasks draw from mulberry32 seeded by (task seed, crop index) (cropSeed), so a crop's sample does not depend on
 * which other crops are built, or in which order.
 */
import { mulberry32, normalDraw } from '../linalg/resample.js';
import { boxDownsample2, edgeMagnitude, harrisResponse, luminance, permuteTiles, rotate90, superpixels, toUnit, toYCbCr, upsampleNearest2 } from './pixels.js';

export type TaskFamily = 'low-level' | '2d' | 'global' | 'semantic';

/**
 * How a prediction is scored against a target (the bank's training and the transfers use these):
 *   l1                mean |p − t| over all target values
 *   l2                mean (p − t)²
 *   masked-l1         mean |p − t| over the values where mask = 1
 *   cross-entropy     −Σ t log softmax(p) (t one-hot: the class)
 *   soft-cross-entropy −Σ t log softmax(p) with t a distribution (= KL(t‖softmax p) + H(t))
 *   bce               mean binary cross-entropy of sigmoid(p) against t ∈ [0, 1]
 *   metric            permutation-invariant segment embedding loss: pixel pairs of one segment pulled together,
 *                     pairs of different segments pushed at least a margin apart (Taskonomy's segment2d loss)
 */
export type TaskLoss = 'l1' | 'l2' | 'masked-l1' | 'cross-entropy' | 'soft-cross-entropy' | 'bce' | 'metric';

/** One crop's training pair. */
export interface TaskSample {
  /** R×R×3, values in [0, 1]: what the encoder sees. */
  input: Float32Array;
  /** The target, laid out as `targetShape` (channels last). */
  target: Float32Array;
  /** Where the loss applies (masked-l1), R×R×1. */
  mask?: Float32Array;
}

interface TaskInfo {
  id: string;
  family: TaskFamily;
  description: string;
  loss: TaskLoss;
  /** Target shape for crops of side `size` (channels last; a class distribution is [classes]). */
  targetShape: (size: number) => number[];
  /**
   * Version of the target's definition (absent: 1). Raised whenever the builder gives other values for the same crop,
   * so the bank's cached network of this task, every readout with it as source or target and its probe features are
   * recomputed, and every other task's are reused (jobs.ts, targetVersions).
   */
  targetVersion?: number;
}

/** A task whose target is computed from the crop's pixels. */
export interface PixelTask extends TaskInfo {
  kind: 'pixel';
  build: (crop: Uint8Array, size: number, index: number, seed: number) => TaskSample;
}

/** A task distilled from a zoo network run on the crops (teachers.ts builds its targets in batches). */
export interface TeacherTask extends TaskInfo {
  kind: 'teacher';
  /** Zoo id of the teacher network. */
  teacher: string;
}

export type TaskDefinition = PixelTask | TeacherTask;

/** Noise level of the denoising task (standard deviation, on [0, 1] values). */
export const DENOISE_SIGMA = 0.1;
/** The inpainting hole: a square of side ⌊R/4⌋ at a seeded position, filled with mid grey. */
export const INPAINT_FILL = 0.5;
/** Smoothing of the edge task and the keypoint task's differentiation scale (pixels). */
export const EDGE_SIGMA = 1;
/**
 * The keypoint target is the signed, log-compressed Harris response asinh(R/s)/c: positive at corners, negative along
 * edges, 0 on flat regions, like the detector's own classification. R grows with the fourth power of the contrast and
 * spans eight decades on photographs (|R| on the default pool's training crops at 64 px: 10th percentile 7e-12, median
 * 1.1e-8, 99th 1.3e-5, 99.9th 1.1e-4), so any linear squashing leaves almost every pixel at 0: the first version,
 * tanh(max(R, 0)/1e-5), did, and its network learnt to output ~0 with dead ReLUs. asinh is linear below s and
 * logarithmic above it, so every decade of response above s gets the same share of the target's range. s is one global
 * constant (a per-crop normalisation would blow up the noise of flat crops): the median |R| of those training crops,
 * rounded (1e-8; pixels of flat sky or JPEG blocks, |R| < 1e-10, stay within 0.01/c of 0). c = asinh(the 99th
 * percentile / s) ≈ 7.9, rounded to 8, puts 99 % of the target in [−1, 1] (median |target| 0.11, 90th percentile 0.67).
 */
export const HARRIS_SCALE = 1e-8;
export const HARRIS_RANGE = 8;

/** The keypoint target of a Harris response value (see HARRIS_SCALE). */
export function keypointTarget(r: number): number {
  return Math.asinh(r / HARRIS_SCALE) / HARRIS_RANGE;
}
/** Superpixels per crop (a 3×3 grid of seeds). */
export const SEGMENTS = 9;
/** Jigsaw: a 3×3 grid of tiles and this many permutations to tell apart. */
export const JIGSAW_GRID = 3;
export const JIGSAW_CLASSES = 24;

/** The per-crop generator seed: a mix of the task seed and the crop index (uint32). */
export function cropSeed(seed: number, index: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index >>> 0, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h >>> 0;
}

function checkCrop(crop: Uint8Array, size: number, task: string): Float32Array {
  if (crop.length !== size * size * 3) throw new Error(`task ${task}: a crop of side ${size} has ${size * size * 3} values, got ${crop.length}`);
  return toUnit(crop);
}

const f32 = (a: ArrayLike<number>) => Float32Array.from(a);
const clip01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

function oneHot(k: number, classes: number): Float32Array {
  const t = new Float32Array(classes);
  t[k] = 1;
  return t;
}

/** The grey (Y) image replicated into three channels. */
function greyRgb(y: ArrayLike<number>): Float32Array {
  const out = new Float32Array(3 * y.length);
  for (let i = 0; i < y.length; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = y[i];
  return out;
}

let jigsawSet: Uint8Array[] | undefined;

/**
 * The jigsaw classes: JIGSAW_CLASSES permutations of the 9 tiles chosen greedily for a large Hamming distance (as
 * Noroozi & Favaro and Taskonomy do, with a set small enough for a laptop): start from the identity, then add the
 * permutation whose smallest Hamming distance to those chosen is largest, the lexicographically first on ties,
 * among all 9! permutations. Deterministic; computed once.
 */
export function jigsawPermutations(): Uint8Array[] {
  if (jigsawSet) return jigsawSet;
  const m = JIGSAW_GRID * JIGSAW_GRID;
  // All m! permutations in lexicographic order (next-permutation steps from the identity).
  let count = 1;
  for (let i = 2; i <= m; i++) count *= i;
  const flat = new Uint8Array(count * m);
  const p = Uint8Array.from({ length: m }, (_, i) => i);
  for (let r = 0; r < count; r++) {
    flat.set(p, r * m);
    let i = m - 2;
    while (i >= 0 && p[i] > p[i + 1]) i--;
    if (i < 0) break;
    let j = m - 1;
    while (p[j] < p[i]) j--;
    [p[i], p[j]] = [p[j], p[i]];
    p.subarray(i + 1).reverse();
  }
  const minDist = new Int32Array(count).fill(m + 1);
  const chosen = [0];
  for (;;) {
    const last = chosen[chosen.length - 1];
    for (let i = 0; i < count; i++) {
      let d = 0;
      for (let j = 0; j < m; j++) if (flat[i * m + j] !== flat[last * m + j]) d++;
      if (d < minDist[i]) minDist[i] = d;
    }
    if (chosen.length === JIGSAW_CLASSES) break;
    let best = -1;
    for (let i = 0; i < count; i++) if (best < 0 || minDist[i] > minDist[best]) best = i;
    chosen.push(best);
  }
  jigsawSet = chosen.map((i) => flat.slice(i * m, (i + 1) * m));
  return jigsawSet;
}

const same = (size: number) => [size, size, 3];
const map1 = (size: number) => [size, size, 1];

/** The pixel tasks, in the order the docs list them. */
export const PIXEL_TASKS: readonly PixelTask[] = [
  {
    id: 'autoencoding',
    kind: 'pixel',
    family: 'low-level',
    description: 'reconstruct the crop',
    loss: 'l1',
    targetShape: same,
    build: (crop, size) => {
      const x = checkCrop(crop, size, 'autoencoding');
      return { input: x, target: x.slice() };
    },
  },
  {
    id: 'denoising',
    kind: 'pixel',
    family: 'low-level',
    description: `the crop from a copy with Gaussian noise (σ = ${DENOISE_SIGMA}, seeded per crop, clipped to [0, 1])`,
    loss: 'l1',
    targetShape: same,
    build: (crop, size, index, seed) => {
      const x = checkCrop(crop, size, 'denoising');
      const random = mulberry32(cropSeed(seed, index));
      return { input: x.map((v) => clip01(v + DENOISE_SIGMA * normalDraw(random))), target: x };
    },
  },
  {
    id: 'colourisation',
    kind: 'pixel',
    family: 'low-level',
    description: "the crop's chroma (Cb, Cr of full-range YCbCr) from its luma Y, given as a grey RGB image",
    loss: 'l2',
    targetShape: (size) => [size, size, 2],
    build: (crop, size) => {
      const x = checkCrop(crop, size, 'colourisation');
      const { y, cb, cr } = toYCbCr(x, size);
      const target = new Float32Array(2 * y.length);
      for (let i = 0; i < y.length; i++) {
        target[2 * i] = cb[i];
        target[2 * i + 1] = cr[i];
      }
      return { input: greyRgb(y), target };
    },
  },
  {
    id: 'inpainting',
    kind: 'pixel',
    family: 'low-level',
    description: `the crop from a copy whose square hole of side ⌊R/4⌋ at a seeded position is filled with grey ${INPAINT_FILL}; the loss counts the hole only`,
    loss: 'masked-l1',
    targetShape: same,
    build: (crop, size, index, seed) => {
      const x = checkCrop(crop, size, 'inpainting');
      const side = Math.max(1, Math.floor(size / 4));
      const random = mulberry32(cropSeed(seed, index));
      const top = Math.floor(random() * (size - side + 1));
      const left = Math.floor(random() * (size - side + 1));
      const input = x.slice();
      const mask = new Float32Array(size * size);
      for (let yy = top; yy < top + side; yy++)
        for (let xx = left; xx < left + side; xx++) {
          mask[yy * size + xx] = 1;
          input.fill(INPAINT_FILL, 3 * (yy * size + xx), 3 * (yy * size + xx) + 3);
        }
      return { input, target: x, mask };
    },
  },
  {
    id: 'super-resolution',
    kind: 'pixel',
    family: 'low-level',
    description: 'the crop from its 2× box-down-sampled copy, blown back up by pixel replication (R must be even)',
    loss: 'l1',
    targetShape: same,
    build: (crop, size) => {
      const x = checkCrop(crop, size, 'super-resolution');
      return { input: f32(upsampleNearest2(boxDownsample2(x, size, 3), size / 2, 3)), target: x };
    },
  },
  {
    id: 'edges',
    kind: 'pixel',
    family: '2d',
    description: `Sobel gradient magnitude of the luma smoothed with σ = ${EDGE_SIGMA} px, divided by 4√2 (Taskonomy's edge2d without non-maximum suppression)`,
    loss: 'l1',
    targetShape: map1,
    build: (crop, size) => {
      const x = checkCrop(crop, size, 'edges');
      return { input: x, target: f32(edgeMagnitude(luminance(x, size), size, EDGE_SIGMA)) };
    },
  },
  {
    id: 'keypoints',
    kind: 'pixel',
    family: '2d',
    description: `Harris corner response R of the luma (σD = ${EDGE_SIGMA}, σI = 1.5, k = 0.04), signed and log-compressed as asinh(R/${HARRIS_SCALE})/${HARRIS_RANGE}: > 0 at corners, < 0 along edges (the stand-in for Taskonomy's SURF response)`,
    loss: 'l1',
    targetShape: map1,
    targetVersion: 2,
    build: (crop, size) => {
      const x = checkCrop(crop, size, 'keypoints');
      const r = harrisResponse(luminance(x, size), size, { sigmaD: EDGE_SIGMA });
      return { input: x, target: f32(r.map(keypointTarget)) };
    },
  },
  {
    id: 'segmentation',
    kind: 'pixel',
    family: '2d',
    description: `${SEGMENTS} SLIC-like superpixels (k-means on colour + position from a grid of seeds); labels numbered by first appearance`,
    loss: 'metric',
    targetShape: map1,
    build: (crop, size) => {
      const x = checkCrop(crop, size, 'segmentation');
      return { input: x, target: f32(superpixels(x, size, { k: SEGMENTS })) };
    },
  },
  {
    id: 'rotation',
    kind: 'pixel',
    family: 'global',
    description: 'which of 0°, 90°, 180°, 270° (counter-clockwise, seeded per crop) the input was turned by',
    loss: 'cross-entropy',
    targetShape: () => [4],
    build: (crop, size, index, seed) => {
      const x = checkCrop(crop, size, 'rotation');
      const k = Math.floor(mulberry32(cropSeed(seed, index))() * 4);
      return { input: f32(rotate90(x, size, 3, k)), target: oneHot(k, 4) };
    },
  },
  {
    id: 'jigsaw',
    kind: 'pixel',
    family: 'global',
    description: `which of ${JIGSAW_CLASSES} fixed permutations (jigsawPermutations) shuffled the ${JIGSAW_GRID}×${JIGSAW_GRID} tiles of the input (seeded per crop)`,
    loss: 'cross-entropy',
    targetShape: () => [JIGSAW_CLASSES],
    build: (crop, size, index, seed) => {
      const x = checkCrop(crop, size, 'jigsaw');
      const perms = jigsawPermutations();
      const k = Math.floor(mulberry32(cropSeed(seed, index))() * perms.length);
      return { input: f32(permuteTiles(x, size, 3, perms[k], JIGSAW_GRID)), target: oneHot(k, perms.length) };
    },
  },
];

/** The distilled tasks: targets from zoo networks run on the crops (teachers.ts). */
export const TEACHER_TASKS: readonly TeacherTask[] = [
  {
    id: 'person-mask',
    kind: 'teacher',
    family: 'semantic',
    teacher: 'selfie',
    description: "MediaPipe selfie segmentation's person probability, area-averaged from 256×256 to R×R",
    loss: 'bce',
    targetShape: map1,
  },
  {
    id: 'face-heatmap',
    kind: 'teacher',
    family: 'semantic',
    teacher: 'blazeface',
    description: "BlazeFace's face probability per 16×16 anchor cell: the larger of its two 16-px anchors and its 32-px cell's six",
    loss: 'bce',
    targetShape: () => [16, 16, 1],
  },
  {
    id: 'content-class',
    kind: 'teacher',
    family: 'semantic',
    teacher: 'nsfw-mobilenet-v2',
    description: "nsfwjs MobileNetV2's distribution over its 5 content classes (drawing, hentai, neutral, porn, sexy)",
    loss: 'soft-cross-entropy',
    targetShape: () => [5],
  },
];

export const TASKS: readonly TaskDefinition[] = [...PIXEL_TASKS, ...TEACHER_TASKS];

/** The version of a task's target definition (TaskInfo.targetVersion; 1 when never changed). */
export function targetVersion(task: TaskDefinition | string): number {
  return (typeof task === 'string' ? taskDefinition(task) : task).targetVersion ?? 1;
}

export function taskDefinition(id: string): TaskDefinition {
  const t = TASKS.find((x) => x.id === id);
  if (!t) throw new Error(`unknown task "${id}"; tasks: ${TASKS.map((x) => x.id).join(', ')}`);
  return t;
}

/** A pixel task's samples for a batch of crops (n × size × size × 3 uint8), crop i indexed `offset + i`. */
export function buildPixelSamples(task: PixelTask, crops: Uint8Array, size: number, seed: number, offset = 0): TaskSample[] {
  const per = size * size * 3;
  if (crops.length % per !== 0) throw new Error(`task ${task.id}: ${crops.length} values are not whole ${size}×${size}×3 crops`);
  return Array.from({ length: crops.length / per }, (_, i) => task.build(crops.subarray(i * per, (i + 1) * per), size, offset + i, seed));
}
