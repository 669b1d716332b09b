/**
 * Comparators g of two n×n matrices (docs/measures.md#comparators): CKA with none / biased / unbiased centring, and
 * correlations of the upper triangles. Each matrix is reduced ONCE to a unit vector ("prepared" form) so that
 * the comparison of all pairs of models is one Gram matrix of those vectors (docs/measures.md#batched-computation); Kendall's tau-b, which has
 * no product form, keeps the raw triangle.
 */
import type { Matrix } from '../linalg/dense.js';
import { upperTriangle } from '../linalg/dense.js';
import { rankDataChunked } from '../linalg/chunkedRanks.js';

export const CENTERINGS = ['unbiased', 'biased', 'none'] as const;
export type Centering = (typeof CENTERINGS)[number];

export const COMPARATORS = ['cka', 'spearman', 'pearson', 'cosine-triu', 'kendall'] as const;
export type Comparator = (typeof COMPARATORS)[number];

/**
 * Comparators offered for RDMs only (RSA's `compare`), with rsatoolbox's names (docs/measures.md#rdm-comparators):
 * `cosine` is `cosine-triu` under rsatoolbox's name; `cosine-cov` / `corr-cov` are rsatoolbox's whitened cosine /
 * Pearson with its default (sigma_k=None) whitening; `rho-a` / `tau-a` are Spearman and Kendall without tie correction.
 */
export const RDM_ONLY_COMPARATORS = ['cosine', 'cosine-cov', 'corr-cov', 'rho-a', 'tau-a'] as const;
export type RdmOnlyComparator = (typeof RDM_ONLY_COMPARATORS)[number];

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
 * length for the normalised comparators; ρ-a uses a fixed scale instead), or the raw triangle for the Kendall
 * coefficients τ-b and τ-a, which have no product form (compared pair by pair, rdmComparators.ts).
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
  return scaleToUnit(v, ss, label, why, scale);
}

/** v / √ss, or the error when ss (v's sum of squares) is no more than rounding noise relative to `scale`. */
function scaleToUnit(v: Float64Array, ss: number, label: string, why: string, scale?: number): Float64Array {
  const noise = scale === undefined ? 0 : (ZERO_VARIANCE_TOLERANCE * scale) ** 2 * v.length;
  if (!(ss > noise) || !Number.isFinite(ss)) {
    throw new Error(`${label}: similarity undefined: ${why}`);
  }
  const inv = 1 / Math.sqrt(ss);
  for (let i = 0; i < v.length; i++) v[i] *= inv;
  return v;
}

/**
 * unit(centerVector(r)) for ranks from 1 with ties averaged, in two passes instead of four and bit for bit the same:
 * their sum m(m + 1)/2 is exact in float64 while it stays below 2^53 (every partial sum is a multiple of ½), so
 * centerVector's mean is exactly (m + 1)/2; the squares are then summed in the same order as unit does.
 */
function unitRanks(r: Float64Array, label: string, why: string): Float64Array {
  const m = r.length;
  if ((m * (m + 1)) / 2 >= 2 ** 53) return unit(centerVector(r), label, why);
  const mid = (m + 1) / 2;
  let ss = 0;
  for (let i = 0; i < m; i++) {
    const v = r[i] - mid;
    r[i] = v;
    ss += v * v;
  }
  return scaleToUnit(r, ss, label, why);
}

function centerVector(v: Float64Array): Float64Array {
  let mean = 0;
  for (let i = 0; i < v.length; i++) mean += v[i];
  mean /= v.length;
  for (let i = 0; i < v.length; i++) v[i] -= mean;
  return v;
}

/** Whether the values differ by more than rounding relative to `scale` (default: their own max |x|). */
function hasSpread(t: Float64Array, scale = maxAbs(t)): boolean {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < t.length; i++) {
    lo = Math.min(lo, t[i]);
    hi = Math.max(hi, t[i]);
  }
  return hi - lo > ZERO_VARIANCE_TOLERANCE * scale;
}

/** Refuse a triangle whose values are all equal, up to rounding relative to `scale` (default: its own max |x|). */
function requireSpread(t: Float64Array, label: string, scale?: number): Float64Array {
  if (!hasSpread(t, scale)) throw new Error(`${label}: similarity undefined: all its pairwise values are equal (constant RDM)`);
  return t;
}

/** The Frobenius-weighted vector of a centred matrix: diagonal, then √2 × the upper triangle. */
function frobeniusVector(k: Matrix, into?: Float64Array): Float64Array {
  const n = k.rows;
  const v = into ?? new Float64Array(n + (n * (n - 1)) / 2);
  for (let i = 0; i < n; i++) v[i] = k.data[i * n + i];
  let q = n;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) v[q++] = Math.SQRT2 * k.data[i * n + j];
  return v;
}

function atLeastTwoPairs(t: Float64Array, comparator: string, label: string, n: number): Float64Array {
  if (t.length < 2) throw new Error(`${label}: ${comparator} needs at least 3 images (2 pairs), got ${n}`);
  return t;
}

/**
 * The RDM-only comparators (RDM_ONLY_COMPARATORS), on an uncentred RDM. ρ-a and τ-a have denominators that do not
 * depend on the data, so a constant RDM (up to rounding) is 0 against anything, as in rsatoolbox, rather than an error.
 */
function prepareRdmOnly(d: Matrix, comparator: RdmOnlyComparator, label: string, scale?: number): Prepared {
  const n = d.rows;
  switch (comparator) {
    case 'cosine':
      return prepareForComparator(d, 'cosine-triu', label, scale);
    case 'cosine-cov':
    case 'corr-cov': {
      // rsatoolbox (sigma_k None): G = −½ H D H with off-diagonal entries weighted √2, then a cosine. The −½ cancels in
      // a cosine and the weighting is the Frobenius inner product: the CKA comparator on H D H.
      const data = Float64Array.from(d.data);
      if (comparator === 'corr-cov') {
        let mean = 0;
        for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) mean += data[i * n + j];
        mean /= (n * (n - 1)) / 2;
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) data[i * n + j] -= mean;
      }
      const g = centerMatrix({ rows: n, cols: n, data }, 'biased', label, true);
      const why = comparator === 'corr-cov' ? 'all its pairwise values are equal (constant RDM)' : 'all its pairwise values are zero';
      return { kind: 'unit', vector: unit(frobeniusVector(g), label, why, scale) };
    }
    case 'rho-a': {
      const t = atLeastTwoPairs(upperTriangle(d), comparator, label, n);
      const m = t.length;
      const vector = new Float64Array(m);
      if (!hasSpread(t, scale)) return { kind: 'unit', vector };
      // Centred average ranks scaled so that the dot product of two such vectors is ρ-a (not unit length with ties).
      const r = rankDataChunked(t);
      const mid = (m + 1) / 2;
      const f = Math.sqrt(12 / (m * (m * m - 1)));
      for (let q = 0; q < m; q++) vector[q] = (r[q] - mid) * f;
      return { kind: 'unit', vector };
    }
    case 'tau-a': {
      const t = atLeastTwoPairs(upperTriangle(d), comparator, label, n);
      return { kind: 'tau-a', triangle: hasSpread(t, scale) ? t : new Float64Array(t.length) };
    }
  }
}

/**
 * The Spearman comparator's prepared form of an upper triangle (what prepareForComparator makes of a matrix's):
 * centred ranks scaled to unit length. `t` is only read, so a caller may pass a reused array (the bootstrap's
 * subset RDMs, measures/subsets.ts); the vector is written into `into` when given (t.length values).
 */
export function prepareSpearmanTriangle(t: Float64Array, label: string, scale?: number, into?: Float64Array): Prepared {
  return {
    kind: 'unit',
    vector: unitRanks(rankDataChunked(requireSpread(t, label, scale), into), label, 'all its pairwise values are equal (constant RDM)'),
  };
}

/**
 * The length of the vector prepareForComparator makes of an n×n matrix for a product-form comparator (undefined
 * for the others): callers preparing many members allocate one block for all their vectors.
 */
export function preparedLength(comparator: Comparator | RdmOnlyComparator, n: number): number | undefined {
  if (comparator === 'cka') return n + (n * (n - 1)) / 2;
  if (comparator === 'spearman' || comparator === 'pearson' || comparator === 'cosine-triu') return (n * (n - 1)) / 2;
  return undefined;
}

/** The Spearman comparator's triangle is only ranked, so one kept scratch serves every call up to this size. */
const KEEP_TRIANGLE = 1 << 21;
let triangleScratch: Float64Array | undefined;

function scratchTriangle(size: number): Float64Array {
  if (triangleScratch?.length === size) return triangleScratch;
  const t = new Float64Array(size);
  if (size <= KEEP_TRIANGLE) triangleScratch = t;
  return t;
}

/**
 * Reduce one (already centred) n×n matrix for its comparator. For CKA the Frobenius inner product is
 * Σ_diag + 2 Σ_upper, so the vector holds the diagonal and √2 × the upper triangle (half the memory of n²).
 * `scale`: max |entry| of the matrix before centring, so that what centring leaves of a constant matrix
 * (rounding noise) is recognised as zero variance; without it only exact zeros are. `into` (preparedLength
 * values) receives a product-form comparator's vector instead of a fresh array.
 */
export function prepareForComparator(k: Matrix, comparator: Comparator | RdmOnlyComparator, label: string, scale?: number, into?: Float64Array): Prepared {
  if (into && into.length !== preparedLength(comparator, k.rows)) {
    throw new Error(`prepareForComparator: the output array holds ${into.length} values, not ${preparedLength(comparator, k.rows) ?? 'a vector'}`);
  }
  switch (comparator) {
    case 'cka':
      return { kind: 'unit', vector: unit(frobeniusVector(k, into), label, 'its centred matrix is all zeros (the representation has no variance)', scale) };
    case 'spearman':
      return prepareSpearmanTriangle(upperTriangle(k, scratchTriangle((k.rows * (k.rows - 1)) / 2)), label, scale, into);
    case 'pearson':
      return {
        kind: 'unit',
        vector: unit(centerVector(requireSpread(upperTriangle(k, into), label, scale)), label, 'all its pairwise values are equal (constant RDM)'),
      };
    case 'cosine-triu':
      return { kind: 'unit', vector: unit(upperTriangle(k, into), label, 'all its pairwise values are zero', scale) };
    case 'kendall': {
      return { kind: 'kendall', triangle: requireSpread(upperTriangle(k), label, scale) };
    }
    case 'cosine':
    case 'cosine-cov':
    case 'corr-cov':
    case 'rho-a':
    case 'tau-a':
      return prepareRdmOnly(k, comparator, label, scale);
    default:
      throw new Error(`unknown comparator "${comparator as string}" (use ${[...COMPARATORS, ...RDM_ONLY_COMPARATORS].join(', ')})`);
  }
}
