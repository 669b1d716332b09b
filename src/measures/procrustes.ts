/**
 * Procrustes and shape metrics (docs/measures.md#procrustes-and-shape-metrics): distances between two
 * representations after the best alignment of one onto the other within a group of feature-space transformations —
 * rotations (orthogonal Procrustes, netrep's generalised shape metric with partial whitening α), permutations
 * (netrep's PermutationMetric) and uniform transport plans between neurons (soft matching).
 *
 * Widths may differ: the narrower side is taken as zero-padded (netrep's `zero_pad`), which changes no inner product.
 * All four are inherently pairwise; each model is prepared once (centred, reduced to its principal axes where the
 * group allows it) and a pair then costs one cross product plus one eigendecomposition (rotations) or one
 * assignment / transport problem (permutations, soft matching).
 */
import { product } from '../io/npy.js';
import type { Matrix } from '../linalg/dense.js';
import type { GemmEngine } from '../linalg/gemm.js';
import type { PairwiseFamily, PairwiseInput, PairwiseParams } from './pairwise.js';
import type { Invariance } from './registry.js';
import { centerColumns, nuclearNorm, principalAxes, squaredNorm, transposeData, weightedCross, WHITEN_DROP } from './subspace.js';
import { maxAssignment, transport } from './transport.js';

/** A representation reduced for the rotation group: component scores (r×n), optional per-component weights. */
interface Rotated {
  n: number;
  r: number;
  scores: Float64Array;
  weights?: Float64Array;
  /** ‖X‖²_F after centring (before any whitening). */
  total: number;
  /** Σ_k w_k² λ_k: ‖X_w‖²_F after whitening (= total without it). */
  whitened: number;
}

function constantError(label: string, center: boolean, what: string): Error {
  return new Error(
    `${label}: every image has the same features${center ? ' (after centring each feature)' : ''}, so ${what} is undefined; ` +
      'check that the features were extracted from the right layer and images',
  );
}

/**
 * X as component scores whose cross products with another model's have XᵀY's singular values: Xᵀ itself when
 * p ≤ n (no decomposition), else the principal axes (r ≤ n components).
 */
async function rotationForm(x: Matrix, engine: GemmEngine): Promise<Rotated> {
  if (x.cols <= x.rows) {
    const total = squaredNorm(x.data);
    return { n: x.rows, r: x.cols, scores: transposeData(x), total, whitened: total };
  }
  const axes = await principalAxes(x, engine, 0);
  return { n: x.rows, r: axes.r, scores: axes.scores, total: axes.total, whitened: axes.total };
}

/** ‖X_wᵀ Y_w‖_* of two prepared forms. */
async function nuclear(a: Rotated, b: Rotated, engine: GemmEngine): Promise<number> {
  return nuclearNorm(await weightedCross(a.scores, a.r, a.weights, b.scores, b.r, b.weights, a.n, engine), a.r, b.r);
}

// ---------------------------------------------------------------------------------------------------------
// Orthogonal Procrustes

export const procrustesFamily: PairwiseFamily<Rotated> = {
  id: 'procrustes',
  name: 'Orthogonal Procrustes distance',
  description:
    'min over orthogonal Q of ‖XQ − Y‖_F = √(‖X‖² + ‖Y‖² − 2‖XᵀY‖_*), the narrower side zero-padded. Default: features centred and each ' +
    'matrix scaled to unit Frobenius norm (Ding et al. 2021; ReSi reports this d), so d = √(2 − 2‖XᵀY‖_*) ∈ [0, √2]; ' +
    'center=false and scale=false give the raw and size-and-shape variants, squared gives d².',
  reference:
    'Schönemann 1966; Ding, Denain & Steinhardt, Grounding Representation Similarity with Statistical Testing, NeurIPS 2021; ReSi (Klabunde et al. 2024)',
  params: [
    { name: 'center', type: 'flag', default: true, description: 'centre every feature over the images first (center=false: raw)' },
    { name: 'scale', type: 'flag', default: true, description: 'scale each matrix to unit Frobenius norm (scale=false: size-and-shape)' },
    { name: 'squared', type: 'flag', default: false, description: 'report d² (Ding et al.) instead of d (ReSi)' },
  ],
  largerIsMoreSimilar: false,
  symmetric: true,
  metric: (p) => p.squared !== true,
  invariances: (p): Invariance[] => [
    'orthogonal',
    'feature-permutation',
    ...(p.center ? ['translation' as const] : []),
    ...(p.scale ? ['isotropic-scaling' as const] : []),
  ],
  cost: { tier: 'moderate', scaling: 'M·min(n,p)²·max(n,p) (reduction per model) + M²·(n·r² + r³), r = min(n, p)' },
  fewImages:
    'No special case: the distance is defined for any n. With n ≤ p the rows span at most n (n − 1 centred) dimensions and the ' +
    'computation runs in that reduced space.',
  self: 0,
  standard: ['procrustes'],
  async prepare(x, params, label, ctx) {
    if (params.center) centerColumns(x);
    const form = await rotationForm(x, ctx.engine);
    if (params.scale && form.total === 0) throw constantError(label, params.center === true, 'scaling to unit norm');
    return form;
  },
  async compare(a, b, params, ctx) {
    const nuc = await nuclear(a, b, ctx.engine);
    const d2 = params.scale ? 2 - (2 * nuc) / Math.sqrt(a.total * b.total) : a.total + b.total - 2 * nuc;
    const clipped = Math.max(0, d2);
    return params.squared ? clipped : Math.sqrt(clipped);
  },
};

// ---------------------------------------------------------------------------------------------------------
// netrep's generalised shape metric

/** Partial whitening of netrep (α = 1: none, α = 0: full), in the principal axes. */
async function whitenedForm(x: Matrix, alpha: number, engine: GemmEngine): Promise<Rotated> {
  if (alpha === 1) return rotationForm(x, engine);
  const axes = await principalAxes(x, engine, WHITEN_DROP);
  const weights = new Float64Array(axes.r);
  let whitened = 0;
  for (let k = 0; k < axes.r; k++) {
    weights[k] = alpha + (1 - alpha) / Math.sqrt(axes.lambda[k]);
    whitened += weights[k] * weights[k] * axes.lambda[k];
  }
  return { n: axes.n, r: axes.r, scores: axes.scores, weights, total: axes.total, whitened };
}

function shapeInvariances(p: PairwiseParams): Invariance[] {
  // A permutation of the features is a rotation; full whitening (α = 0) forgets any change of basis.
  const out: Invariance[] = ['orthogonal', 'feature-permutation'];
  if (p.center) out.push('translation');
  // Partial whitening mixes 1 and λ^(−1/2), so for 0 < α < 1 the result depends on the features' overall scale (as in netrep).
  if (p.score === 'angular' && (p.alpha === 0 || p.alpha === 1)) {
    out.push('isotropic-scaling');
    if (p.alpha === 0) out.push('invertible-linear');
    if (p.alpha === 0 && p.center) out.push('per-feature-affine');
  }
  return out;
}

export const shapeFamily: PairwiseFamily<Rotated> = {
  id: 'shape',
  name: 'Generalised shape metric (netrep)',
  description:
    "netrep's LinearMetric: centre, partially whiten each side (X_w = X·V·diag(α + (1 − α)/√λ)·Vᵀ, α = 1 none, α = 0 full, CCA-like), " +
    'align by the best rotation, then the angle arccos(‖X_wᵀY_w‖_* / (‖X_w‖‖Y_w‖)) ∈ [0, π/2] (score=angular) or the Euclidean ' +
    'distance with each side rescaled to its original total variance (score=euclidean).',
  reference: 'Williams, Kunz, Kornblith & Linderman, Generalized Shape Metrics on Neural Representations, NeurIPS 2021; netrep LinearMetric',
  params: [
    {
      name: 'alpha',
      type: 'number',
      default: 1,
      min: 0,
      max: 1,
      description: 'partial whitening: 1 = rotations only (angular Procrustes), 0 = full whitening',
    },
    { name: 'score', type: 'enum', values: ['angular', 'euclidean'], default: 'angular', description: 'ground metric after alignment' },
    { name: 'center', type: 'flag', default: true, description: 'centre every feature over the images first' },
  ],
  largerIsMoreSimilar: false,
  symmetric: true,
  metric: true,
  invariances: shapeInvariances,
  cost: { tier: 'moderate', scaling: 'M·min(n,p)²·max(n,p) (principal axes per model) + M²·(n·r² + r³), r = min(n, p)' },
  fewImages:
    'The centred rows span at most n − 1 dimensions; components beyond (and any with ≤ 1e-10 of the top variance) are left out, ' +
    'never whitened. As α → 0 the metric compares column spaces only: when both models span all n − 1 centred dimensions ' +
    '(n ≤ p) every pair is at distance 0. Use α ≥ 0.5, or reduce the features, when n ≤ p.',
  self: 0,
  standard: ['shape', 'shape:alpha=0.5', 'shape:alpha=0'],
  async prepare(x, params, label, ctx) {
    if (params.center) centerColumns(x);
    const form = await whitenedForm(x, params.alpha as number, ctx.engine);
    if (form.total === 0 || form.r === 0) throw constantError(label, params.center === true, 'the shape metric');
    return form;
  },
  async compare(a, b, params, ctx) {
    const nuc = await nuclear(a, b, ctx.engine);
    if (params.score === 'angular') return Math.acos(Math.min(1, Math.max(-1, nuc / Math.sqrt(a.whitened * b.whitened))));
    // Each side rescaled by √(total / whitened): the whitened data keep the original total variance.
    const scaled = nuc * Math.sqrt((a.total / a.whitened) * (b.total / b.whitened));
    return Math.sqrt(Math.max(0, a.total + b.total - 2 * scaled));
  },
};

// ---------------------------------------------------------------------------------------------------------
// Permutation and soft matching

/** The units matched one to one (or by transport): columns of the feature matrix, or a conv layer's channels. */
interface Columns {
  /** Samples each unit has: images, or images × spatial positions for channel units. */
  n: number;
  p: number;
  /** p×n row-major: row j = unit j over the samples. */
  cols: Float64Array;
  norms: Float64Array;
  total: number;
  /** Channel units with positions as samples: the positions per image, which the other side must share. */
  positions?: number;
  label: string;
}

/**
 * The channel count and positions per image of a stored per-image shape. `auto` takes the layout the extraction
 * recorded for the member (channel-first for ONNX / PyTorch maps), channel-last when none was recorded.
 */
function channelsOf(input: PairwiseInput, p: number, layout: string, label: string): { c: number; positions: number; first: boolean } {
  const shape = input.shape;
  if (shape.length === 0 || product(shape) !== p) throw new Error(`${label}: the stored per-image shape [${shape.join(', ')}] does not hold its ${p} features`);
  const first = layout === 'NCHW' || (layout === 'auto' && input.featureLayout === 'channels-first');
  const c = first ? shape[0] : shape[shape.length - 1];
  return { c, positions: p / c, first };
}

/**
 * Centre each feature over the images (so an offset per feature, at any position, changes nothing), then lay the
 * units out as rows. With channel units a channel's samples are its responses at every position of every image:
 * the matching then permutes channels — the symmetry of a conv layer — instead of its h·w·c position-channel
 * features, and the problem shrinks from (h·w·c)² to c².
 */
function columnsOf(x: Matrix, params: PairwiseParams, label: string, input: PairwiseInput | undefined): Columns {
  if (params.center) centerColumns(x);
  let cols: Float64Array;
  let n = x.rows;
  let p = x.cols;
  let grid: number | undefined;
  if (params.units === 'channels') {
    const { c, positions, first: nchw } = channelsOf(input ?? { shape: [x.cols] }, x.cols, params.layout as string, label);
    const images = x.rows;
    // spatial=mean: one sample per image, the channel's mean over positions (layers of any grid compare).
    const mean = params.spatial === 'mean';
    const per = mean ? 1 : positions;
    n = images * per;
    p = c;
    if (!mean && positions > 1) grid = positions;
    cols = new Float64Array(p * n);
    for (let k = 0; k < c; k++)
      for (let i = 0; i < images; i++) {
        const src = i * x.cols;
        const dst = k * n + i * per;
        for (let s = 0; s < positions; s++) {
          const v = x.data[src + (nchw ? k * positions + s : s * c + k)];
          if (mean) cols[dst] += v / positions;
          else cols[dst + s] = v;
        }
      }
  } else cols = transposeData(x);
  const norms = new Float64Array(p);
  for (let j = 0; j < p; j++) norms[j] = squaredNorm(cols.subarray(j * n, (j + 1) * n));
  const max = params.maxUnits as number;
  if (p > max)
    throw new Error(
      `${label}: ${p.toLocaleString('en-US')} ${params.units === 'channels' ? 'channels' : 'features'} to match one to one, more than maxUnits=${max}: ` +
        `one exact matching costs O(units³) per pair (hours at this size). ` +
        (params.units === 'channels' ? 'Reduce the features' : 'Match the channels of a conv map (units=channels), or reduce the features') +
        ' (extract --reduce gap or proj:D), or raise maxUnits',
    );
  return { n, p, cols, norms, total: norms.reduce((s, v) => s + v, 0), label, ...(grid ? { positions: grid } : {}) };
}

/** Channel units with positions as samples pair positions one to one: both layers need the same grid. */
function checkGrids(a: Columns, b: Columns): void {
  if (a.n === b.n) return;
  const grid = (c: Columns) => `${c.positions ?? 1} position${c.positions === undefined ? '' : 's'} per image`;
  throw new Error(
    `units=channels pairs positions one to one, but ${a.label} has ${grid(a)} and ${b.label} has ${grid(b)}; ` +
      'extract both at the same spatial size (--reduce pool:K), or average each channel over its positions (spatial=mean)',
  );
}

/** The matched units' parameters, shared by permutation and soft matching. */
const UNIT_PARAMS: PairwiseFamily['params'] = [
  {
    name: 'units',
    type: 'enum',
    values: ['features', 'channels'],
    default: 'features',
    description:
      'what is matched: every feature, or the channels of a conv layer (the same channel permutation at every position; ' +
      'positions join the images as samples; uses the stored per-image shape)',
  },
  {
    name: 'layout',
    type: 'enum',
    values: ['auto', 'NHWC', 'NCHW'],
    default: 'auto',
    description: 'the channel axis of the stored shape for units=channels: last (NHWC), first (NCHW), or auto = as the extraction recorded it, else last',
  },
  {
    name: 'maxUnits',
    type: 'number',
    default: 4096,
    min: 1,
    integer: true,
    description: 'refuse layers with more units than this: one exact matching costs O(units³) per pair (minutes at 4,096, hours beyond)',
  },
  {
    name: 'spatial',
    type: 'enum',
    values: ['samples', 'mean'],
    default: 'samples',
    description:
      'units=channels: positions join the images as samples (both layers need the same grid), or each channel is averaged over its positions first (any grids)',
  },
];

function validateUnits(params: PairwiseParams, id: string): void {
  if (params.units !== 'channels' && (params.spatial !== 'samples' || params.layout !== 'auto'))
    throw new Error(`${id}: layout and spatial describe channel units; add units=channels`);
}

/** Arbitrary feature permutations leave the value unchanged only when every feature is a unit. */
const unitInvariances = (p: PairwiseParams): Invariance[] => (p.units === 'features' ? ['feature-permutation'] : []);

export const permutationFamily: PairwiseFamily<Columns> = {
  id: 'permutation',
  name: 'Permutation shape metric (netrep)',
  description:
    "netrep's PermutationMetric: centre, match features one-to-one by the linear assignment maximising Σ (XᵀY)_{a,π(a)} " +
    '(the narrower side zero-padded), then the angle arccos(Σ (XᵀY)_{a,π(a)} / (‖X‖‖Y‖)) (score=angular) or ' +
    '‖X − Y_π‖_F (score=euclidean). Exact assignment (shortest augmenting paths), O(max(p, q)³) per pair.',
  reference: 'Williams et al., Generalized Shape Metrics on Neural Representations, NeurIPS 2021; netrep PermutationMetric',
  params: [
    { name: 'score', type: 'enum', values: ['angular', 'euclidean'], default: 'angular', description: 'ground metric after matching' },
    { name: 'center', type: 'flag', default: true, description: 'centre every feature over the images first' },
    ...UNIT_PARAMS,
  ],
  largerIsMoreSimilar: false,
  symmetric: true,
  metric: true,
  invariances: (p): Invariance[] => [
    ...unitInvariances(p),
    ...(p.center ? ['translation' as const] : []),
    ...(p.score === 'angular' ? ['isotropic-scaling' as const] : []),
  ],
  cost: { tier: 'expensive', scaling: 'M²·(n·p·q + max(p,q)³) (one cross product and one assignment per pair)' },
  fewImages: 'No special case: the matching is over features, whatever n.',
  self: 0,
  standard: ['permutation', 'permutation:units=channels', 'permutation:units=channels,spatial=mean'],
  validate: validateUnits,
  prepare(x, params, label, _ctx, input) {
    const c = columnsOf(x, params, label, input);
    if (params.score === 'angular' && c.total === 0) throw constantError(label, params.center === true, 'the angular permutation metric');
    return c;
  },
  async compare(a, b, params, ctx) {
    checkGrids(a, b);
    const cross = await ctx.engine.abt(a.cols, a.p, b.cols, b.p, a.n, 'float64');
    // Rectangular assignment: the optimum of netrep's square problem with the narrower side zero-padded.
    const value = maxAssignment(cross, a.p, b.p, a.p === b.p ? { rows: a.norms.map((v) => v / 2), cols: b.norms.map((v) => v / 2) } : undefined);
    if (params.score === 'angular') return Math.acos(Math.min(1, Math.max(-1, value / Math.sqrt(a.total * b.total))));
    return Math.sqrt(Math.max(0, a.total + b.total - 2 * value));
  },
};

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

export const softMatchFamily: PairwiseFamily<Columns> = {
  id: 'softmatch',
  name: 'Soft matching distance',
  description:
    'The 2-Wasserstein distance between the two sets of feature columns (tuning curves over the images) with uniform weights: ' +
    'd² = min Σ_ij P_ij ‖x_i − y_j‖² over transport plans P with row sums 1/p and column sums 1/q. Equals the Euclidean ' +
    'permutation distance / √p when p = q, and compares layers of any widths without padding. Solved exactly.',
  reference: 'Khosla & Williams, Soft Matching Distance: A metric on neural representations that captures single-neuron tuning, UniReps 2023',
  params: [{ name: 'center', type: 'flag', default: true, description: 'centre every feature over the images first' }, ...UNIT_PARAMS],
  largerIsMoreSimilar: false,
  symmetric: true,
  metric: true,
  invariances: (p): Invariance[] => [...unitInvariances(p), ...(p.center ? ['translation' as const] : [])],
  cost: { tier: 'expensive', scaling: 'M²·(n·p·q + (p + q)²·(p + q)) (one cross product and one transport problem per pair)' },
  fewImages: 'No special case: the transport is over features, whatever n.',
  self: 0,
  standard: ['softmatch', 'softmatch:units=channels', 'softmatch:units=channels,spatial=mean'],
  validate: validateUnits,
  prepare(x, params, label, _ctx, input) {
    return columnsOf(x, params, label, input);
  },
  async compare(a, b, _params, ctx) {
    checkGrids(a, b);
    const cross = await ctx.engine.abt(a.cols, a.p, b.cols, b.p, a.n, 'float64');
    const cost = new Float64Array(a.p * b.p);
    for (let i = 0; i < a.p; i++) for (let j = 0; j < b.p; j++) cost[i * b.p + j] = Math.max(0, a.norms[i] + b.norms[j] - 2 * cross[i * b.p + j]);
    // Integer masses q/g per row and p/g per column: a uniform plan scaled by pq/g.
    const g = gcd(a.p, b.p);
    const plan = transport(cost, a.p, b.p, new Float64Array(a.p).fill(b.p / g), new Float64Array(b.p).fill(a.p / g));
    return Math.sqrt(Math.max(0, plan.cost / ((a.p * b.p) / g)));
  },
};
