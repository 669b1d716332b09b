/**
 * Sorting and ranking of float64 data at RDM scale (an N = 5000 RDM has 12.5 M upper-triangle values).
 *
 * Everything here goes through one stable LSD radix argsort on the IEEE-754 bit pattern: comparator sorts of
 * index arrays cost ~10× more at that size, and a radix sort is stable for free, which the tie rules of the
 * rank correlations (scipy `lexsort`) rely on.
 */

const DIGIT_BITS = 11;
const BUCKETS = 1 << DIGIT_BITS;
const DIGIT_MASK = BUCKETS - 1;
/** Bit offsets of the three digits inside one 32-bit half of the key (11 + 11 + 10 bits). */
const SHIFTS = [0, 11, 22] as const;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
// The key halves are read through a Uint32Array view; which word holds the sign depends on the platform.
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

function nanError(where: string, index: number): Error {
  return new Error(`${where}: value at index ${index} is NaN; ranks of NaN are undefined — remove or impute missing values first`);
}

interface KeyOptions {
  descending?: boolean;
  /** Give every NaN the key 0, below -Infinity's; otherwise NaN throws. */
  nanSmallest?: boolean;
  /** Function name for error messages. */
  where: string;
}

/**
 * Order-preserving unsigned keys: flip every bit of negatives, only the sign bit of positives, so unsigned
 * comparison of (hi, lo) matches numeric order. -0 is folded into +0 so that the two compare as ties, as they do
 * numerically. `descending` complements the key, which reverses the order and keeps the sort stable.
 */
function orderKeys(x: ArrayLike<number>, opts: KeyOptions): { hi: Uint32Array; lo: Uint32Array } {
  const n = x.length;
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  const flipAll = opts.descending ? 0xffffffff : 0;
  for (let i = 0; i < n; i++) {
    const v = x[i];
    let h = 0;
    let l = 0;
    if (v !== v) {
      // NaN keeps key 0: no number maps there (the smallest, -Infinity, has key 0x000FFFFF_FFFFFFFF)
      if (!opts.nanSmallest) throw nanError(opts.where, i);
    } else {
      f64[0] = v === 0 ? 0 : v;
      h = u32[HI];
      l = u32[LO];
      if (h & 0x80000000) {
        h = ~h;
        l = ~l;
      } else {
        h |= 0x80000000;
      }
    }
    hi[i] = (h ^ flipAll) >>> 0;
    lo[i] = (l ^ flipAll) >>> 0;
  }
  return { hi, lo };
}

/**
 * Three stable counting-sort passes over the 32-bit `key`, carrying `idx` and `extra`; passes whose digit is the same for
 * every element are skipped (float32-derived or integer data leave most low-word digits constant).
 * Returns the permuted (key, idx, extra) arrays, any of which may be the scratch buffers.
 */
function radixPasses32(
  key: Uint32Array,
  idx: Uint32Array,
  keyScratch: Uint32Array,
  idxScratch: Uint32Array,
  extra: Uint32Array,
  extraScratch: Uint32Array,
): [Uint32Array, Uint32Array, Uint32Array] {
  const n = key.length;
  const counts = new Uint32Array(BUCKETS * SHIFTS.length);
  for (let i = 0; i < n; i++) {
    const k = key[i];
    counts[k & DIGIT_MASK]++;
    counts[BUCKETS + ((k >>> 11) & DIGIT_MASK)]++;
    counts[2 * BUCKETS + (k >>> 22)]++;
  }
  let srcK = key;
  let srcI = idx;
  let dstK = keyScratch;
  let dstI = idxScratch;
  let srcE = extra;
  let dstE = extraScratch;
  for (let p = 0; p < SHIFTS.length; p++) {
    const shift = SHIFTS[p];
    const base = p * BUCKETS;
    const first = (srcK[0] >>> shift) & DIGIT_MASK;
    if (counts[base + first] === n) continue;
    // exclusive prefix sums → write positions
    let sum = 0;
    for (let b = 0; b < BUCKETS; b++) {
      const c = counts[base + b];
      counts[base + b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const k = srcK[i];
      const pos = counts[base + ((k >>> shift) & DIGIT_MASK)]++;
      dstK[pos] = k;
      dstI[pos] = srcI[i];
      dstE[pos] = srcE[i];
    }
    [srcK, dstK] = [dstK, srcK];
    [srcI, dstI] = [dstI, srcI];
    [srcE, dstE] = [dstE, srcE];
  }
  return [srcK, srcI, srcE];
}

interface SortedKeys {
  /** order[k] = input index of the k-th element in sorted order. */
  order: Uint32Array;
  /** The order keys in sorted order: equal (hi, lo) ⇔ equal values. */
  hi: Uint32Array;
  lo: Uint32Array;
}

function sortKeys(x: ArrayLike<number>, opts: KeyOptions): SortedKeys {
  const n = x.length;
  const { hi, lo } = orderKeys(x, opts);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (n < 2) return { order, hi, lo };
  // LSD: low word first, then the high word stably on top. Both halves travel with the indices so that callers
  // can detect ties by a sequential scan instead of random reads of `x`.
  const s1 = new Uint32Array(n);
  const s2 = new Uint32Array(n);
  const s3 = new Uint32Array(n);
  const [lo1, order1, hi1] = radixPasses32(lo, order, s1, s2, hi, s3);
  const free = [lo, order, hi, s1, s2, s3].filter((b) => b !== lo1 && b !== order1 && b !== hi1);
  const [hi2, order2, lo2] = radixPasses32(hi1, order1, free[0], free[1], lo1, free[2]);
  return { order: order2, hi: hi2, lo: lo2 };
}

/**
 * Stable argsort of float64 values: `out[k]` is the index of the k-th smallest (or largest, with `descending`)
 * value; equal values keep their input order in both directions. -0 and +0 are equal. Throws on NaN.
 * O(n) time, ~24 bytes of scratch per value.
 */
export function argsort(x: ArrayLike<number>, opts: { descending?: boolean } = {}): Uint32Array {
  return sortKeys(x, { descending: opts.descending, where: 'argsort' }).order;
}

/** Stable argsort, largest value first; equal values keep their input order. Throws on NaN. */
export function argsortDescending(x: ArrayLike<number>): Uint32Array {
  return argsort(x, { descending: true });
}

/**
 * Ranks starting at 1, ties given the mean of the positions they occupy (scipy `rankdata(x, 'average')`,
 * docs/measures.md#ranks-and-ties). Throws on NaN: scipy would propagate it, but a NaN rank silently poisons every correlation
 * built on it. `into` (x.length values) receives the ranks instead of a fresh array.
 */
export function rankData(x: ArrayLike<number>, into?: Float64Array): Float64Array {
  if (into && into.length !== x.length) throw new Error(`rankData: the output array holds ${into.length} values, not ${x.length}`);
  const fast = bucketRanks(x, into);
  if (fast) return fast;
  const n = x.length;
  const { order, hi, lo } = sortKeys(x, { where: 'rankData' });
  const ranks = into ?? new Float64Array(n);
  let start = 0;
  while (start < n) {
    const h = hi[start];
    const l = lo[start];
    let end = start + 1;
    while (end < n && hi[end] === h && lo[end] === l) end++;
    // positions start..end-1 (0-based) → 1-based mean
    const r = (start + end + 1) / 2;
    for (let k = start; k < end; k++) ranks[order[k]] = r;
    start = end;
  }
  return ranks;
}

/**
 * Several readings of the same items combined by their ranks: per item, the sum of its average ranks (rankData) under
 * each reading, every reading oriented larger = better, so a larger sum is better. Ranks, not values, so that readings
 * on unrelated scales (a similarity, a log evidence) weigh the same.
 */
export function summedRanks(readings: readonly ArrayLike<number>[]): Float64Array {
  const n = readings[0]?.length ?? 0;
  const sum = new Float64Array(n);
  for (const r of readings) {
    if (r.length !== n) throw new Error(`summedRanks: readings of ${n} and ${r.length} items`);
    rankData(r).forEach((v, i) => (sum[i] += v));
  }
  return sum;
}

/** Most work the bucket ranks may do (Σ bucket size², the insertion sorts) per value before the radix sort takes over. */
const BUCKET_WORK_PER_VALUE = 8;

/**
 * Capacity of bucketRanks' work arrays (~16 MB of address space, touched only as far as used), kept for the
 * process: fresh memory costs a page fault per 4 KiB on first touch, which on a virtual machine can cost more than
 * the ranking itself (the bootstrap ranks thousands of triangles of the same length). Longer data goes to the
 * radix sort.
 */
const BUCKET_CAPACITY = 1 << 20;

/**
 * rankData by value buckets: n buckets over [min, max], each bucket insertion-sorted, ties averaged in one scan —
 * a few light passes instead of the radix sort's six, ~2× faster on RDM triangles (the bootstrap ranks one per
 * model and draw). Bucket ⌊(v − min)·n/(max − min)⌋ is non-decreasing in v (each IEEE operation is monotone),
 * so equal values share a bucket and buckets come in value order: the ranks are exactly rankData's. Returns
 * undefined, leaving it to the radix sort, for short, long, non-finite or strongly clustered data. The bucket of a
 * value is computed twice (count, then scatter) rather than stored: arithmetic is cheaper than another array in cache.
 */
const bucketRanks = bucketRanker(BUCKET_CAPACITY);

/**
 * bucketRanks with its work arrays as constants of the closure, made once: V8 then compiles their addresses and
 * lengths into the loops, ~25 % faster on a 19,900-value triangle than arrays looked up per call (a
 * microbenchmark; a second closure would undo it).
 */
function bucketRanker(capacity: number): (x: ArrayLike<number>, into?: Float64Array) => Float64Array | undefined {
  const start = new Int32Array(capacity + 1);
  const values = new Float64Array(capacity);
  const order = new Int32Array(capacity);
  return (x, into) => {
    const n = x.length;
    if (n < 64 || n > capacity) return undefined;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = x[i];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    // NaN never updates min/max, so a NaN among finite values is caught in the bucket pass below.
    if (!Number.isFinite(min) || !Number.isFinite(max)) return undefined;
    if (min === max) {
      // All equal (a NaN would have been left out of min/max: let the radix path say so).
      for (let i = 0; i < n; i++) if (x[i] !== x[i]) return undefined;
      return (into ?? new Float64Array(n)).fill((n + 1) / 2);
    }
    const scale = n / (max - min);
    if (!Number.isFinite(scale) || scale === 0) return undefined;
    const top = n - 1;
    start.fill(0, 0, n + 1);
    for (let i = 0; i < n; i++) {
      const v = x[i];
      if (v !== v) return undefined;
      // (v − min)·scale lies in [0, n]: truncation is the floor, and n itself joins the last bucket.
      let b = ((v - min) * scale) | 0;
      if (b > top) b = top;
      start[b + 1]++;
    }
    let work = 0;
    for (let b = 1; b <= n; b++) {
      work += start[b] * start[b];
      start[b] += start[b - 1];
    }
    if (work > BUCKET_WORK_PER_VALUE * n) return undefined;
    // Scatter with start[b] as bucket b's cursor: afterwards start[b] is where bucket b ends (bucket b + 1 begins).
    for (let i = 0; i < n; i++) {
      const v = x[i];
      let b = ((v - min) * scale) | 0;
      if (b > top) b = top;
      const at = start[b]++;
      values[at] = v;
      order[at] = i;
    }
    // Insertion sort inside each bucket (stable; buckets hold a few values).
    let lo = 0;
    for (let b = 0; b < n; b++) {
      const hi = start[b];
      for (let k = lo + 1; k < hi; k++) {
        const v = values[k];
        const o = order[k];
        let j = k - 1;
        while (j >= lo && values[j] > v) {
          values[j + 1] = values[j];
          order[j + 1] = order[j];
          j--;
        }
        values[j + 1] = v;
        order[j + 1] = o;
      }
      lo = hi;
    }
    const ranks = into ?? new Float64Array(n);
    let k0 = 0;
    while (k0 < n) {
      const v = values[k0];
      let k1 = k0 + 1;
      // === treats −0 and +0 as equal, as rankData does.
      while (k1 < n && values[k1] === v) k1++;
      const r = (k0 + k1 + 1) / 2;
      for (let k = k0; k < k1; k++) ranks[order[k]] = r;
      k0 = k1;
    }
    return ranks;
  };
}

export interface DenseRanks {
  /** 0-based dense rank per element: equal values share a rank, ranks are consecutive. */
  ranks: Int32Array;
  /** Number of distinct values (max rank + 1). */
  distinct: number;
}

/**
 * Dense ranks (scipy `rankdata(x, 'dense') - 1`). With `nanSmallest`, every NaN gets rank 0 and ranks below all
 * numbers, -Infinity included (scipy's treatment of NaN in `weightedtau`); otherwise NaN throws.
 */
export function denseRanks(x: ArrayLike<number>, opts: { nanSmallest?: boolean } = {}): DenseRanks {
  const { order, hi, lo } = sortKeys(x, { nanSmallest: opts.nanSmallest ?? false, where: 'denseRanks' });
  const ranks = new Int32Array(x.length);
  let r = -1;
  for (let k = 0; k < order.length; k++) {
    if (k === 0 || hi[k] !== hi[k - 1] || lo[k] !== lo[k - 1]) r++;
    ranks[order[k]] = r;
  }
  return { ranks, distinct: r + 1 };
}
