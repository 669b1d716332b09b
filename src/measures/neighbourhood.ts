/**
 * Neighbourhood measures (docs/measures.md#neighbourhood-measures): how far two representations agree on which
 * images are close to which. Each model is prepared once — one n×n cosine-similarity Gram matrix on the GEMM engine,
 * from which the k nearest other images of every image are read — and a pair is then compared in O(n·k) (second-order
 * cosine: O(n·k·p), similarities to images outside a list come from the stored unit rows).
 *
 * Conventions, shared by every measure here:
 * - neighbours by cosine similarity of the raw feature rows (ReSi's `inner="cosine"`, platonic-rep's L2-normalised
 *   features); the image itself is never its own neighbour, whatever the similarities say (ReSi asks scikit-learn for
 *   k + 1 neighbours and drops the first, which is wrong when an image has duplicates);
 * - ties: among equally similar images the lower index comes first. Exactly duplicated images (after normalising
 *   rows) are given exactly equal similarities, so their ties are real ties; similarities that differ only by
 *   rounding are not ties;
 * - an image whose features are all zero has no cosine similarity: an error naming it.
 */
import { firstNonFinite, type Matrix } from '../linalg/dense.js';
import { duplicateRows } from '../linalg/distances.js';
import { gram, type GemmOptions } from '../linalg/gemm.js';
import { argsortDescending } from '../linalg/ranks.js';
import type { PairwiseFamily, PairwiseParams } from './pairwise.js';
import type { Invariance, ParamSpec } from './registry.js';

/** The neighbourhood size used when none is given (ReSi's and platonic-rep's default). */
export const DEFAULT_K = 10;

/** Up to this k, neighbours are picked by insertion into a sorted list; above it, by sorting each row. */
const INSERTION_K = 32;

/** One model's neighbour lists. */
export interface NeighbourLists {
  label: string;
  n: number;
  k: number;
  /** n×k row-major: row i holds the k nearest other images of image i, nearest first (ties: lower index first). */
  index: Int32Array;
}

/** Neighbour lists plus the cosine similarity of each image to each of its neighbours (CKNNA's kernel values). */
export interface KernelNeighbours extends NeighbourLists {
  /** n×k: value[i·k + t] = cos(x_i, x_index[i·k+t]). */
  value: Float64Array;
  /** HSIC of the model's k-NN-masked kernel with itself (the CKNNA normaliser). */
  selfHsic: number;
}

/**
 * Neighbour lists plus what second-order cosine needs for similarities to images outside them: the unit-length rows
 * (n×p, no more than the features) and which rows are duplicates — not the n×n matrix, which at n = 5000 would be
 * 200 MB per model.
 */
export interface SimilarityNeighbours extends NeighbourLists {
  /** n×k: cos(x_i, x_index[i·k+t]), as the neighbours were chosen. */
  value: Float64Array;
  /** n×p row-major, each row of unit length. */
  unit: Float64Array;
  p: number;
  /** first[i]: the first row equal to row i after normalisation (i itself when none). */
  first: Int32Array;
}

function checkK(k: number, n: number, label: string, min = 1): void {
  if (!Number.isInteger(k) || k < min) throw new Error(`${label}: k must be a whole number ≥ ${min}, got ${k}`);
  if (k > n - 1) {
    throw new Error(`${label}: k = ${k} neighbours need at least ${k + 1} images, got ${n} (lower k)`);
  }
}

/** Rows scaled to unit length (a fresh n×p array); an all-zero or non-finite row is an error naming the image. */
function unitRows(x: Matrix, label: string): Float64Array {
  const { rows: n, cols: p, data } = x;
  const bad = firstNonFinite(data);
  if (bad >= 0) {
    throw new Error(`${label}: feature ${bad % p} of image ${Math.floor(bad / p)} is ${data[bad]}; cosine similarity needs finite features`);
  }
  const y = new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    let m = 0;
    for (let j = 0; j < p; j++) m = Math.max(m, Math.abs(data[i * p + j]));
    if (m === 0) {
      throw new Error(`${label}: image ${i} has all-zero features, so its cosine similarity to other images is undefined (drop that image from every model)`);
    }
    // Scale by the largest entry first so that the sum of squares cannot overflow or underflow.
    let ss = 0;
    for (let j = 0; j < p; j++) ss += (data[i * p + j] / m) ** 2;
    const norm = Math.sqrt(ss);
    for (let j = 0; j < p; j++) y[i * p + j] = data[i * p + j] / m / norm;
  }
  return y;
}

/** The Gram matrix of unit rows made exact where it matters: duplicates tie exactly, similarity 1 between them, clipped. */
async function unitGram(y: Matrix, first: Int32Array, opts: GemmOptions): Promise<Matrix> {
  const n = y.rows;
  // Float64 whatever the run's precision: the neighbour order is decided by these values.
  const g = await gram(y, { engine: opts.engine, precision: 'float64' });
  const s = g.data;
  const hasDuplicates = first.some((r, i) => r !== i);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const a = hasDuplicates ? first[i] : i;
      const b = hasDuplicates ? first[j] : j;
      s[i * n + j] = a === b ? 1 : Math.min(1, Math.max(-1, s[a * n + b]));
    }
  }
  return g;
}

/**
 * Cosine similarities between the rows of x (n×n, exactly symmetric, diagonal 1, clipped to [−1, 1]); rows that are
 * equal after normalisation get exactly equal similarities and similarity 1 with each other.
 */
export async function cosineSimilarityMatrix(x: Matrix, label: string, opts: GemmOptions = {}): Promise<Matrix> {
  const y: Matrix = { rows: x.rows, cols: x.cols, data: unitRows(x, label) };
  return unitGram(y, duplicateRows(y), opts);
}

/** The similarities of every image to its neighbours, n×k, read from the n×n matrix. */
function neighbourValues(sim: Matrix, index: Int32Array, k: number): Float64Array {
  const n = sim.rows;
  const value = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let t = 0; t < k; t++) value[i * k + t] = sim.data[i * n + index[i * k + t]];
  return value;
}

/**
 * The k most similar other images of every image, most similar first; equal similarities in index order. `sim` is
 * an n×n similarity matrix (larger = closer).
 */
export function nearestNeighbours(sim: Matrix, k: number, label: string): Int32Array {
  const n = sim.rows;
  checkK(k, n, label);
  const s = sim.data;
  const out = new Int32Array(n * k);
  if (k > INSERTION_K) {
    for (let i = 0; i < n; i++) {
      // Stable: equal similarities keep index order. The image itself is skipped, not demoted.
      const order = argsortDescending(s.subarray(i * n, (i + 1) * n));
      let t = 0;
      for (let q = 0; q < n && t < k; q++) if (order[q] !== i) out[i * k + t++] = order[q];
    }
    return out;
  }
  const vals = new Float64Array(k);
  const idx = new Int32Array(k);
  for (let i = 0; i < n; i++) {
    let count = 0;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const v = s[i * n + j];
      if (count === k && !(v > vals[k - 1])) continue;
      // Insert after every kept value ≥ v: an equal value with a lower index stays ahead.
      let pos = count < k ? count : k - 1;
      while (pos > 0 && vals[pos - 1] < v) {
        vals[pos] = vals[pos - 1];
        idx[pos] = idx[pos - 1];
        pos--;
      }
      vals[pos] = v;
      idx[pos] = j;
      if (count < k) count++;
    }
    out.set(idx, i * k);
  }
  return out;
}

/** Neighbour lists of one model (mutual k-NN, Jaccard, rank similarity). */
export async function prepareNeighbours(x: Matrix, k: number, label: string, opts: GemmOptions = {}): Promise<NeighbourLists> {
  checkK(k, x.rows, label);
  const sim = await cosineSimilarityMatrix(x, label, opts);
  return { label, n: x.rows, k, index: nearestNeighbours(sim, k, label) };
}

/** Neighbour lists, their similarities and the unit rows (second-order cosine). */
export async function prepareSimilarityNeighbours(x: Matrix, k: number, label: string, opts: GemmOptions = {}): Promise<SimilarityNeighbours> {
  checkK(k, x.rows, label);
  const y: Matrix = { rows: x.rows, cols: x.cols, data: unitRows(x, label) };
  const first = duplicateRows(y);
  const sim = await unitGram(y, first, opts);
  const index = nearestNeighbours(sim, k, label);
  return { label, n: x.rows, k, index, value: neighbourValues(sim, index, k), unit: y.data, p: x.cols, first };
}

/** cos(x_i, x_j) of one model from its unit rows: 1 between duplicates (as in the Gram matrix), clipped. */
function rowCosine(m: SimilarityNeighbours, i: number, j: number): number {
  if (m.first[i] === m.first[j]) return 1;
  const { p, unit } = m;
  let s = 0;
  for (let c = 0; c < p; c++) s += unit[i * p + c] * unit[j * p + c];
  return Math.min(1, Math.max(-1, s));
}

function checkPair(a: NeighbourLists, b: NeighbourLists): void {
  if (a.n !== b.n) throw new Error(`${a.label} has ${a.n} images but ${b.label} has ${b.n}; neighbourhoods compare the same images`);
  if (a.k !== b.k) throw new Error(`${a.label} has ${a.k} neighbours per image but ${b.label} has ${b.k}`);
}

/**
 * Walk the shared neighbours of every image: `visit(i, rankA, rankB)` for each j in both lists (ranks 1-based),
 * `row(i, shared)` after each image.
 */
function forShared(
  a: NeighbourLists,
  b: NeighbourLists,
  visit: ((i: number, rankA: number, rankB: number) => void) | null,
  row: (i: number, shared: number) => void,
): void {
  checkPair(a, b);
  const { n, k } = a;
  const stamp = new Int32Array(n).fill(-1);
  const rankInB = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < k; t++) {
      const j = b.index[i * k + t];
      stamp[j] = i;
      rankInB[j] = t + 1;
    }
    let shared = 0;
    for (let t = 0; t < k; t++) {
      const j = a.index[i * k + t];
      if (stamp[j] !== i) continue;
      shared++;
      visit?.(i, t + 1, rankInB[j]);
    }
    row(i, shared);
  }
}

/** Mutual k-NN (platonic-rep `mutual_knn`): the mean over images of |N_A(i) ∩ N_B(i)| / k. */
export function mutualKnn(a: NeighbourLists, b: NeighbourLists): number {
  let total = 0;
  forShared(a, b, null, (_i, shared) => (total += shared));
  return total / (a.n * a.k);
}

/** k-NN Jaccard (ReSi `jaccard_similarity`, ALGORITHMS §6): the mean over images of |N_A ∩ N_B| / |N_A ∪ N_B|. */
export function jaccardKnn(a: NeighbourLists, b: NeighbourLists): number {
  let total = 0;
  forShared(a, b, null, (_i, shared) => (total += shared / (2 * a.k - shared)));
  return total / a.n;
}

/**
 * Rank similarity (ReSi `rank_similarity`): for each image, every shared neighbour j scores
 * 2 / ((1 + |r_A(j) − r_B(j)|)(r_A(j) + r_B(j))) with r the 1-based rank in each list, the sum is divided by
 * Σ_{t=1}^{s} 1/t (s shared neighbours; the value identical lists reach), and an image with no shared neighbour scores 0.
 * Mean over images.
 */
export function rankSimilarity(a: NeighbourLists, b: NeighbourLists): number {
  let total = 0;
  let score = 0;
  forShared(
    a,
    b,
    (_i, ra, rb) => (score += 2 / ((1 + Math.abs(ra - rb)) * (ra + rb))),
    (_i, shared) => {
      if (shared > 0) {
        let norm = 0;
        for (let t = 1; t <= shared; t++) norm += 1 / t;
        total += score / norm;
      }
      score = 0;
    },
  );
  return total / a.n;
}

/**
 * Second-order cosine similarity (ReSi `second_order_cosine_similarity`): for each image i, over U = N_A(i) ∪ N_B(i),
 * the cosine between the vectors of cosine distances (1 − cos) from i to U in A and in B; mean over images. An image
 * whose distances to U are all 0 in one model (it and all of U are duplicates) makes the cosine undefined: an error.
 */
export function secondOrderCosine(a: SimilarityNeighbours, b: SimilarityNeighbours): number {
  checkPair(a, b);
  const { n, k } = a;
  // Per image: which images are in each list (stamp = i) and their similarity there; the other model's neighbours
  // that are not in a list get their similarity from the unit rows (k dot products of length p at most).
  const inA = new Int32Array(n).fill(-1);
  const inB = new Int32Array(n).fill(-1);
  const simA = new Float64Array(n);
  const simB = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < k; t++) {
      const ja = a.index[i * k + t];
      inA[ja] = i;
      simA[ja] = a.value[i * k + t];
      const jb = b.index[i * k + t];
      inB[jb] = i;
      simB[jb] = b.value[i * k + t];
    }
    let dot = 0;
    let na = 0;
    let nb = 0;
    const add = (j: number) => {
      const da = 1 - (inA[j] === i ? simA[j] : rowCosine(a, i, j));
      const db = 1 - (inB[j] === i ? simB[j] : rowCosine(b, i, j));
      dot += da * db;
      na += da * da;
      nb += db * db;
    };
    for (let t = 0; t < k; t++) add(a.index[i * k + t]);
    for (let t = 0; t < k; t++) {
      const j = b.index[i * k + t];
      if (inA[j] !== i) add(j);
    }
    if (na === 0 || nb === 0) {
      const who = na === 0 ? a.label : b.label;
      throw new Error(`${who}: image ${i} is at cosine distance 0 from all its neighbours in both lists (duplicates), so its second-order cosine is undefined`);
    }
    total += Math.min(1, Math.max(-1, dot / Math.sqrt(na) / Math.sqrt(nb)));
  }
  return total / n;
}

// ---------------------------------------------------------------------------------------------------------
// CKNNA (platonic-rep `cknna`, unbiased, not distance-agnostic)

/**
 * Unbiased HSIC (Song et al. 2012, eq. 5, as platonic-rep's `hsic_unbiased`) of two n×n matrices that are zero
 * outside a sparse mask: entry (i, j) of the mask carries K_ij = kv[e] and L_ij = lv[e] for e in rowStart[i] ≤ e <
 * rowStart[i+1] with column col[e]. The masked matrices need not be symmetric (a k-NN graph is not), so the trace
 * term is Σ_ij K_ij L_ji as the reference writes it.
 */
function maskedHsic(n: number, rowStart: Int32Array, col: Int32Array, kv: Float64Array, lv: Float64Array): number {
  const colSumK = new Float64Array(n);
  const rowSumL = new Float64Array(n);
  let sumK = 0;
  let sumL = 0;
  let trace = 0;
  for (let i = 0; i < n; i++) {
    for (let e = rowStart[i]; e < rowStart[i + 1]; e++) {
      const j = col[e];
      sumK += kv[e];
      sumL += lv[e];
      colSumK[j] += kv[e];
      rowSumL[i] += lv[e];
      // L_ji: is (j, i) in the mask? Rows hold at most k entries, so a scan is cheap.
      for (let f = rowStart[j]; f < rowStart[j + 1]; f++) {
        if (col[f] === i) {
          trace += kv[e] * lv[f];
          break;
        }
      }
    }
  }
  let cross = 0;
  for (let l = 0; l < n; l++) cross += colSumK[l] * rowSumL[l];
  return (trace + (sumK * sumL) / ((n - 1) * (n - 2)) - (2 * cross) / (n - 2)) / (n * (n - 3));
}

/** Neighbour lists, kernel values and the self-HSIC of one model (CKNNA). k ≥ 2 and n ≥ 4. */
export async function prepareKernelNeighbours(x: Matrix, k: number, label: string, opts: GemmOptions = {}): Promise<KernelNeighbours> {
  const n = x.rows;
  checkK(k, n, label, 2);
  if (n < 4) throw new Error(`${label}: CKNNA's unbiased HSIC needs at least 4 images, got ${n}`);
  const sim = await cosineSimilarityMatrix(x, label, opts);
  const index = nearestNeighbours(sim, k, label);
  const value = neighbourValues(sim, index, k);
  const rowStart = Int32Array.from({ length: n + 1 }, (_, i) => i * k);
  const selfHsic = maskedHsic(n, rowStart, index, value, value);
  if (!(selfHsic > 0)) {
    throw new Error(
      `${label}: CKNNA is undefined: the unbiased HSIC of its ${k}-nearest-neighbour kernel with itself is ${selfHsic} (not positive); try a larger k`,
    );
  }
  return { label, n, k, index, value, selfHsic };
}

/**
 * CKNNA (Huh et al. 2024, platonic-rep `cknna`): unbiased HSIC of the two cosine kernels, each kept only on the pairs
 * (i, j) where j is among the k nearest neighbours of i in BOTH models, normalised by each model's HSIC on its own
 * k-NN mask. platonic-rep adds 1e-6 to the denominator; taskmap does not, so a model scores exactly 1 with itself.
 */
export function cknna(a: KernelNeighbours, b: KernelNeighbours): number {
  checkPair(a, b);
  const { n, k } = a;
  const stamp = new Int32Array(n).fill(-1);
  const valueInB = new Float64Array(n);
  const rowStart = new Int32Array(n + 1);
  const col = new Int32Array(n * k);
  const kv = new Float64Array(n * k);
  const lv = new Float64Array(n * k);
  let e = 0;
  for (let i = 0; i < n; i++) {
    rowStart[i] = e;
    for (let t = 0; t < k; t++) {
      const j = b.index[i * k + t];
      stamp[j] = i;
      valueInB[j] = b.value[i * k + t];
    }
    for (let t = 0; t < k; t++) {
      const j = a.index[i * k + t];
      if (stamp[j] !== i) continue;
      col[e] = j;
      kv[e] = a.value[i * k + t];
      lv[e] = valueInB[j];
      e++;
    }
  }
  rowStart[n] = e;
  return maskedHsic(n, rowStart, col, kv, lv) / Math.sqrt(a.selfHsic * b.selfHsic);
}

// ---------------------------------------------------------------------------------------------------------
// Registration (pairwise.ts)

const K_PARAM: ParamSpec = {
  name: 'k',
  type: 'number',
  default: DEFAULT_K,
  min: 1,
  integer: true,
  description: 'neighbours per image (cosine similarity, the image itself excluded, ties to the lower index); needs k < n',
};

const NEIGHBOURHOOD_INVARIANCES: Invariance[] = ['orthogonal', 'isotropic-scaling', 'feature-permutation'];
const NEIGHBOURHOOD_FEW_IMAGES = 'no special case: neighbours come from the n×n cosine Gram matrix whatever p; needs k < n (at least k + 1 images)';
const kOf = (params: PairwiseParams): number => params.k as number;

function listFamily(
  id: string,
  name: string,
  description: string,
  reference: string,
  measure: (a: NeighbourLists, b: NeighbourLists) => number,
): PairwiseFamily<NeighbourLists> {
  return {
    id,
    name,
    description,
    reference,
    params: [K_PARAM],
    largerIsMoreSimilar: true,
    symmetric: true,
    metric: false,
    invariances: NEIGHBOURHOOD_INVARIANCES,
    cost: { tier: 'cheap', scaling: 'M·n²·p (one cosine Gram per model) + M²·n·k (pairs); keeps n·k indices per model' },
    fewImages: NEIGHBOURHOOD_FEW_IMAGES,
    self: 1,
    prepare: (x, params, label, ctx) => prepareNeighbours(x, kOf(params), label, { engine: ctx.engine }),
    compare: (a, b) => measure(a, b),
  };
}

export const MUTUAL_KNN_FAMILY = listFamily(
  'mutual-knn',
  'Mutual k-nearest neighbours',
  'Mean over images of the fraction of its k nearest neighbours (cosine) that both representations share: |N_A(i) ∩ N_B(i)| / k.',
  'Huh, Cheung, Wang & Isola, The Platonic Representation Hypothesis, ICML 2024 (platonic-rep mutual_knn)',
  mutualKnn,
);

export const JACCARD_KNN_FAMILY = listFamily(
  'jaccard-knn',
  'k-NN Jaccard similarity',
  'Mean over images of the Jaccard index of the two k-nearest-neighbour sets (cosine): |N_A ∩ N_B| / |N_A ∪ N_B|.',
  'Klabunde et al., ReSi: A Comprehensive Benchmark for Representational Similarity Measures, ICLR 2025 (repsim jaccard_similarity)',
  jaccardKnn,
);

export const RANK_SIMILARITY_FAMILY = listFamily(
  'rank-similarity',
  'Rank similarity',
  'Shared k-nearest neighbours weighted by how close their ranks are in the two lists: Σ 2 / ((1 + |r_A − r_B|)(r_A + r_B)), normalised per image.',
  'Klabunde et al., ReSi: A Comprehensive Benchmark for Representational Similarity Measures, ICLR 2025 (repsim rank_similarity)',
  rankSimilarity,
);

export const SECOND_ORDER_COSINE_FAMILY: PairwiseFamily<SimilarityNeighbours> = {
  id: 'second-order-cosine',
  name: 'Second-order cosine similarity',
  description: "Per image, the cosine between its vectors of cosine distances to the union of both models' k nearest neighbours; mean over images.",
  reference: 'Hamilton, Leskovec & Jurafsky, Cultural Shift or Linguistic Drift?, EMNLP 2016; as ReSi (second_order_cosine_similarity)',
  params: [K_PARAM],
  largerIsMoreSimilar: true,
  symmetric: true,
  metric: false,
  invariances: NEIGHBOURHOOD_INVARIANCES,
  cost: { tier: 'cheap', scaling: 'M·n²·p (one cosine Gram per model) + M²·n·k·p (pairs); keeps the unit rows (n·p) per model' },
  fewImages: NEIGHBOURHOOD_FEW_IMAGES,
  self: 1,
  prepare: (x, params, label, ctx) => prepareSimilarityNeighbours(x, kOf(params), label, { engine: ctx.engine }),
  compare: (a, b) => secondOrderCosine(a, b),
};

export const CKNNA_FAMILY: PairwiseFamily<KernelNeighbours> = {
  id: 'cknna',
  name: 'CKNNA (centred kernel nearest-neighbour alignment)',
  description:
    'Unbiased HSIC of the cosine kernels restricted to pairs that are k-nearest neighbours in both models, normalised by each ' +
    "model's HSIC on its own neighbours. k = n − 1 gives unbiased CKA of the cosine kernels. Not symmetric (as platonic-rep).",
  reference: 'Huh, Cheung, Wang & Isola, The Platonic Representation Hypothesis, ICML 2024 (platonic-rep cknna, unbiased)',
  params: [{ ...K_PARAM, min: 2, description: 'neighbours per image (cosine similarity, self excluded, ties to the lower index); 2 ≤ k < n' }],
  largerIsMoreSimilar: true,
  symmetric: false,
  metric: false,
  invariances: NEIGHBOURHOOD_INVARIANCES,
  cost: { tier: 'cheap', scaling: 'M·n²·p (one cosine Gram per model) + M²·n·k² (pairs); keeps 2·n·k values per model' },
  fewImages: `${NEIGHBOURHOOD_FEW_IMAGES}; at least 4 images (unbiased HSIC)`,
  self: 1,
  prepare: (x, params, label, ctx) => prepareKernelNeighbours(x, kOf(params), label, { engine: ctx.engine }),
  compare: (a, b) => cknna(a, b),
};

/** The neighbourhood families, in listing order. */
export const NEIGHBOURHOOD_FAMILIES = [MUTUAL_KNN_FAMILY, JACCARD_KNN_FAMILY, RANK_SIMILARITY_FAMILY, SECOND_ORDER_COSINE_FAMILY, CKNNA_FAMILY] as const;
