/**
 * Seeded resampling: the generator, the subset sampler and the percentile rule behind every bootstrap interval
 * taskmap reports. All three are specified exactly (not "some PRNG") so that a result can be reproduced from its
 * seed in another language; test/reference/rank_reference.py re-implements them in Python.
 */

/**
 * mulberry32 (Tommy Ettinger's 32-bit generator): state `a` is a uint32 set to the seed; each call adds
 * 0x6D2B79F5 to `a` (mod 2³²) and returns the output mix of the new state divided by 2³², a float in [0, 1)
 * with 32 random bits. Small, fast, passes gjrand/PractRand at the scale of a few thousand draws, and trivial to
 * port, which matters more here than period (2³²) or cryptographic quality.
 */
export function mulberry32(seed: number): () => number {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new Error(`seed must be an integer from 0 to 4294967295, got ${seed}`);
  }
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `k` distinct indices from 0…n−1, uniformly, sorted ascending. A partial Fisher–Yates shuffle of a fresh
 * identity permutation: for i = 0…k−1, j = i + ⌊u·(n − i)⌋ with u the next generator value, swap positions i
 * and j; the first k positions are the sample. Uses exactly k generator values. (IEEE-754 multiplication is
 * correctly rounded, so ⌊u·(n − i)⌋ is the same index in any language; for n < 2²¹ the product is even exact.)
 */
export function sampleWithoutReplacement(n: number, k: number, random: () => number): Uint32Array {
  if (!Number.isInteger(n) || !Number.isInteger(k) || k < 0 || k > n) {
    throw new Error(`cannot draw ${k} distinct items from ${n}`);
  }
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (n - i));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  // Ascending order keeps each subset's images in the feature set's order (and memory order).
  return perm.slice(0, k).sort();
}

/**
 * The `q`-th percentile (0 ≤ q ≤ 100) of the values, with numpy's default rule (`method='linear'`, Hyndman–Fan
 * type 7): h = (N − 1)·q/100, interpolate between the order statistics ⌊h⌋ and ⌊h⌋ + 1. Throws on NaN or an
 * empty input.
 */
export function percentile(values: ArrayLike<number>, q: number): number {
  const n = values.length;
  if (n === 0) throw new Error('percentile of no values');
  if (!(q >= 0 && q <= 100)) throw new Error(`percentile: q must be in [0, 100], got ${q}`);
  const sorted = Float64Array.from(values);
  if (sorted.some((v) => Number.isNaN(v))) throw new Error('percentile: NaN among the values');
  sorted.sort();
  const h = ((n - 1) * q) / 100;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * One standard normal draw from two generator values (Box–Muller, cosine branch): √(−2 ln(1 − u₁)) · cos(2π u₂).
 * `1 − u₁` keeps the logarithm finite (u₁ ∈ [0, 1)).
 */
export function normalDraw(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}
