/**
 * Euclidean and squared Euclidean distances between the rows of a matrix, built so that exactly tied distances stay
 * tied (docs/measures.md#exact-euclidean-distances). Rank comparators (Spearman, Kendall) see every ulp: a distance
 * matrix computed from dot products of centred features carries ~1e-15 relative noise that splits the ties of
 * integer or quantised features (40 distinct values became 101, and Spearman ranked the noise).
 *
 * Two paths, both one Gram matrix on the GEMM engine:
 * - exact: when every value lies on one binary grid (integers, k/256, …) and the grid integers are small enough that
 *   every product and sum is exact in float64 (4·p·B² ≤ 2^53, B the largest |x_ij − x_0j| in grid units), the
 *   features are shifted by their first row and divided by the grid unit — both exact — so the Gram matrix and
 *   ‖x_i‖² + ‖x_j‖² − 2x_iᵀx_j are exact integers. The result is then bit-identical to summing squared differences
 *   (scipy `pdist`), whatever the GEMM's summation order.
 * - rounded: otherwise the features are scaled by a power of two (exact) and centred (the conditioning that keeps
 *   cancellation small); distances carry rounding, as any float computation of non-grid data does. Exactly
 *   duplicated images are still found and given exactly equal distances (and 0 between them).
 */
import type { Matrix } from './dense.js';
import { gram, type GemmOptions } from './gemm.js';

/** The largest grid integer square sum the exact path allows (every partial sum of the Gram stays exact). */
const EXACT_LIMIT = 2 ** 53;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

function trailingZeros32(v: number): number {
  return 31 - Math.clz32(v & -v);
}

/** The exponent e of the lowest set bit of a finite non-zero double: v is an integer multiple of 2^e. */
export function lowestBitExponent(v: number): number {
  f64[0] = v;
  const hi = u32[HI];
  const lo = u32[LO];
  const biased = (hi >>> 20) & 0x7ff;
  const mantHi = (hi & 0xfffff) | (biased === 0 ? 0 : 0x100000);
  const tz = lo !== 0 ? trailingZeros32(lo) : 32 + trailingZeros32(mantHi);
  return (biased === 0 ? -1074 : biased - 1075) + tz;
}

/** 2^e as a double for any e where it is representable (Math.pow is exact for powers of two, but be explicit). */
function pow2(e: number): number {
  // Split so that neither factor over- or underflows on its own.
  const half = Math.trunc(e / 2);
  return 2 ** half * 2 ** (e - half);
}

/** The binary exponent e with 2^(e−1) ≤ m < 2^e for m > 0 (so m / 2^e lies in [0.5, 1)). */
function exponentAbove(m: number): number {
  let e = Math.ceil(Math.log2(m));
  // log2 can be off by one ulp near powers of two: correct it.
  while (m / pow2(e) >= 1) e++;
  while (m / pow2(e - 1) < 0.5 && e > -1074) e--;
  return e;
}

/** FNV-1a's starting value: the hash of a row before any of its values. */
export const ROW_HASH_SEED = 0x811c9dc5;

/**
 * Continue each row's FNV-1a hash over the bit patterns of its next `p` values (−0 folded into +0): rows hashed
 * block by block, in column order, end with the hash of the whole row.
 */
export function updateRowHashes(hashes: Uint32Array, data: ArrayLike<number>, n: number, p: number): void {
  for (let i = 0; i < n; i++) {
    let h = hashes[i];
    for (let j = 0; j < p; j++) {
      const v = data[i * p + j];
      f64[0] = v === 0 ? 0 : v;
      h = Math.imul(h ^ u32[0], 0x01000193);
      h = Math.imul(h ^ u32[1], 0x01000193);
    }
    hashes[i] = h >>> 0;
  }
}

/**
 * Rows that may be equal, as groups (≥ 2 rows, ascending) of equal hash; refine them with splitEqualRows over the
 * values, all at once or block by block.
 */
export function hashGroups(hashes: Uint32Array): number[][] {
  const buckets = new Map<number, number[]>();
  hashes.forEach((h, i) => {
    const b = buckets.get(h);
    if (b) b.push(i);
    else buckets.set(h, [i]);
  });
  return [...buckets.values()].filter((g) => g.length > 1);
}

/** Split each group into rows whose `p` values in `data` (n × p, row-major) are exactly equal (−0 = +0). */
export function splitEqualRows(groups: number[][], data: ArrayLike<number>, p: number): number[][] {
  const out: number[][] = [];
  for (const g of groups) {
    const parts: number[][] = [];
    for (const i of g) {
      const part = parts.find((q) => {
        const r = q[0];
        for (let j = 0; j < p; j++) if (data[r * p + j] !== data[i * p + j]) return false;
        return true;
      });
      if (part) part.push(i);
      else parts.push([i]);
    }
    for (const q of parts) if (q.length > 1) out.push(q);
  }
  return out;
}

/** For each row, the first row of its group of equal rows (itself when it has none). */
export function firstOfGroups(n: number, groups: readonly number[][]): Int32Array {
  const first = Int32Array.from({ length: n }, (_, i) => i);
  for (const g of groups) for (const i of g) first[i] = g[0];
  return first;
}

/**
 * For each row, the index of the first row exactly equal to it (itself when it is the first of its kind). −0 and +0
 * are equal, as they are numerically.
 */
export function duplicateRows(x: Matrix): Int32Array {
  const { rows: n, cols: p, data } = x;
  const hashes = new Uint32Array(n).fill(ROW_HASH_SEED);
  updateRowHashes(hashes, data, n, p);
  return firstOfGroups(n, splitEqualRows(hashGroups(hashes), data, p));
}

export interface DistanceOptions extends GemmOptions {
  /** Names the input in error messages. */
  label?: string;
}

/** Which construction a distance matrix came from (for tests and diagnostics). */
export type DistancePath = 'exact' | 'rounded';

interface ScaledSquares {
  /** Squared distances in units of `unit²`: d²_ij = squares[i·n + j] · unit². */
  squares: Float64Array;
  unit: number;
  path: DistancePath;
}

/** Grid unit and largest grid integer of the exact path, or undefined when the data is not on a usable grid. */
function exactGrid(x: Matrix): { unit: number } | undefined {
  const { rows: n, cols: p, data } = x;
  let lowest = Infinity;
  for (let k = 0; k < data.length; k++) {
    const v = data[k];
    if (v !== 0) lowest = Math.min(lowest, lowestBitExponent(v));
  }
  let span = 0;
  for (let i = 1; i < n; i++) for (let j = 0; j < p; j++) span = Math.max(span, Math.abs(data[i * p + j] - data[j]));
  const unit = exactUnit(lowest, span, p);
  return unit === undefined ? undefined : { unit };
}

/**
 * The exact path's grid unit 2^lowest, or undefined when it does not apply: `lowest` is the lowest set bit's exponent
 * over the (nonzero) values, `span` the largest |x_ij − x_0j| over p features. span is exact when it passes this
 * bound: both values are grid multiples and the difference is a small grid integer.
 */
export function exactUnit(lowest: number, span: number, p: number): number | undefined {
  if (lowest === Infinity) return 1; // all zeros
  const unit = pow2(lowest);
  const b = span / unit;
  if (!Number.isFinite(b) || 4 * p * b * b > EXACT_LIMIT) return undefined;
  return unit;
}

async function scaledSquares(x: Matrix, opts: DistanceOptions): Promise<ScaledSquares> {
  const { rows: n, cols: p, data } = x;
  const label = opts.label ?? 'distances';
  for (let k = 0; k < data.length; k++) {
    if (!Number.isFinite(data[k])) {
      const i = Math.floor(k / p);
      throw new Error(`${label}: feature ${k - i * p} of image ${i} is ${data[k]}; distances need finite features`);
    }
  }
  const grid = exactGrid(x);
  const y = new Float64Array(n * p);
  let unit: number;
  if (grid) {
    unit = grid.unit;
    // Division by a power of two is exact (its reciprocal may not be representable at the extremes).
    for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) y[i * p + j] = (data[i * p + j] - data[j]) / unit;
  } else {
    // A power of two keeps the scaling exact and the Gram matrix far from overflow.
    let m = 0;
    for (let k = 0; k < data.length; k++) m = Math.max(m, Math.abs(data[k]));
    unit = pow2(exponentAbove(m));
    for (let j = 0; j < p; j++) {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += data[i * p + j] / unit;
      mean /= n;
      for (let i = 0; i < n; i++) y[i * p + j] = data[i * p + j] / unit - mean;
    }
  }
  // The exact path needs float64 products whatever precision the caller asked for.
  const g = await gram({ rows: n, cols: p, data: y }, { engine: opts.engine, precision: grid ? 'float64' : opts.precision });
  const s = g.data;
  const diag = new Float64Array(n);
  for (let i = 0; i < n; i++) diag[i] = s[i * n + i];
  for (let i = 0; i < n; i++) {
    s[i * n + i] = 0;
    for (let j = i + 1; j < n; j++) {
      const v = Math.max(0, diag[i] + diag[j] - 2 * s[i * n + j]);
      s[i * n + j] = v;
      s[j * n + i] = v;
    }
  }
  if (!grid) tieDuplicates(s, duplicateRows(x));
  return { squares: s, unit, path: grid ? 'exact' : 'rounded' };
}

/** Give duplicated images their first copy's distances exactly, and distance 0 to each other. */
export function tieDuplicates(s: Float64Array, first: Int32Array): void {
  const n = first.length;
  if (first.every((r, i) => r === i)) return;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const a = first[i];
      const b = first[j];
      s[i * n + j] = a === b ? 0 : s[a * n + b];
    }
  }
}

function finish(d: Float64Array, label: string): Float64Array {
  for (let k = 0; k < d.length; k++) {
    if (!Number.isFinite(d[k])) throw new Error(`${label}: a distance between images overflows float64 (features too large)`);
  }
  return d;
}

/** Squared Euclidean distances between rows: n×n, zero diagonal, exactly symmetric, exact ties kept (see above). */
export async function squaredEuclideanDistances(x: Matrix, opts: DistanceOptions = {}): Promise<Matrix & { path: DistancePath }> {
  const { squares, unit, path } = await scaledSquares(x, opts);
  for (let k = 0; k < squares.length; k++) squares[k] = squares[k] * unit * unit;
  return { rows: x.rows, cols: x.rows, data: finish(squares, opts.label ?? 'distances'), path };
}

/** Euclidean distances between rows: n×n, zero diagonal, exactly symmetric, exact ties kept (see above). */
export async function euclideanDistances(x: Matrix, opts: DistanceOptions = {}): Promise<Matrix & { path: DistancePath }> {
  const { squares, unit, path } = await scaledSquares(x, opts);
  // √(s·unit²) = √s·unit exactly (unit is a power of two), so equal squares give equal distances.
  for (let k = 0; k < squares.length; k++) squares[k] = Math.sqrt(squares[k]) * unit;
  return { rows: x.rows, cols: x.rows, data: finish(squares, opts.label ?? 'distances'), path };
}
