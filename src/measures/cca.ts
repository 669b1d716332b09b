/**
 * The CCA family (docs/measures.md#cca-family): canonical correlations between two centred representations, summarised
 * as Kornblith's mean squared correlation R²_CCA or the mean correlation (cca), after an SVD to 99% of the variance
 * (svcca, Raghu et al. 2017), or weighted by how much of the smaller layer each canonical variate accounts for
 * (pwcca, Morcos et al. 2018).
 *
 * Computed without inverting a covariance: each model is reduced once to its principal axes (component scores and
 * variances λ_k); the canonical correlations are the singular values of diag(w_x)·S_x·S_yᵀ·diag(w_y) with
 * w_k = 1/√(λ_k + κ·λ̄) — plain CCA at κ = 0 (components with ≤ 1e-10 of the top variance are null space, left out),
 * ridge CCA (Vinod 1976) for κ > 0, with λ̄ the mean variance per feature so that κ does not depend on the scale.
 * Nothing iterates, so nothing can fail to converge. When the two ranks add up to more than the n − 1 dimensions
 * that centred images span, some correlations are 1 whatever the data: without a ridge that is an error.
 */
import type { GemmEngine } from '../linalg/gemm.js';
import { symmetricEigen } from '../linalg/eigen.js';
import type { Matrix } from '../linalg/dense.js';
import type { PairwiseFamily, PairwiseParams } from './pairwise.js';
import type { Invariance, ParamSpec } from './registry.js';
import { centerColumns, principalAxes, singularValues, transposeData, weightedCross, WHITEN_DROP } from './subspace.js';

/** One model in whitened principal axes. */
interface Canonical {
  label: string;
  n: number;
  /** Features of the input. */
  p: number;
  /** Components kept (rank, or the SVCCA cut). */
  r: number;
  /** r×n component scores. */
  scores: Float64Array;
  /** r whitening weights 1/√(λ_k + κλ̄). */
  weights: Float64Array;
  lambda: Float64Array;
  /** PWCCA only: p×r, Xᵀ·S_kᵀ·w_k — the covariance of every feature with every whitened component. */
  loadings?: Float64Array;
}

const RIDGE: ParamSpec = {
  name: 'ridge',
  type: 'number',
  default: 0,
  min: 0,
  description: 'κ ≥ 0 added to every variance as κ × the mean feature variance (0: plain CCA; needed when rank X + rank Y > n − 1)',
};

/** CCA forgets any change of basis (with centring: any affine map of the features); a ridge keeps only the rotations. */
const INVARIANCES_PLAIN: Invariance[] = ['orthogonal', 'isotropic-scaling', 'translation', 'feature-permutation', 'per-feature-affine', 'invertible-linear'];
const INVARIANCES_RIDGE: Invariance[] = ['orthogonal', 'isotropic-scaling', 'translation', 'feature-permutation'];

function ridgeInvariances(p: PairwiseParams): Invariance[] {
  return p.ridge === 0 ? INVARIANCES_PLAIN : INVARIANCES_RIDGE;
}

function noVariance(label: string): Error {
  return new Error(
    `${label}: every image has the same features after centring each feature, so it has no canonical directions; ` +
      'check that the features were extracted from the right layer and images',
  );
}

/**
 * Centre, reduce to principal axes, optionally cut to the fewest leading components holding `variance` of the total
 * (SVCCA), and weight for (ridge) whitening.
 */
async function canonicalForm(x: Matrix, label: string, ridge: number, engine: GemmEngine, cut?: { variance: number; dims: number }): Promise<Canonical> {
  centerColumns(x);
  const axes = await principalAxes(x, engine, WHITEN_DROP);
  if (axes.r === 0) throw noVariance(label);
  let r = axes.r;
  let p = x.cols;
  let total = axes.total;
  if (cut) {
    if (cut.dims > 0) r = Math.min(r, cut.dims);
    else {
      // The smallest k with Σ_{i≤k} λ_i ≥ variance · Σ λ (the intended rule; ReSi compares the fraction with variance × total).
      let acc = 0;
      r = 0;
      while (r < axes.r && acc < cut.variance * axes.total) acc += axes.lambda[r++];
    }
    // The reduced representation's features are its r components.
    p = r;
    total = 0;
    for (let k = 0; k < r; k++) total += axes.lambda[k];
  }
  const mean = total / p;
  const weights = new Float64Array(r);
  for (let k = 0; k < r; k++) weights[k] = 1 / Math.sqrt(axes.lambda[k] + ridge * mean);
  return { label, n: x.rows, p, r, scores: axes.scores.subarray(0, r * x.rows), weights, lambda: axes.lambda.subarray(0, r) };
}

/** The canonical correlations ρ_1 ≥ … (min(r_x, r_y) of them) and the whitened cross matrix. */
async function correlations(a: Canonical, b: Canonical, ridge: number, id: string, engine: GemmEngine): Promise<{ rho: Float64Array; cross: Float64Array }> {
  if (ridge === 0 && a.r + b.r > a.n - 1) {
    const forced = a.r + b.r - (a.n - 1);
    throw new Error(
      `${id}: ${a.label} has rank ${a.r} and ${b.label} rank ${b.r} on ${a.n} images; centred images span only ${a.n - 1} dimensions, ` +
        `so at least ${forced} canonical correlation${forced === 1 ? ' is' : 's are'} 1 whatever the data. Regularise (e.g. ${id.split(':')[0]}:ridge=0.1), ` +
        'use fewer features (svcca keeps 99% of the variance), or more images',
    );
  }
  const cross = await weightedCross(a.scores, a.r, a.weights, b.scores, b.r, b.weights, a.n, engine);
  const rho = singularValues(cross, a.r, b.r);
  // Rounding can put a perfect correlation a hair above 1.
  for (let i = 0; i < rho.length; i++) rho[i] = Math.min(1, rho[i]);
  return { rho, cross };
}

const mean = (v: Float64Array) => v.reduce((s, x) => s + x, 0) / v.length;

export const ccaFamily: PairwiseFamily<Canonical> = {
  id: 'cca',
  name: 'Canonical correlation analysis',
  description:
    'Canonical correlations ρ_i of the centred representations (singular values of Q_xᵀQ_y), summarised as R²_CCA = Σρ_i²/k ' +
    "(stat=r2, Kornblith et al.'s mean squared CCA correlation) or ρ̄ = Σρ_i/k (stat=mean), k = min(rank X, rank Y). " +
    'ridge=κ gives ridge-regularised CCA.',
  reference: 'Hotelling 1936; Kornblith, Norouzi, Lee & Hinton, ICML 2019 (R²_CCA); Vinod 1976 (ridge CCA)',
  params: [{ name: 'stat', type: 'enum', values: ['r2', 'mean'], default: 'r2', description: 'summary: mean squared correlation or mean correlation' }, RIDGE],
  largerIsMoreSimilar: true,
  symmetric: true,
  metric: false,
  invariances: ridgeInvariances,
  cost: { tier: 'moderate', scaling: 'M·min(n,p)²·max(n,p) (principal axes per model) + M²·(n·r² + r³), r = rank ≤ min(n − 1, p)' },
  fewImages:
    'Needs rank X + rank Y ≤ n − 1: beyond that some correlations are 1 whatever the data, and without a ridge that is an error ' +
    'naming the ranks. With ridge=κ > 0 any n works (κ shrinks the spurious correlations; the value then depends on κ).',
  self: (p) => (p.ridge === 0 ? 1 : undefined),
  standard: ['cca', 'cca:stat=mean', 'cca:ridge=0.1'],
  prepare: (x, params, label, ctx) => canonicalForm(x, label, params.ridge as number, ctx.engine),
  async compare(a, b, params, ctx) {
    const { rho } = await correlations(a, b, params.ridge as number, params.stat === 'mean' ? 'cca:stat=mean' : 'cca', ctx.engine);
    return params.stat === 'mean' ? mean(rho) : mean(rho.map((r) => r * r));
  },
};

export const svccaFamily: PairwiseFamily<Canonical> = {
  id: 'svcca',
  name: 'SVCCA',
  description:
    'Centre, keep the fewest leading principal directions holding 99% of the variance (or dims=k directions), then the mean ' +
    'canonical correlation of the two reduced representations over all min(k_x, k_y) pairs.',
  reference: 'Raghu, Gilmer, Yosinski & Sohl-Dickstein, SVCCA, NeurIPS 2017 (google/svcca)',
  params: [
    { name: 'variance', type: 'number', default: 0.99, min: 0, max: 1, description: 'fraction of the variance the kept directions hold' },
    { name: 'dims', type: 'number', default: 0, min: 0, integer: true, description: 'keep exactly this many directions instead (0: by variance)' },
    RIDGE,
  ],
  largerIsMoreSimilar: true,
  symmetric: true,
  metric: false,
  // The SVD cut depends on the features' own variances, so an invertible map that changes them changes the cut.
  invariances: INVARIANCES_RIDGE,
  cost: { tier: 'moderate', scaling: 'M·min(n,p)²·max(n,p) (SVD per model) + M²·(n·k² + k³), k = kept directions' },
  fewImages: 'Needs k_x + k_y ≤ n − 1 for the kept directions (the 99% cut usually keeps far fewer than n): otherwise an error, or give a ridge.',
  self: (p) => (p.ridge === 0 ? 1 : undefined),
  standard: ['svcca'],
  validate(params, id) {
    if (params.variance === 0 && params.dims === 0) throw new Error(`measure "${id}": variance=0 keeps no direction; give a fraction in (0, 1] or dims`);
  },
  prepare: (x, params, label, ctx) =>
    canonicalForm(x, label, params.ridge as number, ctx.engine, { variance: params.variance as number, dims: params.dims as number }),
  async compare(a, b, params, ctx) {
    return mean((await correlations(a, b, params.ridge as number, 'svcca', ctx.engine)).rho);
  },
};

/**
 * PWCCA weights from side `a`: canonical variates h_i = S_aᵀ·W_a·u_i for the k = min(r_a, r_b) canonical pairs (u_i
 * the left singular vectors of the whitened cross matrix), α̃_i = Σ_j |⟨h_i, x_j⟩| / ‖h_i‖ over a's centred
 * features x_j; PWCCA = Σ α̃_i ρ_i / Σ α̃_i.
 */
async function pwccaFrom(a: Canonical, cross: Float64Array, rb: number, rho: Float64Array, engine: GemmEngine): Promise<number> {
  const ra = a.r;
  const k = rho.length;
  // C·Cᵀ (ra×ra): its eigenvectors are the left singular vectors, largest first as ρ.
  const cct = await engine.abt(cross, ra, cross, ra, rb, 'float64');
  for (let i = 0; i < ra; i++) for (let j = i + 1; j < ra; j++) cct[j * ra + i] = cct[i * ra + j];
  const { vectors } = symmetricEigen({ rows: ra, cols: ra, data: cct });
  // Uᵀ (row i = u_i), first k rows, so that the loadings F·u_i come from one GEMM.
  const ut = transposeData(vectors).subarray(0, k * ra);
  const lt = await engine.abt(ut, k, a.loadings!, a.p, ra, 'float64'); // k×p: row i = Xᵀh_i (unnormalised)
  let num = 0;
  let den = 0;
  for (let i = 0; i < k; i++) {
    // ‖h_i‖² = Σ_l u_il² w_l² λ_l.
    let norm2 = 0;
    for (let l = 0; l < ra; l++) norm2 += ut[i * ra + l] ** 2 * a.weights[l] ** 2 * a.lambda[l];
    let s = 0;
    for (let j = 0; j < a.p; j++) s += Math.abs(lt[i * a.p + j]);
    const w = s / Math.sqrt(norm2);
    num += w * rho[i];
    den += w;
  }
  return num / den;
}

/** The transpose of an r×c row-major array. */
function transposeOf(c: Float64Array, r: number, cols: number): Float64Array {
  return transposeData({ rows: r, cols, data: c });
}

export const pwccaFamily: PairwiseFamily<Canonical> = {
  id: 'pwcca',
  name: 'Projection-weighted CCA',
  description:
    'Canonical correlations weighted by how much of the representation with fewer features each canonical variate accounts for: ' +
    'α_i ∝ Σ_j |⟨h_i, x_j⟩| over its centred features x_j (h_i the unit canonical variates of the k = min(rank X, rank Y) pairs); ' +
    'PWCCA = Σ α_i ρ_i. Equal widths: the mean of the two weightings, so the value is symmetric. Where correlations repeat ' +
    '(e.g. several equal to 1) their directions, and so the weights, are not unique: the value is then one of several.',
  reference: 'Morcos, Raghu & Bengio, Insights on representational similarity in neural networks with canonical correlation, NeurIPS 2018',
  params: [RIDGE],
  largerIsMoreSimilar: true,
  symmetric: true,
  metric: false,
  // The weights read the features themselves, so only maps that keep |⟨h, x_j⟩| summed over features keep the value.
  invariances: ['isotropic-scaling', 'translation', 'feature-permutation'],
  cost: { tier: 'moderate', scaling: 'M·min(n,p)²·max(n,p) (principal axes per model) + M²·(n·r² + r³ + p·r²)' },
  fewImages: 'As cca: needs rank X + rank Y ≤ n − 1 without a ridge (an error otherwise).',
  self: (p) => (p.ridge === 0 ? 1 : undefined),
  standard: ['pwcca'],
  async prepare(x, params, label, ctx) {
    const c = await canonicalForm(x, label, params.ridge as number, ctx.engine);
    // Loadings Xᵀ·S_kᵀ·w_k (p×r) by one GEMM: x is centred in place by canonicalForm.
    const scaled = new Float64Array(c.r * c.n);
    for (let k = 0; k < c.r; k++) for (let i = 0; i < c.n; i++) scaled[k * c.n + i] = c.scores[k * c.n + i] * c.weights[k];
    c.loadings = await ctx.engine.abt(transposeData(x), x.cols, scaled, c.r, c.n, 'float64');
    return c;
  },
  async compare(a, b, params, ctx) {
    const { rho, cross } = await correlations(a, b, params.ridge as number, 'pwcca', ctx.engine);
    if (a.p < b.p) return pwccaFrom(a, cross, b.r, rho, ctx.engine);
    const crossT = transposeOf(cross, a.r, b.r);
    if (b.p < a.p) return pwccaFrom(b, crossT, a.r, rho, ctx.engine);
    return ((await pwccaFrom(a, cross, b.r, rho, ctx.engine)) + (await pwccaFrom(b, crossT, a.r, rho, ctx.engine))) / 2;
  },
};
