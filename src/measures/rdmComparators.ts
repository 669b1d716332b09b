/**
 * RDM comparators for RSA (docs/measures.md#rdm-comparators), with rsatoolbox's names (`rsatoolbox.rdm.compare`
 * `method=`) where taskmap did not already have the comparator under another name: each RDM is prepared once into a
 * vector whose dot products are the comparator (one GEMM over all models), except the Kendall coefficients, which
 * keep the triangle and are computed pair by pair in O(m log m) (m = n(n−1)/2 pairs of images).
 *
 * Ties: average ranks everywhere (scipy `rankdata`). `spearman` and `kendall` (τ-b) correct their denominators
 * for ties, so an RDM with ties still scores 1 against itself; `rho-a` and `tau-a` do not, so ties pull them towards
 * 0 — the property rsatoolbox recommends them for when a model RDM predicts ties.
 */
import type { Matrix } from '../linalg/dense.js';
import { kendallTauA, kendallTauB } from '../linalg/correlation.js';
import { maxAbs, prepareForComparator, RDM_ONLY_COMPARATORS, type Prepared } from './compare.js';

/** Every RSA comparator: taskmap's three, then rsatoolbox's (compare.ts RDM_ONLY_COMPARATORS). */
export const RSA_COMPARATORS = ['spearman', 'pearson', 'kendall', ...RDM_ONLY_COMPARATORS] as const;
export type RsaComparator = (typeof RSA_COMPARATORS)[number];

/** One line each, for parameter help; the rsatoolbox `method=` each one equals. */
export const RSA_COMPARATOR_DESCRIPTIONS: Record<RsaComparator, string> = {
  spearman: 'Spearman ρ of the triangles, tie-corrected (rsatoolbox spearman, scipy spearmanr)',
  pearson: 'Pearson r of the triangles (rsatoolbox corr)',
  kendall: "Kendall's τ-b, tie-corrected (rsatoolbox kendall / tau-b, scipy kendalltau)",
  cosine: 'cosine of the triangles, no mean removal (rsatoolbox cosine)',
  'cosine-cov': 'whitened cosine: Frobenius cosine of the double-centred RDMs, rsatoolbox cosine_cov with its default (sigma_k=None) whitening',
  'corr-cov': 'whitened Pearson: the triangle mean removed, then as cosine-cov (rsatoolbox corr_cov, sigma_k=None)',
  'rho-a': 'Spearman without tie correction, 12 Σ r̃ s̃ / (m³ − m) (rsatoolbox rho-a)',
  'tau-a': "Kendall's τ-a, (n_c − n_d) / (m(m−1)/2), ties count against (rsatoolbox tau-a)",
};

/**
 * Reduce one RDM (n×n, zero diagonal) for a comparator (compare.ts does the work, so every caller of
 * prepareForComparator accepts these names). `scale`: max |entry| of the RDM, so that an RDM constant up to rounding
 * is recognised as constant: the normalised comparators then throw; ρ-a and τ-a, whose denominators do not depend on
 * the data, are 0 against anything, as in rsatoolbox.
 */
export function prepareRdm(rdm: Matrix, comparator: RsaComparator, label: string, scale: number = maxAbs(rdm.data)): Prepared {
  if (!(RSA_COMPARATORS as readonly string[]).includes(comparator)) {
    throw new Error(`unknown RSA comparator "${comparator as string}" (use ${RSA_COMPARATORS.join(', ')})`);
  }
  return prepareForComparator(rdm, comparator, label, scale);
}

/** The prepared form a comparator produces (what a distributed run must ship and how it compares blocks). */
export function preparedKind(comparator: string): Prepared['kind'] {
  return comparator === 'kendall' || comparator === 'tau-a' ? comparator : 'unit';
}

/** The pair function of the triangle kinds (no product form). */
export function triangleCorrelation(kind: 'kendall' | 'tau-a'): (x: Float64Array, y: Float64Array) => number {
  return kind === 'kendall' ? kendallTauB : kendallTauA;
}

/** The comparison of two prepared RDMs of the same kind (the one the GEMM does for `unit`, done here for one pair). */
export function comparePreparedRdms(a: Prepared, b: Prepared): number {
  if (a.kind !== b.kind) throw new Error(`cannot compare a ${a.kind} form with a ${b.kind} form (prepared for different comparators)`);
  if (a.kind !== 'unit') return triangleCorrelation(a.kind)(a.triangle, (b as typeof a).triangle);
  const u = (b as typeof a).vector;
  if (a.vector.length !== u.length) throw new Error(`prepared RDMs differ in size (${a.vector.length} vs ${u.length}): they come from different image sets`);
  let dot = 0;
  for (let q = 0; q < u.length; q++) dot += a.vector[q] * u[q];
  return dot;
}
