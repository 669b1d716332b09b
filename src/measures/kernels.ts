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

/** Squared Euclidean distances ‖x_i‖² + ‖x_j‖² − 2 x_iᵀx_j from a Gram matrix (not clipped, as the reference). */
function squaredDistancesFromGram(g: Matrix): Float64Array {
  const n = g.rows;
  const s = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) s[i * n + j] = g.data[i * n + i] + g.data[j * n + j] - 2 * g.data[i * n + j];
  return s;
}

function median(values: Float64Array): number {
  const sorted = Float64Array.from(values).sort();
  const m = sorted.length;
  return m % 2 === 1 ? sorted[(m - 1) / 2] : (sorted[m / 2 - 1] + sorted[m / 2]) / 2;
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
 * subsets (subsets.ts).
 */
export function rbfFromGram(g: Matrix, t: number): Float64Array | undefined {
  const s = squaredDistancesFromGram(g);
  const m = median(s);
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
      const s = rbfFromGram(await gram(asMatrix(x.data), opts), opts.t ?? 0.5);
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
