/**
 * Per-tap reductions of activation tensors, applied image by image as batches come out of a model, so that wide
 * layers never have to be stored at full size:
 *   none     the tensor as is (flattened in C order; the stored shape keeps its axes)
 *   gap      global average pool over the spatial axes → one value per channel
 *   pool:k   adaptive average pool of every spatial axis to k bins (PyTorch AdaptiveAvgPool semantics: bin i of
 *            an axis of length S covers [⌊iS/k⌋, ⌈(i+1)S/k⌉)), keeping the channel axis where it was
 *   proj:d   very sparse random projection to d dimensions (Achlioptas 2003; Li, Hastie & Church 2006), seeded
 *
 * Averages accumulate in float64. Box averages are separable, so pooling runs axis by axis.
 */
import { mulberry32 } from '../linalg/resample.js';
import type { FeatureLayout, Reduction } from './types.js';

export function parseReduction(text: string): Reduction {
  const s = text.trim().toLowerCase();
  if (s === 'none') return { kind: 'none' };
  if (s === 'gap') return { kind: 'gap' };
  const pool = /^pool:(\d+)$/.exec(s);
  if (pool) {
    const k = Number(pool[1]);
    if (k < 1) throw new Error(`reduction "${text}": pool size must be at least 1`);
    return { kind: 'pool', k };
  }
  const proj = /^proj:(\d+)(?::(\d+))?$/.exec(s);
  if (proj) {
    const d = Number(proj[1]);
    const seed = proj[2] === undefined ? 0 : Number(proj[2]);
    if (d < 1) throw new Error(`reduction "${text}": projection size must be at least 1`);
    if (seed > 0xffffffff) throw new Error(`reduction "${text}": seed must be below 2^32`);
    return { kind: 'proj', d, seed };
  }
  throw new Error(`unknown reduction "${text}"; use none, gap, pool:K (e.g. pool:4) or proj:D[:SEED] (e.g. proj:2048)`);
}

export function formatReduction(r: Reduction): string {
  switch (r.kind) {
    case 'none':
    case 'gap':
      return r.kind;
    case 'pool':
      return `pool:${r.k}`;
    case 'proj':
      return r.seed === 0 ? `proj:${r.d}` : `proj:${r.d}:${r.seed}`;
  }
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Shape of one image's reduced tensor. `shape` is the per-image shape (no batch axis). */
export function reducedShape(shape: readonly number[], layout: FeatureLayout, r: Reduction, what = 'tap'): number[] {
  if (r.kind === 'none') return [...shape];
  if (r.kind === 'proj') return [r.d];
  if (shape.length < 2) {
    throw new Error(
      `${what}: ${r.kind === 'gap' ? 'gap' : `pool:${r.k}`} needs a feature map with spatial axes, but the tensor has shape [${shape.join(', ')}] per image; use --reduce none or proj:D`,
    );
  }
  const channels = layout === 'channels-last' ? shape[shape.length - 1] : shape[0];
  const spatial = shape.length - 1;
  if (r.kind === 'gap') return [channels];
  const bins = new Array<number>(spatial).fill(r.k);
  return layout === 'channels-last' ? [...bins, channels] : [channels, ...bins];
}

/** Average-pool axis `axis` of a C-order tensor to k bins. */
function poolAxis(x: Float64Array, shape: number[], axis: number, k: number): { x: Float64Array; shape: number[] } {
  const outer = product(shape.slice(0, axis));
  const len = shape[axis];
  const inner = product(shape.slice(axis + 1));
  const out = new Float64Array(outer * k * inner);
  for (let o = 0; o < outer; o++) {
    for (let b = 0; b < k; b++) {
      const start = Math.floor((b * len) / k);
      const end = Math.ceil(((b + 1) * len) / k);
      const dst = (o * k + b) * inner;
      for (let s = start; s < end; s++) {
        const src = (o * len + s) * inner;
        for (let i = 0; i < inner; i++) out[dst + i] += x[src + i];
      }
      const inv = 1 / (end - start);
      for (let i = 0; i < inner; i++) out[dst + i] *= inv;
    }
  }
  const next = [...shape];
  next[axis] = k;
  return { x: out, shape: next };
}

/**
 * The very sparse random projection R (p × d): each entry independently is +√(s/d) or −√(s/d) with probability
 * 1/(2s) each and 0 otherwise, s = max(3, √p), so E‖xR‖² = ‖x‖². Exactly reproducible from (p, d, seed): the
 * nonzero positions are visited in row-major order by geometric skips, gap = ⌊ln(1 − u)/ln(1 − 1/s)⌋ with u the next
 * mulberry32(seed) value, and each sign is + when the following value is < 0.5.
 */
export class SparseProjection {
  readonly scale: number;
  private rowStart: Uint32Array;
  private cols: Uint32Array;
  private signs: Int8Array;

  constructor(
    readonly p: number,
    readonly d: number,
    readonly seed: number,
  ) {
    const s = Math.max(3, Math.sqrt(p));
    this.scale = Math.sqrt(s / d);
    const random = mulberry32(seed);
    const q = 1 / s;
    const logq = Math.log(1 - q);
    const total = p * d;
    const cols: number[] = [];
    const signs: number[] = [];
    this.rowStart = new Uint32Array(p + 1);
    let t = -1;
    let row = 0;
    for (;;) {
      t += 1 + Math.floor(Math.log(1 - random()) / logq);
      if (t >= total) break;
      const j = Math.floor(t / d);
      while (row < j) this.rowStart[++row] = cols.length;
      cols.push(t - j * d);
      signs.push(random() < 0.5 ? 1 : -1);
    }
    while (row < p) this.rowStart[++row] = cols.length;
    this.cols = Uint32Array.from(cols);
    this.signs = Int8Array.from(signs);
  }

  get nonzeros(): number {
    return this.cols.length;
  }

  /** y = x R for one row x (length p), written into out[offset … offset + d). */
  applyInto(x: ArrayLike<number>, xOffset: number, out: Float32Array, offset: number): void {
    const acc = new Float64Array(this.d);
    for (let j = 0; j < this.p; j++) {
      const v = x[xOffset + j];
      if (v === 0) continue;
      for (let e = this.rowStart[j]; e < this.rowStart[j + 1]; e++) acc[this.cols[e]] += this.signs[e] * v;
    }
    for (let k = 0; k < this.d; k++) out[offset + k] = acc[k] * this.scale;
  }
}

/** Reduces batches of one tap; keeps the projection matrix between batches. */
export class Reducer {
  private projection?: SparseProjection;

  constructor(
    readonly reduction: Reduction,
    readonly layout: FeatureLayout,
    readonly what = 'tap',
  ) {}

  /**
   * Reduce a batch (first axis = images) to rows: returns n × q values and the per-image output shape.
   */
  reduce(data: Float32Array, shape: readonly number[]): { rows: Float32Array; shape: number[] } {
    const n = shape[0];
    const per = shape.slice(1);
    const p = product(per);
    const outShape = reducedShape(per, this.layout, this.reduction, this.what);
    const q = product(outShape);
    const r = this.reduction;
    if (r.kind === 'none') return { rows: data.length === n * p ? data : data.slice(0, n * p), shape: outShape };
    const rows = new Float32Array(n * q);
    if (r.kind === 'proj') {
      if (!this.projection || this.projection.p !== p) this.projection = new SparseProjection(p, r.d, r.seed);
      for (let i = 0; i < n; i++) this.projection.applyInto(data, i * p, rows, i * q);
      return { rows, shape: outShape };
    }
    const k = r.kind === 'gap' ? 1 : r.k;
    const spatialAxes = this.layout === 'channels-last' ? per.slice(0, -1).map((_, i) => i) : per.slice(1).map((_, i) => i + 1);
    for (let i = 0; i < n; i++) {
      let t: { x: Float64Array; shape: number[] } = { x: Float64Array.from(data.subarray(i * p, (i + 1) * p)), shape: [...per] };
      for (const axis of spatialAxes) t = poolAxis(t.x, t.shape, axis, k);
      for (let j = 0; j < q; j++) rows[i * q + j] = t.x[j];
    }
    return { rows, shape: outShape };
  }
}
