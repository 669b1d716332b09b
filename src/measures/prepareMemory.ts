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
import { streamedWorkBytes } from './streamedMatrix.js';

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

function usesEuclideanCopy(spec: PrepareSpec): boolean {
  const m = spec.matrix;
  return m.type === 'rdm' ? m.distance === 'euclidean' || m.distance === 'sqeuclidean' : m.kernel === 'euclidean';
}

/**
 * One member's features while it is prepared: n images × p features stored with `bytesPerValue`. `read`: the
 * values are read here (false when the whole set is already loaded and counted elsewhere); `streamed`: the member
 * is built from column blocks of its file instead.
 */
export function featureStageBytes(n: number, p: number, bytesPerValue: number, spec: PrepareSpec, opts: { read: boolean; streamed: boolean }): number {
  if (opts.streamed) return streamedWorkBytes(n, p, bytesPerValue);
  return (opts.read ? n * p * bytesPerValue : 0) + 8 * n * p * (usesEuclideanCopy(spec) ? 2 : 1);
}

/** The n×n stage of one member: its matrix and its comparator's scratch (the kept vector is not included). */
export function squareStageBytes(n: number, spec: PrepareSpec): number {
  const matrix = 8 * n * n * (spec.matrix.type === 'kernel' && spec.matrix.kernel === 'rbf' ? 3 : 1);
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
