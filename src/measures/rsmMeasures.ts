/**
 * Measures on the Euclidean distance matrices (RSMs) of two representations (docs/measures.md#rsm-measures):
 * the RSM norm difference (ReSi) and distance correlation (Székely, Rizzo & Bakirov 2007). Each model is prepared
 * once — its n×n distance matrix from one Gram product (src/linalg/distances.ts, exact ties kept) — and a pair costs
 * one pass over n(n+1)/2 stored values.
 */
import type { Matrix } from '../linalg/dense.js';
import { upperTriangle } from '../linalg/dense.js';
import { euclideanDistances } from '../linalg/distances.js';
import type { GemmOptions } from '../linalg/gemm.js';
import { centerMatrix, maxAbs, prepareForComparator } from './compare.js';
import type { PairwiseFamily } from './pairwise.js';

/** The upper triangle of one model's Euclidean distance matrix. */
export interface RsmPrepared {
  label: string;
  n: number;
  triangle: Float64Array;
}

export async function prepareRsm(x: Matrix, label: string, opts: GemmOptions = {}): Promise<RsmPrepared> {
  const d = await euclideanDistances(x, { ...opts, label });
  return { label, n: x.rows, triangle: upperTriangle(d) };
}

function checkPair(a: { label: string; n: number }, b: { label: string; n: number }): void {
  if (a.n !== b.n) throw new Error(`${a.label} has ${a.n} images but ${b.label} has ${b.n}; distance matrices compare the same images`);
}

/**
 * ‖S_A − S_B‖_F over the full n×n Euclidean distance matrices (both triangles, so √2 × the norm over one): a
 * pseudo-metric (0 for two representations with the same distances). Accumulated relative to the largest
 * difference, so huge distances cannot overflow the sum of squares.
 */
export function rsmNormDifference(a: RsmPrepared, b: RsmPrepared): number {
  checkPair(a, b);
  const ta = a.triangle;
  const tb = b.triangle;
  let m = 0;
  for (let q = 0; q < ta.length; q++) m = Math.max(m, Math.abs(ta[q] - tb[q]));
  if (m === 0) return 0;
  let ss = 0;
  for (let q = 0; q < ta.length; q++) ss += ((ta[q] - tb[q]) / m) ** 2;
  return m * Math.sqrt(2 * ss);
}

/** One model's doubly centred distance matrix as a unit vector (diagonal, then √2 × the upper triangle). */
export interface DcorPrepared {
  label: string;
  n: number;
  vector: Float64Array;
}

export async function prepareDcor(x: Matrix, label: string, opts: GemmOptions = {}): Promise<DcorPrepared> {
  const d = await euclideanDistances(x, { ...opts, label });
  // A = H D H (V-statistic double centring); its squared Frobenius norm is n² dVar²_n. `scale` lets the check
  // recognise what centring leaves of an all-equal matrix (all images identical) as zero variance.
  // dCor does not depend on scale: divide by the largest distance so that squaring cannot overflow.
  const scale = maxAbs(d.data);
  if (scale > 0) for (let q = 0; q < d.data.length; q++) d.data[q] /= scale;
  const prepared = prepareForComparator(centerMatrix(d, 'biased', label, true), 'cka', label, 1);
  if (prepared.kind !== 'unit') throw new Error(`${label}: internal error: expected a unit vector for distance correlation`);
  return { label, n: x.rows, vector: prepared.vector };
}

/**
 * Distance correlation dCor_n(X, Y) = √(dCov²_n(X, Y) / √(dVar²_n(X) dVar²_n(Y))) with the biased V-statistics of
 * Székely et al. (double centring by full row, column and grand means; dCov²_n = (1/n²) Σ A_ij B_ij). As in ReSi the
 * square root is taken, so the value lies in [0, 1]; dCov²_n ≥ 0 in exact arithmetic, and a rounding-negative
 * value is taken as 0.
 */
export function distanceCorrelation(a: DcorPrepared, b: DcorPrepared): number {
  checkPair(a, b);
  let dot = 0;
  for (let q = 0; q < a.vector.length; q++) dot += a.vector[q] * b.vector[q];
  return Math.sqrt(Math.min(1, Math.max(0, dot)));
}

// ---------------------------------------------------------------------------------------------------------
// Registration (pairwise.ts)

const RSM_FEW_IMAGES = 'no special case: the n×n distance matrix is the same size whatever p';

export const RSM_NORM_DIFFERENCE_FAMILY: PairwiseFamily<RsmPrepared> = {
  id: 'rsm-norm-diff',
  name: 'RSM norm difference',
  description:
    'Frobenius norm of the difference of the two n×n Euclidean distance matrices (both triangles). A distance; 0 for two ' +
    'representations with the same distances (a pseudo-metric). Not scale invariant: it compares distances in the units of the features.',
  reference: 'Klabunde et al., ReSi: A Comprehensive Benchmark for Representational Similarity Measures, ICLR 2025 (repsim rsm_norm_diff)',
  params: [],
  largerIsMoreSimilar: false,
  symmetric: true,
  metric: true,
  invariances: ['orthogonal', 'translation', 'feature-permutation'],
  cost: { tier: 'cheap', scaling: 'M·n²·p (one Gram per model) + M²·n² (pairs); keeps n²/2 distances per model' },
  preparedBytes: (n) => 8 * ((n * (n + 1)) / 2),
  fewImages: RSM_FEW_IMAGES,
  self: 0,
  prepare: (x, _params, label, ctx) => prepareRsm(x, label, { engine: ctx.engine }),
  compare: (a, b) => rsmNormDifference(a, b),
};

export const DISTANCE_CORRELATION_FAMILY: PairwiseFamily<DcorPrepared> = {
  id: 'dcor',
  name: 'Distance correlation',
  description:
    'dCor of Székely, Rizzo & Bakirov with the biased V-statistics: the cosine of the doubly centred Euclidean distance ' +
    'matrices, square-rooted (dCor, not dCor²). In the population it is 0 exactly when the two are independent.',
  reference: 'Székely, Rizzo & Bakirov, Measuring and testing dependence by correlation of distances, Ann. Statist. 2007; as ReSi (distance_correlation)',
  params: [],
  largerIsMoreSimilar: true,
  symmetric: true,
  metric: false,
  invariances: ['orthogonal', 'isotropic-scaling', 'translation', 'feature-permutation'],
  cost: { tier: 'cheap', scaling: 'M·n²·p (one Gram per model) + M²·n² (pairs); keeps n²/2 values per model' },
  preparedBytes: (n) => 8 * ((n * (n + 1)) / 2),
  fewImages: `${RSM_FEW_IMAGES}; needs at least two distinct images`,
  self: 1,
  prepare: (x, _params, label, ctx) => prepareDcor(x, label, { engine: ctx.engine }),
  compare: (a, b) => distanceCorrelation(a, b),
};
