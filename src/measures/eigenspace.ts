/**
 * Eigenspace overlap score (May, Zhang, Dao & Ré 2019, as ReSi's `eigenspace_overlap_score`;
 * docs/measures.md#eigenspace-overlap): how much the column spaces of two representations (subspaces of ℝⁿ, the
 * image space) share, ‖UᵀV‖²_F / max(p_A, p_B) with U, V orthonormal bases of the column spaces.
 *
 * Each model is prepared once: its basis from one Gram eigendecomposition (XXᵀ when n ≤ p, XᵀX otherwise), kept as
 * the projector P = UUᵀ in the packed form (diagonal, √2 × upper triangle) whose dot products are Frobenius inner
 * products, so a pair costs n(n+1)/2 multiply-adds: ‖UᵀV‖²_F = ⟨P_U, P_V⟩_F.
 */
import type { Matrix } from '../linalg/dense.js';
import { symmetricEigen } from '../linalg/eigen.js';
import { gram, matmulABt, type GemmOptions } from '../linalg/gemm.js';
import type { PairwiseFamily } from './pairwise.js';

/**
 * Eigenvalues of the Gram matrix at or below RANK_TOLERANCE · max(n, p) · ε · λ_max count as null directions. The
 * Gram route squares singular values, so it resolves σ only down to about √ε·σ_max; numpy's `matrix_rank` (ReSi)
 * uses σ > max(n, p)·ε·σ_max on an SVD. Directions between the two thresholds are rounding noise in practice.
 */
export const RANK_TOLERANCE = 64;

/** One model's column-space projector, packed. */
export interface EigenspacePrepared {
  label: string;
  n: number;
  /** Number of features (the score's normaliser). */
  p: number;
  rank: number;
  /** diag(P) then √2 × the upper triangle of P = UUᵀ. */
  projector: Float64Array;
}

function transposeOf(x: Matrix): Matrix {
  const { rows, cols, data } = x;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j];
  return { rows: cols, cols: rows, data: out };
}

export async function prepareEigenspace(x: Matrix, label: string, opts: GemmOptions = {}): Promise<EigenspacePrepared> {
  const { rows: n, cols: p, data } = x;
  let m = 0;
  for (let k = 0; k < data.length; k++) {
    if (!Number.isFinite(data[k])) throw new Error(`${label}: feature ${k % p} of image ${Math.floor(k / p)} is ${data[k]}; features must be finite`);
    m = Math.max(m, Math.abs(data[k]));
  }
  if (m === 0) throw new Error(`${label}: all features are zero, so its column space is empty and the eigenspace overlap is undefined`);
  // The column space does not depend on scale: bring the largest entry to 1 so the Gram cannot overflow.
  const y: Matrix = { rows: n, cols: p, data: Float64Array.from(data, (v) => v / m) };
  const gemm = { engine: opts.engine, precision: 'float64' as const };
  const small = n <= p;
  const g = await gram(small ? y : transposeOf(y), gemm);
  const { values, vectors } = symmetricEigen(g);
  const size = g.rows;
  const tol = RANK_TOLERANCE * Math.max(n, p) * Number.EPSILON * values[0];
  let rank = 0;
  while (rank < size && values[rank] > tol) rank++;
  // U: n×rank, row-major. n ≤ p: the Gram's eigenvectors themselves; n > p: U = X V Σ⁻¹ (unit columns).
  let u: Float64Array;
  if (small) {
    u = new Float64Array(n * rank);
    for (let i = 0; i < n; i++) for (let c = 0; c < rank; c++) u[i * rank + c] = vectors.data[i * size + c];
  } else {
    // Rows of `vt` are the leading eigenvectors scaled by 1/σ, so X·vtᵀ = X V Σ⁻¹.
    const vt = new Float64Array(rank * p);
    for (let c = 0; c < rank; c++) {
      const inv = 1 / Math.sqrt(values[c]);
      for (let j = 0; j < p; j++) vt[c * p + j] = vectors.data[j * size + c] * inv;
    }
    u = (await matmulABt(y, { rows: rank, cols: p, data: vt }, gemm)).data;
  }
  const proj = (await gram({ rows: n, cols: rank, data: u }, gemm)).data;
  const packed = new Float64Array((n * (n + 1)) / 2);
  for (let i = 0; i < n; i++) packed[i] = proj[i * n + i];
  let q = n;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) packed[q++] = Math.SQRT2 * proj[i * n + j];
  return { label, n, p, rank, projector: packed };
}

/** ‖UᵀV‖²_F / max(p_A, p_B) ∈ [0, min(r_A, r_B) / max(p_A, p_B)]. */
export function eigenspaceOverlap(a: EigenspacePrepared, b: EigenspacePrepared): number {
  if (a.n !== b.n) throw new Error(`${a.label} has ${a.n} images but ${b.label} has ${b.n}; column spaces compare the same images`);
  let dot = 0;
  for (let q = 0; q < a.projector.length; q++) dot += a.projector[q] * b.projector[q];
  return Math.max(0, dot) / Math.max(a.p, b.p);
}

export const EIGENSPACE_OVERLAP_FAMILY: PairwiseFamily<EigenspacePrepared> = {
  id: 'eigenspace-overlap',
  name: 'Eigenspace overlap score',
  description:
    'How much the column spaces of the two representations (in image space) share: ‖UᵀV‖²_F / max(p_A, p_B), U and V ' +
    'orthonormal bases of the column spaces. No centring. A model scores rank / p against itself, 1 only at full column rank.',
  reference: 'May, Zhang, Dao & Ré, On the Downstream Performance of Compressed Word Embeddings, NeurIPS 2019; as ReSi (eigenspace_overlap_score)',
  params: [],
  largerIsMoreSimilar: true,
  symmetric: true,
  metric: false,
  invariances: ['orthogonal', 'isotropic-scaling', 'feature-permutation', 'invertible-linear'],
  cost: { tier: 'moderate', scaling: 'M·(n²·p + min(n, p)³ + n²·r) (Gram, eigendecomposition, projector) + M²·n² (pairs); keeps n²/2 values per model' },
  preparedBytes: (n) => 8 * ((n * (n + 1)) / 2),
  fewImages:
    'when n ≤ p a full-rank representation spans all of ℝⁿ, so any two full-rank models score n / max(p_A, p_B) whatever they ' +
    'are: the score only informs when n ≫ p or the representations are of low rank',
  prepare: (x, _params, label, ctx) => prepareEigenspace(x, label, { engine: ctx.engine }),
  compare: (a, b) => eigenspaceOverlap(a, b),
};
