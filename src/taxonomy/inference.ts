/**
 * Inference on any similarity (docs/measures.md#inference): how much an M×M matrix and the tree built on it depend
 * on which probe images were used, and whether one pair's similarity is more than chance.
 *
 * - Bootstrap: B seeded draws of images; EVERYTHING is recomputed per draw (feature statistics, kernels, bandwidths,
 *   centring all depend on which images are present — the same protocol as `rank --bootstrap`), giving the M×M
 *   matrix of every draw, per-cell percentile intervals, and the split support of the full-data tree. For the batched
 *   families a subset's n×n matrix is taken from the full set's where it follows exactly (measures/subsets.ts, as
 *   `rank` does): the same values to rounding, without going back to the features. Draws are
 *   subsets WITHOUT replacement by default (`subset` images, the rank convention): every measure handles them. With
 *   replacement, an image drawn twice is a pair of identical rows — a zero distance that RDMs, k-NN lists, RBF
 *   bandwidths and cross-validation folds all treat as real data, biasing the families that look at neighbours or
 *   held-out images towards similarity; it is offered (`replacement`) for the classical n-out-of-n bootstrap.
 * - Permutation test of one pair: the observed value against P shuffles of one model's image order. For the batched
 *   families (RSA, DDS, CKA) a shuffle of the images permutes the rows and columns of the model's n×n matrix and so
 *   the entries of its prepared vector (every normalisation, kernel, centring and comparator here is equivariant
 *   under a reordering of the images), so each shuffle costs a gather of n² values instead of a new prepare; the
 *   pairwise families re-prepare the shuffled model each time.
 */
import type { Representation } from '../features/types.js';
import type { Matrix } from '../linalg/dense.js';
import { getGemmEngine, type GemmEngine, type Precision } from '../linalg/gemm.js';
import type { LabelledMatrix } from '../linalg/labelled.js';
import { mulberry32, percentile } from '../linalg/resample.js';
import { checkAllocation } from '../io/limits.js';
import { directionOf, type Direction } from '../measures/catalogue.js';
import type { Prepared } from '../measures/compare.js';
import { comparePreparedRdms } from '../measures/rdmComparators.js';
import { isPairwise, measureId, parseMeasure, type MeasureConfig } from '../measures/registry.js';
import { fullMatrixDraws } from '../measures/subsetDraws.js';
import { crossSimilarity, PreparedCache, preparedCacheKey, similarityMatrix } from '../measures/similarity.js';
import { closeMatches } from '../util/names.js';
import { linkage, similarityToDistance, type Dendrogram, type Linkage } from './cluster.js';
import { bootstrapSubsets, checkBootstrapOptions, subsetImages } from './rank.js';
import { splitSupport } from './support.js';

/** The generator and samplers, named in outputs so a run can be reproduced elsewhere. */
export const INFERENCE_GENERATOR = 'mulberry32 + Fisher–Yates (src/linalg/resample.ts, src/taxonomy/inference.ts)';

/** The seed when none is given: rank's default, so `--bootstrap` draws the same subsets in both commands. */
export const DEFAULT_SEED = 1993;

/**
 * `k` indices from 0…n−1 drawn uniformly WITH replacement, sorted ascending: index = ⌊u·n⌋ for each of k generator
 * values u. Sorting keeps each draw's rows in the feature set's order; the multiset is what matters.
 */
export function sampleWithReplacement(n: number, k: number, random: () => number): Uint32Array {
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(k) || k < 0) throw new Error(`cannot draw ${k} items from ${n}`);
  const out = new Uint32Array(k);
  for (let i = 0; i < k; i++) out[i] = Math.floor(random() * n);
  return out.sort();
}

/**
 * A uniformly random permutation of 0…n−1, in shuffled order: Fisher–Yates on the identity, for i = 0…n−2,
 * j = i + ⌊u·(n − i)⌋, swap i and j (n − 1 generator values; the same swaps as sampleWithoutReplacement, unsorted).
 */
export function randomPermutation(n: number, random: () => number): Uint32Array {
  if (!Number.isInteger(n) || n < 1) throw new Error(`cannot permute ${n} items`);
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let i = 0; i < n - 1; i++) {
    const j = i + Math.floor(random() * (n - i));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm;
}

// ---------------------------------------------------------------------------------------------------------
// Bootstrap

export interface BootstrapOptions {
  /** Number of draws B (a whole number ≥ 1). */
  draws: number;
  /** Images per draw, drawn without replacement (default min(200, ⌊n/2⌋), as `rank`); not with `replacement`. */
  subset?: number;
  /** Draw n images with replacement instead of a subset (duplicated images: see the module comment). */
  replacement?: boolean;
  /** Generator seed, an integer 0…2³²−1 (default 1993). */
  seed?: number;
  /**
   * The draws themselves (image indices per draw), instead of drawing them: reproduces another run's draws, or
   * checks the protocol (B identity draws must give the point estimate B times). `draws` must equal their number.
   */
  indices?: readonly ArrayLike<number>[];
  /** Coverage of the percentile intervals (default 0.95: the 2.5th and 97.5th percentiles). */
  level?: number;
  /** The full-data matrix when the caller already has it (e.g. from a cache); computed otherwise. */
  point?: LabelledMatrix;
  /**
   * Recompute every draw from the features. By default a batched measure's draws of distinct images take their n×n
   * matrices from the full set's where they follow exactly (measures/subsets.ts, as `rank`): the same values up to
   * rounding (~1e-15), several times faster.
   */
  recomputeDraws?: boolean;
  engine?: GemmEngine;
  precision?: Precision;
  /** Called before the first draw (done 0) and after each: (done, B, label). */
  onProgress?: (done: number, total: number, label: string) => void;
}

/** Per-cell summaries of the draws (M×M each). */
export interface CellIntervals {
  mean: Matrix;
  /** Standard deviation over the draws (divisor B − 1; 0 when B = 1). */
  sd: Matrix;
  /** The (1 − level)/2 and (1 + level)/2 percentiles of the draws, numpy's linear rule. */
  lower: Matrix;
  upper: Matrix;
}

/** How the draws were made. */
export interface Resampling {
  draws: number;
  /** Images per draw. */
  size: number;
  replacement: boolean;
  /** null when the draws were given (BootstrapOptions.indices). */
  seed: number | null;
  generator: string;
}

export interface SimilarityBootstrap extends CellIntervals {
  /** Canonical measure id. */
  measure: string;
  labels: string[];
  /** Images in the full set. */
  images: number;
  /** The matrix on all images. */
  point: LabelledMatrix;
  resampling: Resampling;
  level: number;
  /** The matrix of every draw, draw-major: matrices[d·M² + i·M + j]. */
  matrices: Float64Array;
}

/** The image indices of each draw, from the options (checked before any work). */
export function bootstrapDraws(
  n: number,
  opts: Pick<BootstrapOptions, 'draws' | 'subset' | 'replacement' | 'seed' | 'indices'>,
): {
  indices: ArrayLike<number>[];
  resampling: Resampling;
} {
  const { draws } = opts;
  if (!(Number.isInteger(draws) && draws >= 1)) throw new Error(`bootstrap: the number of draws must be a whole number ≥ 1, got ${draws}`);
  if (opts.indices) {
    if (opts.indices.length !== draws) throw new Error(`bootstrap: ${opts.indices.length} draws of indices given for ${draws} draws`);
    opts.indices.forEach((idx, d) => {
      if (idx.length < 1) throw new Error(`bootstrap draw ${d + 1}: no images`);
      for (let k = 0; k < idx.length; k++) {
        const i = idx[k];
        if (!(Number.isInteger(i) && i >= 0 && i < n)) throw new Error(`bootstrap draw ${d + 1}: image index ${i} is not in 0…${n - 1}`);
      }
    });
    const size = opts.indices[0].length;
    if (opts.indices.some((x) => x.length !== size)) throw new Error('bootstrap: the given draws must all have the same number of images');
    const replacement = opts.indices.some((x) => new Set(Array.from(x)).size < x.length);
    return { indices: [...opts.indices], resampling: { draws, size, replacement, seed: null, generator: 'given' } };
  }
  if (opts.replacement) {
    if (opts.subset !== undefined)
      throw new Error('bootstrap: a subset size applies to draws without replacement; with replacement every draw has all n images');
    const seed = opts.seed ?? DEFAULT_SEED;
    const random = mulberry32(seed);
    const indices = Array.from({ length: draws }, () => sampleWithReplacement(n, n, random));
    return { indices, resampling: { draws, size: n, replacement: true, seed, generator: INFERENCE_GENERATOR } };
  }
  const { subset, seed } = checkBootstrapOptions({ bootstrap: draws, subset: opts.subset, seed: opts.seed ?? DEFAULT_SEED }, n);
  return { indices: bootstrapSubsets(n, subset, draws, seed), resampling: { draws, size: subset, replacement: false, seed, generator: INFERENCE_GENERATOR } };
}

function checkLevel(level: number): number {
  if (!(level > 0 && level < 1)) throw new Error(`bootstrap: the interval level must be between 0 and 1 (e.g. 0.95), got ${level}`);
  return level;
}

/** Mean, sd and percentile interval of every cell over B draws of M×M matrices (draw-major). */
export function cellIntervals(matrices: ArrayLike<number>, draws: number, m: number, level = 0.95): CellIntervals {
  checkLevel(level);
  if (matrices.length !== draws * m * m) throw new Error(`cellIntervals: ${matrices.length} values for ${draws} draws of ${m}×${m}`);
  const make = () => ({ rows: m, cols: m, data: new Float64Array(m * m) });
  const out = { mean: make(), sd: make(), lower: make(), upper: make() };
  const cell = new Float64Array(draws);
  const [qLo, qHi] = [(100 * (1 - level)) / 2, (100 * (1 + level)) / 2];
  for (let c = 0; c < m * m; c++) {
    let sum = 0;
    for (let d = 0; d < draws; d++) sum += cell[d] = matrices[d * m * m + c];
    const mean = sum / draws;
    let ss = 0;
    for (let d = 0; d < draws; d++) ss += (cell[d] - mean) ** 2;
    out.mean.data[c] = mean;
    out.sd.data[c] = draws > 1 ? Math.sqrt(ss / (draws - 1)) : 0;
    out.lower.data[c] = percentile(cell, qLo);
    out.upper.data[c] = percentile(cell, qHi);
  }
  return out;
}

/**
 * The M×M matrix of `reps` under `measure` on all images and on each of B draws of images, with per-cell intervals.
 * Deterministic for a seed. A draw on which the measure is undefined (too few images for it, a constant RDM on a
 * small subset, …) is an error naming the draw.
 */
export async function bootstrapSimilarity(reps: Representation[], measure: string | MeasureConfig, opts: BootstrapOptions): Promise<SimilarityBootstrap> {
  if (reps.length === 0) throw new Error('bootstrap: no representations');
  const n = reps[0].n;
  const level = checkLevel(opts.level ?? 0.95);
  const config = typeof measure === 'string' ? parseMeasure(measure) : measure;
  const id = measureId(config);
  const { indices, resampling } = bootstrapDraws(n, opts);
  const m = reps.length;
  checkAllocation(`the bootstrap's ${resampling.draws} matrices of ${m}×${m}`, 8 * resampling.draws * m * m * 2);
  const engine = opts.engine ?? (await getGemmEngine());
  const gemm = { engine, precision: opts.precision };
  const total = resampling.draws;
  opts.onProgress?.(0, total, 'all images');
  const point = opts.point ?? (await similarityMatrix(reps, config, gemm));
  if (point.rows.length !== m || point.rows.some((l, i) => l !== reps[i].label) || (point.measure !== undefined && point.measure !== id)) {
    throw new Error(`bootstrap: the given full-data matrix is not ${id} of these ${m} models in this order`);
  }
  const matrices = new Float64Array(total * m * m);
  // Draws with replacement repeat images, which the subset preparers do not take; the full set (a draw of every
  // image in order) is the full-data matrix itself.
  const fromFull =
    resampling.replacement || indices.some((idx) => isIdentity(idx, n))
      ? undefined
      : await fullMatrixDraws(
          reps,
          config,
          indices.map((x) => Uint32Array.from(x)),
          gemm,
          opts.recomputeDraws,
        );
  const key = preparedCacheKey(id, opts.precision);
  try {
    for (let d = 0; d < total; d++) {
      const idx = indices[d];
      const what = resampling.seed === null ? `bootstrap draw ${d + 1} of ${total}` : describeDraw(d, resampling);
      if (isIdentity(idx, n)) {
        matrices.set(point.matrix.data, d * m * m);
        opts.onProgress?.(d + 1, total, what);
        continue;
      }
      let sim: LabelledMatrix;
      try {
        const drawn = reps.map((r) => subsetImages(r, idx));
        // Prepared forms that follow exactly from the full n×n matrices go in the cache; the others are recomputed.
        const cache = new PreparedCache();
        (await fromFull?.draws.draw(d))?.forEach((prepared, k) => {
          if (prepared) cache.set(drawn[k], key, prepared);
        });
        sim = await similarityMatrix(drawn, config, { ...gemm, cache });
      } catch (err) {
        throw new Error(`${what}: ${(err as Error).message}`, { cause: err });
      }
      matrices.set(sim.matrix.data, d * m * m);
      opts.onProgress?.(d + 1, total, what);
    }
  } finally {
    await fromFull?.draws.close();
  }
  return {
    measure: id,
    labels: point.rows,
    images: n,
    point,
    resampling,
    level,
    matrices,
    ...cellIntervals(matrices, total, m, level),
  };
}

function isIdentity(idx: ArrayLike<number>, n: number): boolean {
  if (idx.length !== n) return false;
  for (let i = 0; i < n; i++) if (idx[i] !== i) return false;
  return true;
}

function describeDraw(d: number, r: Resampling): string {
  const how = r.replacement ? `${r.size} images with replacement` : `${r.size} images`;
  return `bootstrap draw ${d + 1} of ${r.draws} (seed ${r.seed}, ${how})`;
}

/** Distances to cluster from a matrix read in `direction` (a similarity becomes 1 − s, as `taxonomy` does). */
function clusteringDistances(matrix: Matrix, direction: Direction, labels: string[]): Matrix {
  return direction === 'distance' ? matrix : similarityToDistance(matrix, labels);
}

export interface SplitSupportOptions {
  linkage: Linkage;
  /** How to read the matrices; default: the measure's direction from the catalogue (a similarity when unknown). */
  direction?: Direction;
}

export interface TreeSupport {
  /** The tree on the full-data matrix. */
  dendrogram: Dendrogram;
  /** Per merge of that tree (merge i = cluster n + i), the share of draws whose tree contains exactly its leaves. */
  support: number[];
}

/**
 * The tree of each draw's matrix (draw-major M×M matrices over `labels`), clustered like the full-data tree: the
 * same linkage, and a similarity read as 1 − s.
 */
export function drawTrees(labels: string[], matrices: Float64Array, opts: SplitSupportOptions & { direction: Direction }): Dendrogram[] {
  const m = labels.length;
  const draws = matrices.length / (m * m);
  if (!Number.isInteger(draws) || draws < 1) throw new Error(`split support: ${matrices.length} values are not whole ${m}×${m} draw matrices`);
  const trees: Dendrogram[] = [];
  for (let d = 0; d < draws; d++) {
    const data = matrices.subarray(d * m * m, (d + 1) * m * m);
    try {
      trees.push(linkage(clusteringDistances({ rows: m, cols: m, data }, opts.direction, labels), opts.linkage, labels));
    } catch (err) {
      throw new Error(`split support, draw ${d + 1} of ${draws}: ${(err as Error).message}`, { cause: err });
    }
  }
  return trees;
}

/**
 * Split support of the tree on `point` (the full-data matrix) over the draw matrices: each cluster of the full-data
 * tree counts the draws whose tree contains exactly its leaves.
 */
export function bootstrapSplitSupport(point: LabelledMatrix, matrices: Float64Array, opts: SplitSupportOptions): TreeSupport {
  const direction = opts.direction ?? directionOf(point.measure) ?? 'similarity';
  const labels = point.rows;
  const trees = drawTrees(labels, matrices, { linkage: opts.linkage, direction });
  const dendrogram = linkage(clusteringDistances(point.matrix, direction, labels), opts.linkage, labels);
  return { dendrogram, support: splitSupport(dendrogram, trees) };
}

// ---------------------------------------------------------------------------------------------------------
// Permutation test

export interface PermutationOptions {
  /** Number of shuffles P (a whole number ≥ 1). */
  permutations: number;
  /** Generator seed, an integer 0…2³²−1 (default 1993). */
  seed?: number;
  engine?: GemmEngine;
  precision?: Precision;
  /** Called after each shuffle: (done, P, label). */
  onProgress?: (done: number, total: number, label: string) => void;
}

export interface PermutationTest {
  measure: string;
  /** Labels of the pair; b's images are the ones shuffled. */
  a: string;
  b: string;
  images: number;
  observed: number;
  /** The measure's direction: similarities count shuffles ≥ observed, distances shuffles ≤ observed. */
  largerIsMoreSimilar: boolean;
  permutations: number;
  seed: number;
  generator: string;
  /** Shuffles at least as extreme as the observed value (ties within 1e-12 relative count as extreme). */
  extreme: number;
  /** (extreme + 1) / (P + 1): never 0, exact under exchangeability. */
  pValue: number;
  /** 'prepared': shuffles of the prepared vector (batched families); 'recomputed': the shuffled model re-prepared. */
  method: 'prepared' | 'recomputed';
  /** The value under each shuffle, in draw order. */
  null: Float64Array;
}

/**
 * The prepared form of `b` for its images reordered by `perm` (row i of the shuffled model = row perm[i]): its n×n
 * matrix K becomes K[perm, perm], so each stored entry (i, j) is read from (perm[i], perm[j]). Handles the two layouts
 * compare.ts produces: the upper triangle (length n(n−1)/2) and, for the Frobenius comparators, the diagonal followed
 * by the upper triangle (length n + n(n−1)/2).
 */
export function permutePrepared(p: Prepared, perm: ArrayLike<number>): Prepared {
  const n = perm.length;
  const tri = (n * (n - 1)) / 2;
  const v = p.kind === 'unit' ? p.vector : p.triangle;
  const diag = v.length === tri + n ? n : v.length === tri ? 0 : -1;
  if (diag < 0) throw new Error(`permutePrepared: a prepared form of length ${v.length} does not belong to ${n} images`);
  const out = new Float64Array(v.length);
  for (let i = 0; i < diag; i++) out[i] = v[perm[i]];
  // Entry (i, j), i < j, of the upper triangle sits at row offset off(i) + j.
  const off = (i: number) => diag + (i * (2 * n - i - 1)) / 2 - i - 1;
  let q = diag;
  for (let i = 0; i < n; i++) {
    const pi = perm[i];
    for (let j = i + 1; j < n; j++) {
      const pj = perm[j];
      out[q++] = pi < pj ? v[off(pi) + pj] : v[off(pj) + pi];
    }
  }
  return p.kind === 'unit' ? { kind: 'unit', vector: out } : { kind: p.kind, triangle: out };
}

/** A representation's rows reordered by `perm`, with no image ids: its correspondence to the other model is broken on purpose. */
function shuffled(rep: Representation, perm: ArrayLike<number>): Representation {
  const { images: _i, imagesFrom: _f, ...rest } = subsetImages(rep, perm);
  return rest;
}

/**
 * Permutation test of one pair: how often a random reordering of b's images gives a value at least as extreme as the
 * observed one, p = (count + 1)/(P + 1). Deterministic for a seed. Identical representations give p = 1/(P + 1) (no
 * shuffle reaches the self-similarity unless it fixes the matrix); independent ones give p roughly uniform on (0, 1].
 */
export async function permutationTest(
  a: Representation,
  b: Representation,
  measure: string | MeasureConfig,
  opts: PermutationOptions,
): Promise<PermutationTest> {
  const P = opts.permutations;
  if (!(Number.isInteger(P) && P >= 1)) throw new Error(`permutation test: the number of permutations must be a whole number ≥ 1, got ${P}`);
  if (a.n !== b.n) throw new Error(`permutation test: ${a.label} has ${a.n} images but ${b.label} has ${b.n}; the pair must be computed on the same images`);
  const seed = opts.seed ?? DEFAULT_SEED;
  const random = mulberry32(seed);
  const config = typeof measure === 'string' ? parseMeasure(measure) : measure;
  const id = measureId(config);
  const direction = directionOf(id);
  if (direction === undefined) throw new Error(`permutation test: ${id} is not a catalogued representation measure`);
  const larger = direction === 'similarity';
  const engine = opts.engine ?? (await getGemmEngine());
  const n = a.n;
  const values = new Float64Array(P);
  let observed: number;
  let method: PermutationTest['method'];
  if (!isPairwise(config)) {
    method = 'prepared';
    // The similarity run checks the pair (images, identity, memory, definedness) and leaves both prepared forms in the cache.
    const cache = new PreparedCache();
    await similarityMatrix([a, b], config, { engine, precision: opts.precision, cache });
    const key = preparedCacheKey(id, opts.precision);
    const pa = cache.get(a, key)!;
    const pb = cache.get(b, key)!;
    observed = comparePreparedRdms(pa, pb);
    for (let k = 0; k < P; k++) {
      values[k] = comparePreparedRdms(pa, permutePrepared(pb, randomPermutation(n, random)));
      opts.onProgress?.(k + 1, P, `permutation ${k + 1} of ${P}`);
    }
  } else {
    method = 'recomputed';
    const cache = new PreparedCache();
    const gemm = { engine, precision: opts.precision, cache };
    observed = (await crossSimilarity([a], [b], config, gemm)).matrix.data[0];
    for (let k = 0; k < P; k++) {
      values[k] = (await crossSimilarity([a], [shuffled(b, randomPermutation(n, random))], config, gemm)).matrix.data[0];
      opts.onProgress?.(k + 1, P, `permutation ${k + 1} of ${P}`);
    }
  }
  const tol = 1e-12 * Math.max(1, Math.abs(observed));
  let extreme = 0;
  for (let k = 0; k < P; k++) if (larger ? values[k] >= observed - tol : values[k] <= observed + tol) extreme++;
  return {
    measure: id,
    a: a.label,
    b: b.label,
    images: n,
    observed,
    largerIsMoreSimilar: larger,
    permutations: P,
    seed,
    generator: INFERENCE_GENERATOR,
    extreme,
    pValue: (extreme + 1) / (P + 1),
    method,
    null: values,
  };
}

/** The member with this label, or an error naming the close matches and the members. */
export function memberByLabel(reps: readonly Representation[], label: string, what = 'model'): Representation {
  const r = reps.find((x) => x.label === label);
  if (r) return r;
  const labels = reps.map((x) => x.label);
  const near = closeMatches(label, labels);
  const hint = near.length ? ` — did you mean ${near.map((l) => `"${l}"`).join(', ')}?` : '';
  const list = labels.length <= 12 ? labels.join(', ') : `${labels.slice(0, 12).join(', ')}, … (${labels.length} in all)`;
  throw new Error(`unknown ${what} "${label}"${hint} (members: ${list})`);
}
