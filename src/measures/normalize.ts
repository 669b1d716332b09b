/**
 * The seven DDS feature normalisations (docs/measures.md#normalisations), applied to one representation before its
 * kernel / RDM is formed. Output is always a fresh float64 n×p array, so inputs stay untouched.
 */
import type { Representation } from '../features/types.js';

export const NORMALIZATIONS = ['none', 'centering', 'znorm', 'group_norm', 'instance_norm', 'layer_norm', 'batch_norm'] as const;
export type Normalization = (typeof NORMALIZATIONS)[number];
export type Layout = 'NHWC' | 'NCHW';

export interface TensorShapeOptions {
  /** Per-image shape (H, W, C); defaults to the representation's stored 3-d shape. */
  shape?: number[];
  /** How the flattened features map to (h, w, c); NHWC = channel-last as stored (default). */
  layout?: Layout;
  /** Number of contiguous channel groups for group_norm (the reference's `group_size`), default 2. */
  groups?: number;
}

/** ε inside the square root of the four tensor norms (reference value). */
const TENSOR_EPS = 1e-9;
/** float64 machine epsilon, for scikit-learn's constant-feature rule. */
const EPS_M = 2 ** -52;

export function toFloat64(rep: Representation): Float64Array {
  return new Float64Array(rep.data); // the typed-array constructor converts natively (from() iterates)
}

/** Column means and population variances, accumulated in float64 (two passes for accuracy). */
/** Column means, accumulated in float64. */
export function columnMeans(x: Float32Array | Float64Array, n: number, p: number): Float64Array {
  const mean = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const row = i * p;
    for (let j = 0; j < p; j++) mean[j] += x[row + j];
  }
  for (let j = 0; j < p; j++) mean[j] /= n;
  return mean;
}

export function columnMoments(x: Float64Array, n: number, p: number): { mean: Float64Array; variance: Float64Array } {
  const mean = columnMeans(x, n, p);
  const variance = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const row = i * p;
    for (let j = 0; j < p; j++) {
      const d = x[row + j] - mean[j];
      variance[j] += d * d;
    }
  }
  for (let j = 0; j < p; j++) variance[j] /= n;
  return { mean, variance };
}

/**
 * x − its column means as a fresh float64 array, read straight from the stored values (float32 or float64): the
 * same sums and differences as centring toFloat64(x) in place, bit for bit, with one pass and one array fewer.
 */
export function centeredCopy(x: Float32Array | Float64Array, n: number, p: number, into?: Float64Array): Float64Array {
  const mean = columnMeans(x, n, p);
  const out = into ?? new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    const row = i * p;
    for (let j = 0; j < p; j++) out[row + j] = x[row + j] - mean[j];
  }
  return out;
}

/**
 * Channel index of every flattened feature for the declared (H, W, C) shape and layout. The reference
 * hard-codes NHWC 16×16×8; here the shape is always explicit (docs/measures.md#normalisations).
 */
export function channelIndex(rep: Representation, opts: TensorShapeOptions): { channel: Int32Array; channels: number } {
  const layout = opts.layout ?? 'NHWC';
  if ((opts.shape ?? rep.shape).length !== 3) {
    throw new Error(`${rep.label}: tensor normalisations need the per-image shape H,W,C (stored shape is [${rep.shape.join(', ')}]); pass --shape H,W,C`);
  }
  // An explicit shape is always written H,W,C; a stored shape is in the array's own axis order, so an NCHW
  // array stores (C, H, W) per image.
  const [h, w, c] = opts.shape ?? (layout === 'NCHW' ? [rep.shape[1], rep.shape[2], rep.shape[0]] : rep.shape);
  if (h * w * c !== rep.p) {
    throw new Error(`${rep.label}: shape ${h}×${w}×${c} = ${h * w * c} does not match its ${rep.p} features`);
  }
  const channel = new Int32Array(rep.p);
  for (let j = 0; j < rep.p; j++) channel[j] = layout === 'NHWC' ? j % c : Math.floor(j / (h * w));
  return { channel, channels: c };
}

/** Normalise per (image, group) block over all features whose group id is `group[j]`. */
function perImageGroupNorm(x: Float64Array, n: number, p: number, group: Int32Array, groups: number): void {
  const sum = new Float64Array(groups);
  const sq = new Float64Array(groups);
  const count = new Float64Array(groups);
  for (let j = 0; j < p; j++) count[group[j]]++;
  for (let i = 0; i < n; i++) {
    const row = i * p;
    sum.fill(0);
    sq.fill(0);
    for (let j = 0; j < p; j++) sum[group[j]] += x[row + j];
    for (let g = 0; g < groups; g++) sum[g] /= count[g];
    for (let j = 0; j < p; j++) {
      const d = x[row + j] - sum[group[j]];
      sq[group[j]] += d * d;
    }
    for (let g = 0; g < groups; g++) sq[g] = Math.sqrt(sq[g] / count[g] + TENSOR_EPS);
    for (let j = 0; j < p; j++) x[row + j] = (x[row + j] - sum[group[j]]) / sq[group[j]];
  }
}

/**
 * The normalised features as float64 n×p: a fresh array, or `into` (exactly n·p long) when the caller reuses one
 * across members — fresh memory costs a page fault per 4 KiB on first touch.
 */
export function normalizeFeatures(rep: Representation, norm: Normalization, opts: TensorShapeOptions = {}, into?: Float64Array): Float64Array {
  const { n, p } = rep;
  if (into && into.length !== n * p) throw new Error(`normalizeFeatures: the output array holds ${into.length} values, not ${n}×${p}`);
  if (norm === 'centering') return centeredCopy(rep.data, n, p, into);
  const x = into ? (into.set(rep.data), into) : toFloat64(rep);
  switch (norm) {
    case 'none':
      return x;
    case 'znorm': {
      // scikit-learn StandardScaler: population std, no epsilon, constant features scaled by 1 (→ all zeros).
      const { mean, variance } = columnMoments(x, n, p);
      const scale = new Float64Array(p);
      for (let j = 0; j < p; j++) {
        const v = variance[j];
        const bound = n * EPS_M * v + (n * mean[j] * EPS_M) ** 2;
        scale[j] = v <= bound ? 1 : Math.sqrt(v);
      }
      for (let i = 0; i < n; i++) {
        const row = i * p;
        for (let j = 0; j < p; j++) x[row + j] = (x[row + j] - mean[j]) / scale[j];
      }
      return x;
    }
    case 'layer_norm':
      perImageGroupNorm(x, n, p, new Int32Array(p), 1);
      return x;
    case 'group_norm':
    case 'instance_norm': {
      const { channel, channels } = channelIndex(rep, opts);
      const groups = norm === 'instance_norm' ? channels : (opts.groups ?? 2);
      if (!Number.isInteger(groups) || groups < 1 || channels % groups !== 0) {
        throw new Error(`${rep.label}: group_norm needs the ${channels} channels to split into ${groups} equal groups`);
      }
      const per = channels / groups;
      const group = new Int32Array(p);
      for (let j = 0; j < p; j++) group[j] = Math.floor(channel[j] / per);
      perImageGroupNorm(x, n, p, group, groups);
      return x;
    }
    case 'batch_norm': {
      const { channel, channels } = channelIndex(rep, opts);
      const mean = new Float64Array(channels);
      const sq = new Float64Array(channels);
      const count = new Float64Array(channels);
      for (let j = 0; j < p; j++) count[channel[j]] += n;
      for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) mean[channel[j]] += x[i * p + j];
      for (let c = 0; c < channels; c++) mean[c] /= count[c];
      for (let i = 0; i < n; i++)
        for (let j = 0; j < p; j++) {
          const d = x[i * p + j] - mean[channel[j]];
          sq[channel[j]] += d * d;
        }
      for (let c = 0; c < channels; c++) sq[c] = Math.sqrt(sq[c] / count[c] + TENSOR_EPS);
      for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) x[i * p + j] = (x[i * p + j] - mean[channel[j]]) / sq[channel[j]];
      return x;
    }
    default:
      throw new Error(`unknown normalisation "${norm as string}" (use ${NORMALIZATIONS.join(', ')})`);
  }
}
