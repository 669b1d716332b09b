/**
 * Comparators g of two n×n matrices (docs/measures.md#comparators): CKA with none / biased / unbiased centring, and
 * correlations of the upper triangles. Each matrix is reduced ONCE to a unit vector ("prepared" form) so that
 * the comparison of all pairs of models is one Gram matrix of those vectors (docs/measures.md#batched-computation); Kendall's tau-b, which has
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

/**
 * A matrix reduced to what its comparator needs: a vector whose dot products are the similarities (`unit`: unit
 * length for the normalised comparators; rdmComparators.ts's ρ-a uses a fixed scale instead), or the raw triangle
 * for the Kendall coefficients, which have no product form (τ-b here, τ-a in rdmComparators.ts).
 */
export type Prepared = { kind: 'unit'; vector: Float64Array } | { kind: 'kendall'; triangle: Float64Array } | { kind: 'tau-a'; triangle: Float64Array };

/**
 * Values this small relative to the matrix they came from are rounding noise, not variance: centring a constant
 * kernel matrix leaves ~1e-16-sized residue, and normalising that residue to unit length would turn "undefined"
 * into an arbitrary similarity (DDS gave −5e-16 for a zero-variance member instead of an error).
 */
export const ZERO_VARIANCE_TOLERANCE = 1e-10;

/** max |x|: the scale against which ZERO_VARIANCE_TOLERANCE is applied. */
export function maxAbs(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

function unit(v: Float64Array, label: string, why: string, scale?: number): Float64Array {
  let ss = 0;
  for (let i = 0; i < v.length; i++) ss += v[i] * v[i];
  const noise = scale === undefined ? 0 : (ZERO_VARIANCE_TOLERANCE * scale) ** 2 * v.length;
  if (!(ss > noise) || !Number.isFinite(ss)) {
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

/** Refuse a triangle whose values are all equal, up to rounding relative to `scale` (default: its own max |x|). */
function requireSpread(t: Float64Array, label: string, scale = maxAbs(t)): Float64Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < t.length; i++) {
    lo = Math.min(lo, t[i]);
    hi = Math.max(hi, t[i]);
  }
  if (!(hi - lo > ZERO_VARIANCE_TOLERANCE * scale)) throw new Error(`${label}: similarity undefined: all its pairwise values are equal (constant RDM)`);
  return t;
}

/**
 * Reduce one (already centred) n×n matrix for its comparator. For CKA the Frobenius inner product is
 * Σ_diag + 2 Σ_upper, so the vector holds the diagonal and √2 × the upper triangle (half the memory of n²).
 * `scale`: max |entry| of the matrix before centring, so that what centring leaves of a constant matrix
 * (rounding noise) is recognised as zero variance; without it only exact zeros are.
 */
export function prepareForComparator(k: Matrix, comparator: Comparator, label: string, scale?: number): Prepared {
  const n = k.rows;
  switch (comparator) {
    case 'cka': {
      const v = new Float64Array(n + (n * (n - 1)) / 2);
      for (let i = 0; i < n; i++) v[i] = k.data[i * n + i];
      let q = n;
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) v[q++] = Math.SQRT2 * k.data[i * n + j];
      return { kind: 'unit', vector: unit(v, label, 'its centred matrix is all zeros (the representation has no variance)', scale) };
    }
    case 'spearman':
      return {
        kind: 'unit',
        vector: unit(centerVector(rankData(requireSpread(upperTriangle(k), label, scale))), label, 'all its pairwise values are equal (constant RDM)'),
      };
    case 'pearson':
      return {
        kind: 'unit',
        vector: unit(centerVector(requireSpread(upperTriangle(k), label, scale)), label, 'all its pairwise values are equal (constant RDM)'),
      };
    case 'cosine-triu':
      return { kind: 'unit', vector: unit(upperTriangle(k), label, 'all its pairwise values are zero', scale) };
    case 'kendall': {
      return { kind: 'kendall', triangle: requireSpread(upperTriangle(k), label, scale) };
    }
    default:
      throw new Error(`unknown comparator "${comparator as string}" (use ${COMPARATORS.join(', ')})`);
  }
}
