/**
 * Prepared forms of image subsets from the full set's n×n matrices (issue 15: the bootstrap of `rank`). The
 * protocol recomputes every model on every subset of images — feature statistics, the n×n matrix, its centring
 * and ranks (docs/evaluation.md#source-ranking). For most measures the subset's n×n matrix follows exactly from
 * the full set's, without going back to the features:
 *
 * - the per-image normalisations (none, layer_norm, group_norm, instance_norm) act on each image alone, so a
 *   subset's normalised rows are rows of the full set's, and its Gram matrix is a block of the full Gram matrix;
 * - feature centring over the subset's images is a double centring of that block:
 *   ⟨x_i − x̄_S, x_j − x̄_S⟩ = G_ij − a_i − a_j + b with a_i the mean of row i of the block and b its grand mean
 *   (the full set's rows are centred by the full mean first, which changes nothing exactly and keeps the
 *   per-subset correction small);
 * - cosine (1 − cos between images) follows from that Gram block; correlation (1 − Pearson between images) from
 *   the same construction on the rows minus their own feature means (removing a row's mean acts on the right,
 *   feature centring on the left, so the two commute: the subset's matrix is the double-centred block of the
 *   Gram matrix of the row-centred rows);
 * - RBF needs squared distances G_ii + G_jj − 2G_ij and the median of the subset's own distances; Laplace the L1
 *   distances, a block of the full set's.
 *
 * The matrix centring, ranks and unit scaling of the comparator then run on the s×s block with the same code as
 * the full computation (compare.ts), so results agree with recomputing from features up to float rounding
 * (~1e-15; test/measures/subsets.test.ts requires 1e-12). Feature z-scoring and batch_norm (statistics over the
 * subset's images, per feature), and the Euclidean distances (exact-tie construction, linalg/distances.ts), do
 * not follow from the full matrices: those measures keep the recomputation. A subset that comes close to a
 * degenerate case (an image with constant features, a zero-variance row) is handed back to the recomputation
 * too, which then gives its exact value or its error message.
 */
import type { Representation } from '../features/types.js';
import type { Matrix } from '../linalg/dense.js';
import { gram, type GemmOptions } from '../linalg/gemm.js';
import { maxMemory } from '../io/limits.js';
import { centerMatrix, maxAbs, preparedLength, prepareForComparator, prepareSpearmanTriangle, type Prepared } from './compare.js';
import { l1Distances, rbfFromGram } from './kernels.js';
import { normalizeFeatures } from './normalize.js';
import type { Pipeline } from './registry.js';

/** A representation's prepared forms on subsets of its images, computed from its full n×n matrices. */
export interface SubsetPreparer {
  /**
   * The prepared form of the representation restricted to the images `idx` (ascending, distinct), the same as
   * preparing `subsetImages(rep, idx)` up to rounding; undefined when this subset must be recomputed from features
   * (close to a degenerate case, see the module comment). `into` (preparedLength values for the comparator) may
   * receive a product-form vector instead of a fresh array: a caller that reuses it across draws saves the page
   * faults of fresh memory.
   */
  prepare(idx: ArrayLike<number>, into?: Float64Array): Prepared | undefined;
}

/** Relative size below which a norm or variance counts as (numerically) zero: the recomputation decides then. */
const DEGENERATE = 1e-10;

type Kind = 'linear' | 'cosine' | 'pearson' | 'rbf' | 'lap';

/** What the pipeline's n×n matrix is built from, when a subset's matrix follows from the full set's. */
function sliceKind(p: Pipeline): Kind | undefined {
  if (!(p.norm === 'none' || p.norm === 'centering' || p.norm === 'layer_norm' || p.norm === 'group_norm' || p.norm === 'instance_norm')) return undefined;
  const f = p.matrix.type === 'kernel' ? p.matrix.kernel : p.matrix.distance;
  switch (f) {
    case 'linear':
    case 'cosine':
    case 'pearson':
    case 'rbf':
    case 'lap':
      return f;
    case 'correlation':
      return 'pearson';
    default:
      return undefined;
  }
}

/** Whether `subsetPreparer` can serve this pipeline (the others recompute every subset from features). */
export function slicesSubsets(p: Pipeline): boolean {
  return sliceKind(p) !== undefined;
}

/** Bytes the preparers of `members` representations on `n` images keep (one n×n float64 matrix each). */
export function subsetPreparerBytes(n: number, members: number): number {
  return 8 * n * n * members;
}

/**
 * Whether preparers for `members` representations on `n` images fit in half the memory budget (the other half is
 * left to the draws themselves); when they do not, the caller recomputes from features, which needs no n×n matrix.
 */
export function subsetPreparersFit(n: number, members: number): boolean {
  return subsetPreparerBytes(n, members) <= maxMemory() / 2;
}

/** The s×s block of a symmetric n×n matrix at rows and columns `idx`. */
function block(full: Float64Array, n: number, idx: ArrayLike<number>): Float64Array {
  const s = idx.length;
  const out = new Float64Array(s * s);
  for (let a = 0; a < s; a++) {
    const row = idx[a] * n;
    for (let b = 0; b < s; b++) out[a * s + b] = full[row + idx[b]];
  }
  return out;
}

/** Subtract each row's mean over its p features (in place). */
function centerRows(x: Float64Array, n: number, p: number): Float64Array {
  for (let i = 0; i < n; i++) {
    let mean = 0;
    for (let j = 0; j < p; j++) mean += x[i * p + j];
    mean /= p;
    for (let j = 0; j < p; j++) x[i * p + j] -= mean;
  }
  return x;
}

/** Row means of the s×s block of `g` at `idx` and their mean (the double centring's terms); zeros when not centred. */
function blockMeans(g: Float64Array, n: number, idx: ArrayLike<number>, centred: boolean): { mean: Float64Array; grand: number } {
  const s = idx.length;
  const mean = new Float64Array(s);
  if (!centred) return { mean, grand: 0 };
  for (let a = 0; a < s; a++) {
    const row = idx[a] * n;
    let sum = 0;
    for (let b = 0; b < s; b++) sum += g[row + idx[b]];
    mean[a] = sum / s;
  }
  let grand = 0;
  for (let a = 0; a < s; a++) grand += mean[a];
  return { mean, grand: grand / s };
}

/**
 * 1/√h_ii of the (double-centred) block's diagonal for cosine and Pearson — 0 for an all-zero row under cosine —
 * or undefined when a diagonal entry is numerically zero: the recomputation decides then (its exact zero, or the
 * constant-image error of Pearson).
 */
function inverseNorms(
  kind: 'cosine' | 'pearson',
  g: Float64Array,
  n: number,
  idx: ArrayLike<number>,
  mean: Float64Array,
  grand: number,
): Float64Array | undefined {
  const s = idx.length;
  const diag = new Float64Array(s);
  let top = 0;
  for (let a = 0; a < s; a++) {
    diag[a] = g[idx[a] * n + idx[a]] - mean[a] - mean[a] + grand;
    top = Math.max(top, diag[a]);
  }
  const inv = new Float64Array(s);
  for (let a = 0; a < s; a++) {
    const d = diag[a];
    if (d === 0 && kind === 'cosine') continue;
    if (!(d > DEGENERATE * top)) return undefined;
    inv[a] = 1 / Math.sqrt(d);
  }
  return inv;
}

/**
 * One entry of a subset's linear, cosine or Pearson matrix from its block entry `v` = G_ij (the double-centring
 * terms applied by the caller): rowNormalized / rowStandardized + Gram + 1 − g, with g_ij = v / √(h_ii h_jj),
 * clipped to [−1, 1] for Pearson.
 */
function entry(kind: 'linear' | 'cosine' | 'pearson', v: number, invA: number, invB: number): number {
  if (kind === 'linear') return v;
  const c = v * invA * invB;
  return 1 - (kind === 'pearson' ? Math.min(1, Math.max(-1, c)) : c);
}

/**
 * The subset's linear, cosine or Pearson matrix f (before the matrix centring) into `h` (s² values), or undefined
 * near a degenerate case, from the block of `g` (the Gram matrix of the normalised rows; of the row-centred rows for
 * Pearson), feature-centred (double centring) when `centred`; each pair computed once and mirrored.
 */
function productMatrix(
  kind: 'linear' | 'cosine' | 'pearson',
  g: Float64Array,
  n: number,
  idx: ArrayLike<number>,
  centred: boolean,
  h: Float64Array,
): Float64Array | undefined {
  const s = idx.length;
  const { mean, grand } = blockMeans(g, n, idx, centred);
  const inv = kind === 'linear' ? new Float64Array(s) : inverseNorms(kind, g, n, idx, mean, grand);
  if (!inv) return undefined;
  for (let a = 0; a < s; a++) {
    const row = idx[a] * n;
    for (let b = a; b < s; b++) {
      const k = entry(kind, g[row + idx[b]] - mean[a] - mean[b] + grand, inv[a], inv[b]);
      h[a * s + b] = k;
      h[b * s + a] = k;
    }
  }
  return h;
}

/**
 * The upper triangle of a subset's cosine or correlation RDM straight into `t` (s(s−1)/2 values), for the
 * Spearman comparator, which reads nothing else: productMatrix's upper triangle without the s×s matrix. Returns
 * max |value| (the scale of the zero-diagonal symmetric RDM), or undefined near a degenerate case.
 */
function rdmTriangle(kind: 'cosine' | 'pearson', g: Float64Array, n: number, idx: ArrayLike<number>, centred: boolean, t: Float64Array): number | undefined {
  const s = idx.length;
  const { mean, grand } = blockMeans(g, n, idx, centred);
  const inv = inverseNorms(kind, g, n, idx, mean, grand);
  if (!inv) return undefined;
  let q = 0;
  let scale = 0;
  const pearson = kind === 'pearson';
  for (let a = 0; a < s; a++) {
    const row = idx[a] * n;
    const ma = mean[a];
    const ia = inv[a];
    // entry() written out, with the same operations in the same order (the same bits): this loop runs s²/2 times
    // per member and draw of a bootstrap.
    for (let b = a + 1; b < s; b++) {
      const c = (g[row + idx[b]] - ma - mean[b] + grand) * ia * inv[b];
      const k = 1 - (pearson ? Math.min(1, Math.max(-1, c)) : c);
      t[q++] = k;
      scale = Math.max(scale, Math.abs(k));
    }
  }
  return scale;
}

/**
 * What a preparer works from, plain data that can be posted to a worker thread (measures/subsetDraws.ts): the
 * full n×n matrix (the Gram matrix of the normalised rows — of the row-centred rows for Pearson — or the L1
 * distances for Laplace), and how a subset's matrix follows from it.
 */
export interface SubsetSource {
  kind: Kind;
  /** n×n, row-major (in a SharedArrayBuffer when shared with workers). */
  matrix: Float64Array;
  n: number;
  p: number;
  centred: boolean;
  pipeline: Pipeline;
  label: string;
}

/** A representation's preparer, with the source it was built from (to build the same preparer elsewhere). */
export interface SourcedPreparer extends SubsetPreparer {
  source: SubsetSource;
}

/** A copy of `x` in a SharedArrayBuffer (readable by worker threads without copying). */
export function shared(x: Float64Array): Float64Array {
  const out = new Float64Array(new SharedArrayBuffer(x.byteLength));
  out.set(x);
  return out;
}

/** The preparer of a source (see SubsetSource); the same results wherever it runs. */
export function preparerOf(source: SubsetSource, scratch: Pick<SubsetScratch, 'matrix'> = { matrix: { data: new Float64Array(0) } }): SourcedPreparer {
  const { kind, matrix, n, p, centred, pipeline, label } = source;
  const isRdm = pipeline.matrix.type === 'rdm';
  const spearmanRdm = isRdm && pipeline.centering === 'none' && pipeline.compare === 'spearman';
  const finish = (k: Float64Array, s: number, into: Float64Array | undefined): Prepared | undefined => {
    if (isRdm) for (let a = 0; a < s; a++) k[a * s + a] = 0;
    const m: Matrix = { rows: s, cols: s, data: k };
    const to = into?.length === preparedLength(pipeline.compare, s) ? into : undefined;
    try {
      return prepareForComparator(centerMatrix(m, pipeline.centering, label, true), pipeline.compare, label, maxAbs(k), to);
    } catch {
      // A degenerate subset (constant RDM, no variance): the recomputation gives the message with the member's file.
      return undefined;
    }
  };
  // The s×s matrix is scratch (the comparator copies what it keeps), reused by every draw and shared by the
  // preparers of one ranking (they run one at a time), because fresh memory costs a page fault per 4 KiB on first touch.
  const work = scratch.matrix;
  return {
    source,
    prepare(idx, into) {
      const s = idx.length;
      let k: Float64Array | undefined;
      if (kind === 'lap') {
        // L1 distances do not change under centring; the block of the full set's is the subset's (exp(−d/p) as kernels.ts).
        k = block(matrix, n, idx);
        const gamma = 1 / p;
        for (let i = 0; i < k.length; i++) k[i] = Math.exp(-gamma * k[i]);
      } else {
        if (work.data.length < s * s) work.data = new Float64Array(s * s);
        const h = work.data.length === s * s ? work.data : work.data.subarray(0, s * s);
        // RBF: the squared distances and their median from the (double-centred) Gram block.
        if (kind === 'rbf') {
          const rbf = rbfFromGram({ rows: s, cols: s, data: productMatrix('linear', matrix, n, idx, centred, h)! }, pipeline.t);
          return rbf ? finish(rbf, s, into) : undefined;
        }
        if (spearmanRdm && kind !== 'linear') {
          // RSA's default: only the triangle matters, and the Spearman comparator only reads it.
          const t = work.data.subarray(0, (s * (s - 1)) / 2);
          const scale = rdmTriangle(kind, matrix, n, idx, centred, t);
          if (scale === undefined) return undefined;
          try {
            return prepareSpearmanTriangle(t, label, scale, into?.length === t.length ? into : undefined);
          } catch {
            return undefined;
          }
        }
        k = productMatrix(kind, matrix, n, idx, centred, h);
      }
      return k ? finish(k, s, into) : undefined;
    },
  };
}

/**
 * The subset preparer of one representation under a pipeline, or undefined when the pipeline's subsets do not
 * follow from the full matrices (see the module comment). Costs one n×n Gram matrix (L1 distances for Laplace),
 * kept as n² doubles.
 */
export async function subsetPreparer(
  rep: Representation,
  pipeline: Pipeline,
  opts: GemmOptions & SubsetPreparerOptions = {},
): Promise<SourcedPreparer | undefined> {
  const kind = sliceKind(pipeline);
  if (!kind) return undefined;
  const { n, p, label } = rep;
  const scratch = opts.scratch?.features.length === n * p ? opts.scratch.features : undefined;
  const x = normalizeFeatures(rep, pipeline.norm, { shape: pipeline.shape, layout: pipeline.layout, groups: pipeline.groups }, scratch);
  const matrix =
    kind === 'lap' ? l1Distances({ label, n, p, data: x }) : (await gram({ rows: n, cols: p, data: kind === 'pearson' ? centerRows(x, n, p) : x }, opts)).data;
  // In shared memory when worker threads will prepare draws from it (subsetDraws.ts), read there in place.
  return preparerOf({ kind, matrix: opts.shared ? shared(matrix) : matrix, n, p, centred: pipeline.norm === 'centering', pipeline, label }, opts.scratch);
}

/** Options of subsetPreparer for building many preparers in a row. */
export interface SubsetPreparerOptions {
  /** Keep the full matrix in a SharedArrayBuffer (for worker threads). */
  shared?: boolean;
  /**
   * Work arrays shared by the preparers of one ranking, which run one at a time: the float64 features (n·p, used
   * while building a preparer) and the s×s subset matrix. Fresh memory costs a page fault per 4 KiB on first touch.
   */
  scratch?: SubsetScratch;
}

export interface SubsetScratch {
  features: Float64Array;
  matrix: { data: Float64Array };
}

/** Work arrays for preparers of representations with n·p features each (see SubsetPreparerOptions.scratch). */
export function subsetScratch(np: number): SubsetScratch {
  return { features: new Float64Array(np), matrix: { data: new Float64Array(0) } };
}
