/**
 * Comparators g of two n×n matrices (ALGORITHMS.md §2.3): CKA with none / biased / unbiased centring, and
 * correlations of the upper triangles. Each matrix is reduced ONCE to a unit vector ("prepared" form) so that
 * the comparison of all pairs of models is one Gram matrix of those vectors (§2.6); Kendall's tau-b, which has
 * no product form, keeps the raw triangle.
 */
import type { Matrix } from '../linalg/dense.js';
import { upperTriangle } from '../linalg/dense.js';
import { rankData } from '../linalg/ranks.js';

export const CENTERINGS = ['unbiased', 'biased', 'none'] as const;
export type Centering = (typeof CENTERINGS)[number];

export const COMPARATORS = ['cka', 'spearman', 'pearson', 'cosine-triu', 'kendall'] as const;
export type Comparator = (typeof COMPARATORS)[number];

/** Centre a symmetric n×n matrix: a fresh copy, or in place when the caller owns `k` as scratch. */
export function centerMatrix(k: Matrix, centering: Centering, label = 'matrix', inPlace = false): Matrix {
  const n = k.rows;
  const out = inPlace ? k.data : Float64Array.from(k.data);
  if (centering === 'none') return { rows: n, cols: n, data: out };
  if (centering === 'biased') {
    // H K H written with column means: K̃_ij = K_ij − m_i − m_j after m ← m − mean(m)/2.
    const m = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m[j] += out[i * n + j];
    let mm = 0;
    for (let j = 0; j < n; j++) {
      m[j] /= n;
      mm += m[j];
    }
    mm /= n;
    for (let j = 0; j < n; j++) m[j] -= mm / 2;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] -= m[i] + m[j];
    return { rows: n, cols: n, data: out };
  }
  // Unbiased (U-centring, Székely–Rizzo): zero diagonal, means over n − 2, correction over 2(n − 1).
  if (n < 4) {
    throw new Error(`${label}: unbiased (debiased) centring needs at least 4 images, got ${n}`);
  }
  for (let i = 0; i < n; i++) out[i * n + i] = 0;
  const m = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m[j] += out[i * n + j];
  let total = 0;
  for (let j = 0; j < n; j++) {
    m[j] /= n - 2;
    total += m[j];
  }
  const corr = total / (2 * (n - 1));
  for (let j = 0; j < n; j++) m[j] -= corr;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = i === j ? 0 : out[i * n + j] - m[i] - m[j];
  return { rows: n, cols: n, data: out };
}

/** A matrix reduced to what its comparator needs. */
export type Prepared =
  | { kind: 'unit'; vector: Float64Array }
  | { kind: 'kendall'; triangle: Float64Array };

function unit(v: Float64Array, label: string, why: string): Float64Array {
  let ss = 0;
  for (let i = 0; i < v.length; i++) ss += v[i] * v[i];
  if (!(ss > 0) || !Number.isFinite(ss)) {
    throw new Error(`${label}: similarity undefined: ${why}`);
  }
  const inv = 1 / Math.sqrt(ss);
  for (let i = 0; i < v.length; i++) v[i] *= inv;
  return v;
}

function centerVector(v: Float64Array): Float64Array {
  let mean = 0;
  for (let i = 0; i < v.length; i++) mean += v[i];
  mean /= v.length;
  for (let i = 0; i < v.length; i++) v[i] -= mean;
  return v;
}

/**
 * Reduce one (already centred) n×n matrix for its comparator. For CKA the Frobenius inner product is
 * Σ_diag + 2 Σ_upper, so the vector holds the diagonal and √2 × the upper triangle (half the memory of n²).
 */
export function prepareForComparator(k: Matrix, comparator: Comparator, label: string): Prepared {
  const n = k.rows;
  switch (comparator) {
    case 'cka': {
      const v = new Float64Array(n + (n * (n - 1)) / 2);
      for (let i = 0; i < n; i++) v[i] = k.data[i * n + i];
      let q = n;
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) v[q++] = Math.SQRT2 * k.data[i * n + j];
      return { kind: 'unit', vector: unit(v, label, 'its centred matrix is all zeros (the representation has no variance)') };
    }
    case 'spearman':
      return {
        kind: 'unit',
        vector: unit(centerVector(rankData(upperTriangle(k))), label, 'all its pairwise values are equal (constant RDM)'),
      };
    case 'pearson':
      return {
        kind: 'unit',
        vector: unit(centerVector(upperTriangle(k)), label, 'all its pairwise values are equal (constant RDM)'),
      };
    case 'cosine-triu':
      return { kind: 'unit', vector: unit(upperTriangle(k), label, 'all its pairwise values are zero') };
    case 'kendall': {
      const t = upperTriangle(k);
      if (t.every((x) => x === t[0])) throw new Error(`${label}: similarity undefined: all its pairwise values are equal (constant RDM)`);
      return { kind: 'kendall', triangle: t };
    }
    default:
      throw new Error(`unknown comparator "${comparator as string}" (use ${COMPARATORS.join(', ')})`);
  }
}
