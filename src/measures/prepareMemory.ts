/**
 * What preparing one member for a batched measure holds at its peak (issue 15, goal 6), stage by stage, as the code
 * in similarity.ts, kernels.ts, compare.ts and chunkedRanks.ts allocates it. Shared by the up-front refusal in
 * similarity.ts and the `--dry-run` estimate (ops/memory.ts), so that both count the same things:
 * - features: the values as read (one reused buffer), their float64 copy, and for the Euclidean distances the
 *   scaled, centred copy distances.ts makes; or, for a member streamed from its file, one column block and one
 *   Gram tile (streamedMatrix.ts);
 * - the n×n stage: the member's matrix (three n×n for the RBF kernel: Gram, squared distances, the median's sorted
 *   copy) and its comparator's scratch — Spearman's triangle and ranking work, whitened comparators' copy;
 * - what is kept: the prepared vector (written into one block for all members) or the raw triangle (Kendall).
 */
import { RANK_CHUNK } from '../linalg/chunkedRanks.js';
import { preparedLength, type Comparator, type RdmOnlyComparator } from './compare.js';
import type { KernelName, RdmDistance } from './kernels.js';
import { maxMemory } from '../io/limits.js';
import { openNpyColumns } from '../io/npyBlocks.js';
import { streamable, streamedWorkBytes, type StreamedSpec } from './streamedMatrix.js';

/** The parts of a pipeline (registry.ts Pipeline) that decide what preparing a member allocates. */
export interface PrepareSpec {
  matrix: { type: 'kernel'; kernel: KernelName } | { type: 'rdm'; distance: RdmDistance };
  compare: Comparator | RdmOnlyComparator;
}

/** Upper-triangle values of an n×n matrix, diagonal excluded. */
function triangle(n: number): number {
  return (n * (n - 1)) / 2;
}

/**
 * Work of ranking `values` values: rankData's sorts take ~24 bytes per value; above RANK_CHUNK values
 * rankDataChunked takes one byte per value plus one chunk's ~44 bytes per value (chunks run ~10% over their
 * nominal size, as their splitters come from a sample).
 */
export function rankWorkBytes(values: number): number {
  return values <= RANK_CHUNK ? 24 * values : values + Math.ceil(44 * 1.1 * RANK_CHUNK);
}

/** Doubles kept per member: its prepared vector, or its raw triangle for the comparators without a product form. */
export function preparedValues(n: number, compare: PrepareSpec['compare']): number {
  return preparedLength(compare, n) ?? (compare === 'cosine-cov' || compare === 'corr-cov' ? n + triangle(n) : triangle(n));
}

function usesEuclideanCopy(spec: Pick<PrepareSpec, 'matrix'>): boolean {
  const m = spec.matrix;
  return m.type === 'rdm' ? m.distance === 'euclidean' || m.distance === 'sqeuclidean' : m.kernel === 'euclidean';
}

/** The float64 copies of one loaded member's features: the normalised copy, and distances.ts's scaled copy. */
export function float64Bytes(n: number, p: number, matrix: PrepareSpec['matrix']): number {
  return 8 * n * p * (usesEuclideanCopy({ matrix }) ? 2 : 1);
}

/** The member's n×n matrix: one, or three for the RBF kernel (Gram, squared distances, the median's sorted copy). */
export function matrixBytes(n: number, matrix: PrepareSpec['matrix']): number {
  return 8 * n * n * (matrix.type === 'kernel' && matrix.kernel === 'rbf' ? 3 : 1);
}

/**
 * One member's features while it is prepared: n images × p features stored with `bytesPerValue`. `read`: the
 * values are read here (false when the whole set is already loaded and counted elsewhere); `streamed`: the member
 * is built from column blocks of its file instead.
 */
export function featureStageBytes(n: number, p: number, bytesPerValue: number, spec: PrepareSpec, opts: { read: boolean; streamed: boolean }): number {
  if (opts.streamed) return streamedWorkBytes(n, p, bytesPerValue);
  return (opts.read ? n * p * bytesPerValue : 0) + float64Bytes(n, p, spec.matrix);
}

/**
 * Whether the member stored in `path` (n images × p features) is to be built from column blocks for `spec`: it
 * can be (streamedMatrix.ts streamable), and loading it would be over the memory budget — its values as stored,
 * their float64 copy and three n×n matrices, as kernels.ts's own check allows for. Loading is kept where it fits:
 * it is what every other path computes, and its Euclidean distances keep exact ties. A file whose header cannot be
 * read as float features is left to the loader, whose error names the problem.
 */
export function streamsMember(path: string | Buffer, n: number, p: number, spec: Pick<StreamedSpec, 'norm'>): boolean {
  if (streamable(spec) !== undefined) return false;
  let bytesPerValue: number;
  try {
    const reader = openNpyColumns(path);
    bytesPerValue = reader.dtype === 'float32' ? 4 : 8;
    reader.close();
  } catch {
    return false;
  }
  return loadedBytes(n, p, bytesPerValue) > maxMemory();
}

/** The allowance streamsMember compares with the budget: values as stored, a float64 copy, three n×n matrices. */
export function loadedBytes(n: number, p: number, bytesPerValue: number): number {
  return n * p * (bytesPerValue + 8) + 3 * 8 * n * n;
}

/** The n×n stage of one member: its matrix and its comparator's scratch (the kept vector is not included). */
export function squareStageBytes(n: number, spec: PrepareSpec): number {
  const matrix = matrixBytes(n, spec.matrix);
  const t = triangle(n);
  switch (spec.compare) {
    case 'spearman':
      // The triangle (a scratch), ranked into the member's place in the block.
      return matrix + 8 * t + rankWorkBytes(t);
    case 'rho-a':
      // The triangle and its ranks, scaled into a fresh vector.
      return matrix + 16 * t + rankWorkBytes(t);
    case 'cosine-cov':
    case 'corr-cov':
      // A copy of the RDM to centre.
      return matrix + 8 * n * n;
    default:
      // CKA, Pearson and cosine-triu write their vector straight into the members' block; cosine, Kendall's τ-b and
      // τ-a keep the triangle they take.
      return matrix;
  }
}

/**
 * The comparison's own copy: vectors not prepared into one block (the comparators without a fixed length,
 * compare.ts preparedLength) are stacked into one matrix for the GEMM; Kendall's coefficients compare pair by pair.
 */
export function comparisonBytes(members: number, n: number, compare: PrepareSpec['compare']): number {
  if (preparedLength(compare, n) !== undefined || compare === 'kendall' || compare === 'tau-a') return 0;
  return 8 * members * preparedValues(n, compare);
}
