/**
 * Cross-fitting on a Gram matrix: a seeded assignment of images to folds, and the train/test blocks of a Gram matrix
 * centred on a fold's training mean, derived from the uncentred Gram of all images so that nothing is recomputed
 * per fold. Shared by the zoo-transfer readouts (benchmark/readout.ts) and the linear-predictivity measure
 * (measures/predictivity.ts).
 */
import type { Matrix } from './dense.js';
import { mulberry32 } from './resample.js';

/** Seeded assignment of n items to k folds of near-equal size (a shuffled round-robin). */
export function foldAssignment(n: number, k: number, seed: number): Int32Array {
  if (!Number.isInteger(k) || k < 2) throw new Error(`folds must be an integer ≥ 2, got ${k}`);
  if (n < 2 * k) throw new Error(`${n} images are too few for ${k} folds (need at least ${2 * k})`);
  const random = mulberry32(seed);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const fold = new Int32Array(n);
  perm.forEach((img, pos) => (fold[img] = pos % k));
  return fold;
}

/**
 * Centred Gram blocks for one split from the uncentred Gram G = X Xᵀ of all n images:
 * (x_i − μ)·(x_j − μ) = G_ij − g_i − g_j + c with μ the train mean, g_i = mean_{k∈train} G_ik, c = mean_{k∈train} g_k.
 */
export function centredBlocks(g: Matrix, train: ArrayLike<number>, test: ArrayLike<number>): { kTrain: Matrix; kTest: Matrix } {
  const n = g.rows;
  const t = train.length;
  const gi = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < t; k++) s += g.data[i * n + train[k]];
    gi[i] = s / t;
  }
  let c = 0;
  for (let k = 0; k < t; k++) c += gi[train[k]];
  c /= t;
  const block = (rows: ArrayLike<number>): Matrix => {
    const out = new Float64Array(rows.length * t);
    for (let a = 0; a < rows.length; a++) {
      const i = rows[a];
      for (let b = 0; b < t; b++) out[a * t + b] = g.data[i * n + train[b]] - gi[i] - gi[train[b]] + c;
    }
    return { rows: rows.length, cols: t, data: out };
  };
  const kTrain = block(train);
  for (let a = 0; a < t; a++) for (let b = a + 1; b < t; b++) kTrain.data[b * t + a] = kTrain.data[a * t + b];
  return { kTrain, kTest: block(test) };
}
