/**
 * The n×n matrix of one representation: DDS's functions f (docs/measures.md#kernels-and-distances) and the RSA RDM distances.
 * Everything that is a product of rows goes through one Gram matrix on the GEMM engine.
 */
import type { Matrix } from '../linalg/dense.js';
import { checkAllocation } from '../io/limits.js';
import { formatCount } from '../io/npy.js';
import { euclideanDistances, squaredEuclideanDistances } from '../linalg/distances.js';
import { gram, type GemmOptions } from '../linalg/gemm.js';

export const KERNELS = ['linear', 'rbf', 'lap', 'pearson', 'euclidean', 'cosine'] as const;
export type KernelName = (typeof KERNELS)[number];

export const RDM_DISTANCES = ['correlation', 'euclidean', 'sqeuclidean', 'cosine'] as const;
export type RdmDistance = (typeof RDM_DISTANCES)[number];

/**
 * Features of one representation, n×p row-major float64, with a label for error messages. The kernels treat
 * `data` as scratch (row normalisation happens in place), so pass a copy you own (normalizeFeatures returns one).
 */
export interface FeatureMatrix {
  label: string;
  n: number;
  p: number;
  data: Float64Array;
}

export interface KernelOptions extends GemmOptions {
  /** RBF bandwidth as a fraction of the median squared distance (reference `threshold`), default 0.5. */
  t?: number;
}

/**
 * Squared Euclidean distances ‖x_i‖² + ‖x_j‖² − 2 x_iᵀx_j from a Gram matrix (not clipped, as the reference), into
 * `out` (n² values), which may be the Gram matrix itself: the diagonal is read first, and entry (i, j) only
 * reads entry (i, j) besides it.
 */
function squaredDistancesFromGram(g: Matrix, out: Float64Array): Float64Array {
  const n = g.rows;
  const gd = g.data;
  const diag = new Float64Array(n);
  for (let i = 0; i < n; i++) diag[i] = gd[i * n + i];
  for (let i = 0; i < n; i++) {
    const di = diag[i];
    const row = i * n;
    for (let j = 0; j < n; j++) out[row + j] = di + diag[j] - 2 * gd[row + j];
  }
  return out;
}

/** Selection copies up to this many values are kept between calls (each model of a set needs one of n² values). */
const KEEP_SELECTION = 1 << 21;
let selectionScratch: Float64Array | undefined;

/**
 * Rearranges `a` so that a[k] holds the value sorting would put there, with nothing larger before it and nothing
 * smaller after it (Hoare partitioning around a median of three). Expected O(length), unlike the O(length·log
 * length) sort it replaces, which was most of an RBF kernel's time at n = 1,000; a range that does not shrink as
 * expected (values built against the pivot rule) is sorted instead, so the worst case stays O(length·log length).
 * The caller rules out NaN.
 */
function selectInPlace(a: Float64Array, k: number): void {
  let lo = 0;
  let hi = a.length - 1;
  let budget = 2 * Math.ceil(Math.log2(a.length + 1)) + 8;
  while (hi > lo) {
    if (budget-- === 0) {
      a.subarray(lo, hi + 1).sort();
      return;
    }
    const x = a[lo];
    const y = a[lo + ((hi - lo) >> 1)];
    const z = a[hi];
    // Median of three as the pivot: ordered runs (a Gram matrix's rows often are nearly) stay linear.
    const pivot = Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    // Now a[lo..j] ≤ pivot ≤ a[i..hi], and whatever lies strictly between j and i equals the pivot.
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

/** A scratch array of `length` values, kept between calls up to KEEP_SELECTION. */
function selectionArray(length: number): Float64Array {
  if (selectionScratch && selectionScratch.length >= length) return selectionScratch.subarray(0, length);
  const a = new Float64Array(length);
  if (length <= KEEP_SELECTION) selectionScratch = a;
  return a;
}

/**
 * The values at sorted positions k and k + 1 of `a` (rearranged): selection of k + 1, then the largest value
 * before it (selection left only values ≤ it there). With k + 1 past the end, both are the value at k.
 */
function adjacentOrderStatistics(a: Float64Array, k: number): [number, number] {
  if (k + 1 >= a.length) {
    selectInPlace(a, k);
    return [a[k], a[k]];
  }
  selectInPlace(a, k + 1);
  let lower = -Infinity;
  for (let i = 0; i <= k; i++) if (a[i] > lower) lower = a[i];
  return [lower, a[k + 1]];
}

function sortedMedian(values: Float64Array): number {
  const sorted = Float64Array.from(values).sort();
  const m = sorted.length;
  return m % 2 === 1 ? sorted[(m - 1) / 2] : (sorted[m / 2 - 1] + sorted[m / 2]) / 2;
}

/**
 * The median of the values (numpy `median`): exactly the sorted copy's middle value, or the mean of its two middle
 * values, found by selection on a scratch copy; with NaN among them (which sorting puts last) from the sorted copy.
 */
export function median(values: Float64Array): number {
  const m = values.length;
  for (let i = 0; i < m; i++) if (values[i] !== values[i]) return sortedMedian(values);
  if (m === 0) return Number.NaN;
  const a = selectionArray(m);
  a.set(values);
  if (m % 2 === 1) {
    selectInPlace(a, (m - 1) / 2);
    return a[(m - 1) / 2];
  }
  const [lo, hi] = adjacentOrderStatistics(a, m / 2 - 1);
  return (lo + hi) / 2;
}

/**
 * The median of all n² entries of a symmetric n×n matrix with a zero diagonal (squared distances), exactly as
 * median() gives it, from half the values: the n² entries are every upper-triangle value twice and n zeros, so
 * sorted they are the doubled sorted list H of the upper triangle plus ⌊n/2⌋ zeros — with one more zero when n is
 * odd — and the middle of the n² entries lies at positions L − 1 and L of the doubled list (L = |H|), which are
 * H[⌊(L − 1)/2⌋] and H[⌊L/2⌋]. For odd n the extra zero sits between them or pushes the middle to one of them.
 */
function symmetricMedian(s: Float64Array, n: number): number {
  if (n < 2) return median(s);
  // The zeros stand in for the diagonal: only where it is exactly zero (an overflowing norm leaves NaN there).
  for (let i = 0; i < n; i++) if (s[i * n + i] !== 0) return median(s);
  const zeros = n >> 1;
  const half = (n * (n - 1)) / 2 + zeros;
  const h = selectionArray(half);
  let q = 0;
  for (let i = 0; i < n; i++) {
    const row = i * n;
    for (let j = i + 1; j < n; j++) h[q++] = s[row + j];
  }
  for (let i = 0; i < half; i++) if (h[i] !== h[i]) return sortedMedian(s);
  h.fill(0, q);
  const [a, b] = adjacentOrderStatistics(h, (half - 1) >> 1);
  // For L odd both middle positions hold H[(L − 1)/2]; (a + a) / 2 is what the sorted copy's mean gives.
  const [lo, hi] = half % 2 === 1 ? [a, a] : [a, b];
  return n % 2 === 0 ? (lo + hi) / 2 : Math.max(lo, Math.min(0, hi));
}

/** Rows scaled to unit L2 norm (in place); an all-zero row stays zero. */
function rowNormalized(x: FeatureMatrix): Float64Array {
  const { n, p } = x;
  const out = x.data;
  for (let i = 0; i < n; i++) {
    let ss = 0;
    for (let j = 0; j < p; j++) ss += out[i * p + j] ** 2;
    if (ss > 0) {
      const inv = 1 / Math.sqrt(ss);
      for (let j = 0; j < p; j++) out[i * p + j] *= inv;
    }
  }
  return out;
}

/** Rows centred and scaled to unit norm (in place), so their Gram matrix is the Pearson correlation between images. */
function rowStandardized(x: FeatureMatrix): Float64Array {
  const { n, p } = x;
  const out = x.data;
  for (let i = 0; i < n; i++) {
    let mean = 0;
    for (let j = 0; j < p; j++) mean += out[i * p + j];
    mean /= p;
    let ss = 0;
    for (let j = 0; j < p; j++) {
      const d = out[i * p + j] - mean;
      out[i * p + j] = d;
      ss += d * d;
    }
    if (!(ss > 0)) {
      throw new Error(
        `${x.label}: image ${i} has constant features, so its Pearson correlation with other images is undefined ` +
          `(drop that image from every model, or use another distance)`,
      );
    }
    const inv = 1 / Math.sqrt(ss);
    for (let j = 0; j < p; j++) out[i * p + j] *= inv;
  }
  return out;
}

function oneMinus(g: Matrix, clip: boolean): Matrix {
  const d = g.data;
  for (let i = 0; i < d.length; i++) {
    const r = clip ? Math.min(1, Math.max(-1, d[i])) : d[i];
    d[i] = 1 - r;
  }
  return g;
}

/**
 * The RBF kernel from a Gram matrix: exp(−d²_ij / (2t²·m)) with m the median of the squared distances over all n²
 * entries, zero diagonal and both triangles included (reference quirk, docs/measures.md#kernels-and-distances);
 * undefined when that median is not positive (the bandwidth is undefined). Also used on the Gram blocks of image
 * subsets (subsets.ts). `inPlace`: the kernel overwrites the Gram matrix instead of filling a fresh n² array;
 * `symmetric`: the Gram matrix is exactly symmetric (gram() mirrors its triangle), so the distances are too and
 * their median comes from one triangle.
 */
export function rbfFromGram(g: Matrix, t: number, opts: { inPlace?: boolean; symmetric?: boolean } = {}): Float64Array | undefined {
  const s = squaredDistancesFromGram(g, opts.inPlace ? g.data : new Float64Array(g.rows * g.rows));
  const m = opts.symmetric ? symmetricMedian(s, g.rows) : median(s);
  if (!(m > 0)) return undefined;
  const scale = 1 / (2 * t * t * m);
  for (let i = 0; i < s.length; i++) s[i] = Math.exp(-s[i] * scale);
  return s;
}

/** Pairwise L1 distances: no product form exists, so this is the one O(n²p) loop. */
export function l1Distances(x: FeatureMatrix): Float64Array {
  const { n, p, data } = x;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const a = i * p;
    for (let j = i + 1; j < n; j++) {
      const b = j * p;
      let s = 0;
      for (let k = 0; k < p; k++) s += Math.abs(data[a + k] - data[b + k]);
      out[i * n + j] = s;
      out[j * n + i] = s;
    }
  }
  return out;
}

/** Up to three n×n float64 matrices live at once here (Gram, distances, the RBF median's sorted copy). */
function checkSquare(x: FeatureMatrix): void {
  checkAllocation(`the ${formatCount(x.n)}×${formatCount(x.n)} image-by-image matrices (${formatCount(x.n)} images)`, 3 * 8 * x.n * x.n, x.label);
}

/** DDS function f: kernel (linear, rbf, lap) or distance matrix (pearson, euclidean, cosine). */
export async function kernelMatrix(x: FeatureMatrix, kernel: KernelName, opts: KernelOptions = {}): Promise<Matrix> {
  const { n } = x;
  checkSquare(x);
  const asMatrix = (data: Float64Array): Matrix => ({ rows: n, cols: x.p, data });
  switch (kernel) {
    case 'linear':
      return gram(asMatrix(x.data), opts);
    case 'rbf': {
      const s = rbfFromGram(await gram(asMatrix(x.data), opts), opts.t ?? 0.5, { inPlace: true, symmetric: true });
      if (!s) {
        throw new Error(`${x.label}: the median squared distance between images is 0 (most images are identical), so the RBF bandwidth is undefined`);
      }
      return { rows: n, cols: n, data: s };
    }
    case 'lap': {
      const d = l1Distances(x);
      const gamma = 1 / x.p;
      for (let i = 0; i < d.length; i++) d[i] = Math.exp(-gamma * d[i]);
      return { rows: n, cols: n, data: d };
    }
    case 'pearson':
      return oneMinus(await gram(asMatrix(rowStandardized(x)), opts), true);
    case 'cosine':
      return oneMinus(await gram(asMatrix(rowNormalized(x)), opts), false);
    case 'euclidean': {
      // Exact ties survive (src/linalg/distances.ts): rank comparators see every ulp.
      const d = await euclideanDistances(asMatrix(x.data), { ...opts, label: x.label });
      return { rows: n, cols: n, data: d.data };
    }
    default:
      throw new Error(`unknown kernel "${kernel as string}" (use ${KERNELS.join(', ')})`);
  }
}

/** An RDM (representational dissimilarity matrix) with zero diagonal. */
export async function rdmMatrix(x: FeatureMatrix, distance: RdmDistance, opts: GemmOptions = {}): Promise<Matrix> {
  checkSquare(x);
  let d: Matrix;
  switch (distance) {
    case 'correlation':
      d = await kernelMatrix(x, 'pearson', opts);
      break;
    case 'cosine':
      d = await kernelMatrix(x, 'cosine', opts);
      break;
    case 'euclidean':
      d = await kernelMatrix(x, 'euclidean', opts);
      break;
    case 'sqeuclidean': {
      const s = await squaredEuclideanDistances({ rows: x.n, cols: x.p, data: x.data }, { ...opts, label: x.label });
      d = { rows: x.n, cols: x.n, data: s.data };
      break;
    }
    default:
      throw new Error(`unknown RDM distance "${distance as string}" (use ${RDM_DISTANCES.join(', ')})`);
  }
  for (let i = 0; i < x.n; i++) d.data[i * x.n + i] = 0;
  return d;
}
