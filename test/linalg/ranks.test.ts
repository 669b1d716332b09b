import { describe, expect, it } from 'vitest';
import { argsort, argsortDescending, denseRanks, rankData, summedRanks } from '../../src/linalg/ranks.js';

/** Deterministic values covering every bit of the float64 key: sign, exponent, full mantissa. */
function lcgValues(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (next() - 0.5) * 10 ** Math.floor(next() * 12 - 6);
  return out;
}

/** Values drawn from a few integers, so nearly every element is tied and most radix digits are constant. */
function tiedIntegers(n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = ((i * i * 7 + i * 13 + 5) % 41) - 20;
  return out;
}

/** rank_i = #{x_j < x_i} + (#{x_j = x_i} + 1) / 2: the definition, O(n²). */
function bruteForceRanks(x: ArrayLike<number>): Float64Array {
  const r = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    let less = 0;
    let equal = 0;
    for (let j = 0; j < x.length; j++) {
      if (x[j] < x[i]) less++;
      else if (x[j] === x[i]) equal++;
    }
    r[i] = less + (equal + 1) / 2;
  }
  return r;
}

/** Reference order: comparator sort with the index as tie-breaker (stable by construction). */
function comparatorArgsort(x: ArrayLike<number>, descending: boolean): number[] {
  const idx = Array.from({ length: x.length }, (_, i) => i);
  return idx.sort((a, b) => (descending ? x[b] - x[a] : x[a] - x[b]) || a - b);
}

describe('rankData', () => {
  it('gives average ranks to ties (hand-worked)', () => {
    expect(Array.from(rankData([10, 20, 10, 30]))).toEqual([1.5, 3, 1.5, 4]);
    expect(Array.from(rankData([5, 5, 5]))).toEqual([2, 2, 2]);
  });

  it('orders negatives, infinities and treats -0 and +0 as a tie (scipy rankdata)', () => {
    // scipy.stats.rankdata([-0.0, 0.0, 1, -1, inf, -inf, 1]) = [3.5, 3.5, 5.5, 2, 7, 1, 5.5]
    expect(Array.from(rankData([-0, 0, 1, -1, Infinity, -Infinity, 1]))).toEqual([3.5, 3.5, 5.5, 2, 7, 1, 5.5]);
  });

  it('handles subnormals and extreme magnitudes in the right order', () => {
    const x = [5e-324, -5e-324, 1.7976931348623157e308, -1.7976931348623157e308, 2.2250738585072014e-308, 0];
    expect(Array.from(rankData(x))).toEqual([4, 2, 6, 1, 5, 3]);
  });

  it('matches the O(n²) definition on full-mantissa data and on heavily tied integers', () => {
    for (const x of [lcgValues(1500, 7), tiedIntegers(1500)]) {
      expect(Array.from(rankData(x))).toEqual(Array.from(bruteForceRanks(x)));
    }
  });

  it('matches scipy rankdata (checksum Σ (i+1)·rank_i) on the formula data of the correlation tests', () => {
    // y_i = ((7i² + 13i + 5) mod 41)/8 + ((11i² + 3i + 1) mod 37)/4; scipy 1.17 checksums.
    const y = (n: number) => Float64Array.from({ length: n }, (_, i) => ((i * i * 11 + 3 * i + 1) % 37) / 4 + ((i * i * 7 + i * 13 + 5) % 41) / 8);
    const checksum = (r: Float64Array) => r.reduce((s, v, i) => s + (i + 1) * v, 0);
    expect(checksum(rankData(y(1000)))).toBe(249597413.0);
    expect(checksum(rankData(y(5000)))).toBe(31246664281.5);
  });

  it('handles empty and single-element input', () => {
    expect(rankData([]).length).toBe(0);
    expect(Array.from(rankData([42]))).toEqual([1]);
  });

  it('rejects NaN, naming the index', () => {
    expect(() => rankData([1, 2, Number.NaN, 4])).toThrow(/index 2 is NaN/);
  });

  it('spread-out data (the bucket path: RDM-like values, some exact ties, ±0, clusters) matches the O(n²) definition', () => {
    let s = 12345;
    const u = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const rdmLike = Float64Array.from({ length: 3000 }, () => 1 - (u() * 0.4 - 0.1));
    const withTies = Float64Array.from(rdmLike, (v, i) => (i % 17 === 0 ? rdmLike[i - (i % 34)] : v));
    const signedZeros = Float64Array.from({ length: 200 }, (_, i) => (i % 50 === 0 ? (i % 100 === 0 ? -0 : 0) : u() - 0.5));
    // Most values packed into a tiny interval next to a far outlier: the buckets overflow and the radix sort takes over.
    const clustered = Float64Array.from({ length: 500 }, (_, i) => (i === 0 ? 1e6 : 1 + u() * 1e-9));
    const justAbove = Float64Array.from({ length: 65 }, () => u());
    for (const x of [rdmLike, withTies, signedZeros, clustered, justAbove]) {
      expect(Array.from(rankData(x))).toEqual(Array.from(bruteForceRanks(x)));
    }
    const nan = Float64Array.from(rdmLike);
    nan[1234] = Number.NaN;
    expect(() => rankData(nan)).toThrow(/index 1234 is NaN/);
    const inf = Float64Array.from(rdmLike);
    inf[7] = Infinity;
    expect(rankData(inf)[7]).toBe(3000);
  });

  it('writes into a given array when asked (both paths), and refuses one of the wrong length', () => {
    let s = 99;
    const u = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    for (const x of [Float64Array.from({ length: 500 }, u), tiedIntegers(500)]) {
      const into = new Float64Array(500).fill(-1);
      expect(rankData(x, into)).toBe(into);
      expect(Array.from(into)).toEqual(Array.from(bruteForceRanks(x)));
    }
    expect(() => rankData([1, 2, 3], new Float64Array(2))).toThrow(/holds 2 values, not 3/);
  });
});

describe('argsort', () => {
  it('is stable in both directions on tied data (matches an index-tie-broken comparator sort)', () => {
    const x = tiedIntegers(3000);
    expect(Array.from(argsort(x))).toEqual(comparatorArgsort(x, false));
    expect(Array.from(argsortDescending(x))).toEqual(comparatorArgsort(x, true));
  });

  it('sorts full-mantissa data of mixed sign and magnitude', () => {
    const x = lcgValues(20_000, 99);
    expect(Array.from(argsort(x))).toEqual(comparatorArgsort(x, false));
    expect(Array.from(argsort(x, { descending: true }))).toEqual(comparatorArgsort(x, true));
  });

  it('keeps -0 and +0 in input order (they are equal)', () => {
    expect(Array.from(argsort([0, -0, 0, -1]))).toEqual([3, 0, 1, 2]);
    expect(Array.from(argsortDescending([-0, 0, 1]))).toEqual([2, 0, 1]);
  });

  it('rejects NaN', () => {
    expect(() => argsort([Number.NaN])).toThrow(/NaN/);
  });
});

describe('denseRanks', () => {
  it('gives consecutive 0-based ranks to distinct values', () => {
    const r = denseRanks([3, 1, 3, 2, -0, 0]);
    expect(Array.from(r.ranks)).toEqual([3, 1, 3, 2, 0, 0]);
    expect(r.distinct).toBe(4);
  });

  it('puts NaN below everything (-Infinity included) with nanSmallest, and throws without it', () => {
    const r = denseRanks([Number.NaN, -Infinity, 2, Number.NaN, 1], { nanSmallest: true });
    expect(Array.from(r.ranks)).toEqual([0, 1, 3, 0, 2]);
    expect(r.distinct).toBe(4);
    expect(() => denseRanks([1, Number.NaN])).toThrow(/index 1 is NaN/);
  });
});

describe('summedRanks', () => {
  it('adds each reading’s average ranks (by hand), whatever the readings’ scales', () => {
    // Ranks: [1, 2.5, 2.5, 4] and [3, 1, 4, 2] → sums [4, 3.5, 6.5, 6].
    expect([
      ...summedRanks([
        [0.1, 0.5, 0.5, 0.9],
        [-1e6, -3e9, 7, -2e7],
      ]),
    ]).toEqual([4, 3.5, 6.5, 6]);
    // One reading is its ranks; a monotone transform of a reading changes nothing.
    expect([...summedRanks([[3, 1, 2]])]).toEqual([3, 1, 2]);
    expect([...summedRanks([[3, 1, 2].map(Math.exp), [0, 0, 1]])]).toEqual([
      ...summedRanks([
        [3, 1, 2],
        [5, 5, 9],
      ]),
    ]);
    expect(() =>
      summedRanks([
        [1, 2],
        [1, 2, 3],
      ]),
    ).toThrow(/readings of 2 and 3 items/);
    expect(() => summedRanks([[1, Number.NaN]])).toThrow(/NaN/);
  });
});
