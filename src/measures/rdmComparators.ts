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
import { upperTriangle } from '../linalg/dense.js';
import { kendallTauA, kendallTauB } from '../linalg/correlation.js';
import { rankData } from '../linalg/ranks.js';
import { centerMatrix, maxAbs, prepareForComparator, ZERO_VARIANCE_TOLERANCE, type Prepared } from './compare.js';

/** Every RSA comparator: taskmap's three, then rsatoolbox's. */
export const RSA_COMPARATORS = ['spearman', 'pearson', 'kendall', 'cosine', 'cosine-cov', 'corr-cov', 'rho-a', 'tau-a'] as const;
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

/** Whether the values differ by more than rounding relative to `scale`. */
function hasSpread(t: Float64Array, scale: number): boolean {
  let lo = Infinity;
  let hi = -Infinity;
  for (let q = 0; q < t.length; q++) {
    lo = Math.min(lo, t[q]);
    hi = Math.max(hi, t[q]);
  }
  return hi - lo > ZERO_VARIANCE_TOLERANCE * scale;
}

/**
 * Reduce one RDM (n×n, zero diagonal) for a comparator. `scale`: max |entry| of the RDM, so that an RDM that is
 * constant up to rounding is recognised as constant (the normalised comparators then throw; ρ-a and τ-a, whose
 * denominators do not depend on the data, are 0 for a constant RDM, as in rsatoolbox).
 */
export function prepareRdm(rdm: Matrix, comparator: RsaComparator, label: string, scale: number = maxAbs(rdm.data)): Prepared {
  switch (comparator) {
    case 'spearman':
    case 'pearson':
    case 'kendall':
      return prepareForComparator(rdm, comparator, label, scale);
    case 'cosine':
      return prepareForComparator(rdm, 'cosine-triu', label, scale);
    case 'cosine-cov':
    case 'corr-cov': {
      // rsatoolbox (sigma_k None): G = −½ H D H, off-diagonal entries weighted √2, cosine. The −½ cancels in a
      // cosine, and the weighting is the Frobenius inner product — exactly the CKA comparator on H D H.
      const d = Float64Array.from(rdm.data);
      const n = rdm.rows;
      if (comparator === 'corr-cov') {
        let mean = 0;
        for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) mean += d[i * n + j];
        mean /= (n * (n - 1)) / 2;
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) d[i * n + j] -= mean;
      }
      return prepareForComparator(centerMatrix({ rows: n, cols: n, data: d }, 'biased', label, true), 'cka', label, scale);
    }
    case 'rho-a': {
      const t = upperTriangle(rdm);
      const m = t.length;
      if (m < 2) throw new Error(`${label}: rho-a needs at least 3 images (2 pairs), got ${rdm.rows}`);
      const vector = new Float64Array(m);
      if (!hasSpread(t, scale)) return { kind: 'unit', vector };
      // Centred average ranks scaled so that the dot product of two such vectors is ρ-a.
      const r = rankData(t);
      const mid = (m + 1) / 2;
      const f = Math.sqrt(12 / (m * (m * m - 1)));
      for (let q = 0; q < m; q++) vector[q] = (r[q] - mid) * f;
      return { kind: 'unit', vector };
    }
    case 'tau-a': {
      const t = upperTriangle(rdm);
      if (t.length < 2) throw new Error(`${label}: tau-a needs at least 3 images (2 pairs), got ${rdm.rows}`);
      return { kind: 'tau-a', triangle: hasSpread(t, scale) ? t : new Float64Array(t.length) };
    }
    default:
      throw new Error(`unknown RSA comparator "${comparator as string}" (use ${RSA_COMPARATORS.join(', ')})`);
  }
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
