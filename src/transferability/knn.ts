/**
 * Leave-one-out k-nearest-neighbour accuracy (the PARC repository's kNN baseline; docs/transferability.md#knn):
 * each image is classified by a majority vote of its k nearest other images (Euclidean), score = 100 × accuracy.
 *
 * Rules (ours, stated because the reference leaves them to argsort): neighbours are ordered by distance, equal
 * distances by the lower image index; the image itself is excluded by its index (not by being first after
 * sorting, which fails on duplicate images); a tie between classes in the vote goes to the class of the nearest
 * neighbour among the tied classes.
 */
import { centredGram } from './spectral.js';
import type { ClassTarget, Scorer } from './types.js';

const EPS = 2 ** -52;

/** Squared distance by explicit differences: equal rows give bit-identical results, which the Gram form does not promise. */
function squaredDistance(x: Float64Array, d: number, i: number, j: number): number {
  let s = 0;
  const a = i * d;
  const b = j * d;
  for (let t = 0; t < d; t++) {
    const e = x[a + t] - x[b + t];
    s += e * e;
  }
  return s;
}

/** The k-th smallest of `values` without `skip` (k ≥ 1, at least k other values): a sorted buffer of the k smallest. */
function kthSmallest(values: Float64Array, skip: number, k: number): number {
  const buf = new Float64Array(k).fill(Infinity);
  for (let j = 0; j < values.length; j++) {
    if (j === skip) continue;
    const v = values[j];
    if (v >= buf[k - 1]) continue;
    let p = k - 1;
    while (p > 0 && buf[p - 1] > v) {
      buf[p] = buf[p - 1];
      p--;
    }
    buf[p] = v;
  }
  return buf[k - 1];
}

export const knn: Scorer = async (ctx) => {
  const target = ctx.input.target as ClassTarget;
  const x = ctx.input.features!;
  const { rows: n, cols: d, data } = x;
  const k = ctx.params.k as number;
  if (k > n - 1) throw new Error(`knn: ${ctx.input.name ?? 'input'}: k = ${k} neighbours need at least ${k + 1} images; there are ${n}`);
  const g = (await centredGram(ctx)).data;

  // Candidates come from the Gram-matrix distances; the final order from exact distances of the raw rows. The
  // margin bounds the rounding of both the centring and the GEMM (≈ d·ε·(‖a‖ + ‖b‖)² in the worst case), so no
  // true neighbour is missed and ties between equal raw distances are decided by index, not by rounding.
  const norm = new Float64Array(n);
  let maxNorm = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0; t < d; t++) s += data[i * d + t] * data[i * d + t];
    norm[i] = Math.sqrt(s);
    maxNorm = Math.max(maxNorm, norm[i]);
  }
  const approx = new Float64Array(n);
  const votes = new Float64Array(target.counts.length);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const gi = g[i * n + i];
    for (let j = 0; j < n; j++) approx[j] = gi + g[j * n + j] - 2 * g[i * n + j];
    const limit = kthSmallest(approx, i, k) + 16 * (d + 2) * EPS * (norm[i] + maxNorm) ** 2;
    const candidates: { j: number; dist: number }[] = [];
    for (let j = 0; j < n; j++) if (j !== i && approx[j] <= limit) candidates.push({ j, dist: squaredDistance(data, d, i, j) });
    candidates.sort((a, b) => a.dist - b.dist || a.j - b.j);
    votes.fill(0);
    let best = 0;
    for (let r = 0; r < k; r++) best = Math.max(best, ++votes[target.codes[candidates[r].j]]);
    let predicted = -1;
    for (let r = 0; r < k && predicted < 0; r++) if (votes[target.codes[candidates[r].j]] === best) predicted = target.codes[candidates[r].j];
    if (predicted === target.codes[i]) correct++;
  }
  return (100 * correct) / n;
};
