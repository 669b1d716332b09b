/**
 * The seeded resampling primitives against the independent Python re-implementation
 * (test/reference/rank_reference.py → test/fixtures/rank/rank_goldens.json) and hand-worked values.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mulberry32, percentile, sampleWithoutReplacement } from '../../src/linalg/resample.js';

interface Goldens {
  generator: { seed: number; first: number[] }[];
  n: number;
  cases: { subsets: number[][]; subset: number; seed: number }[];
}
const goldens = JSON.parse(readFileSync(new URL('../fixtures/rank/rank_goldens.json', import.meta.url), 'utf8')) as Goldens;

describe('mulberry32', () => {
  it('reproduces the Python generator bit for bit (seeds 1993 and 2³²−1)', () => {
    for (const g of goldens.generator) {
      const r = mulberry32(g.seed);
      expect(g.first.map(() => r())).toEqual(g.first);
    }
  });

  it('refuses seeds that are not uint32', () => {
    expect(() => mulberry32(-1)).toThrow(/seed must be an integer from 0 to 4294967295/);
    expect(() => mulberry32(2 ** 32)).toThrow(/seed/);
    expect(() => mulberry32(1.5)).toThrow(/seed/);
  });
});

describe('sampleWithoutReplacement', () => {
  it('draws the same subsets as the Python sampler for the same seed', () => {
    for (const c of goldens.cases) {
      const r = mulberry32(c.seed);
      const got = c.subsets.map(() => Array.from(sampleWithoutReplacement(goldens.n, c.subset, r)));
      expect(got).toEqual(c.subsets);
    }
  });

  it('returns k distinct sorted indices and uses exactly k generator values', () => {
    let calls = 0;
    const base = mulberry32(5);
    const counted = () => {
      calls++;
      return base();
    };
    const s = sampleWithoutReplacement(50, 17, counted);
    expect(calls).toBe(17);
    expect(new Set(s).size).toBe(17);
    expect(Array.from(s)).toEqual(Array.from(s).sort((a, b) => a - b));
    expect(Math.max(...s)).toBeLessThan(50);
    expect(Array.from(sampleWithoutReplacement(6, 6, mulberry32(1)))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(() => sampleWithoutReplacement(5, 6, mulberry32(1))).toThrow(/cannot draw 6 distinct items from 5/);
  });

  it('is uniform: every index appears in k/n of the draws', () => {
    // 20 000 draws of 3 from 10: each frequency is 0.3 with standard error 0.0032; a biased sampler (e.g. one
    // that never swaps position i with itself) is off by far more than the 0.015 allowed.
    const r = mulberry32(42);
    const counts = new Array<number>(10).fill(0);
    for (let d = 0; d < 20000; d++) for (const i of sampleWithoutReplacement(10, 3, r)) counts[i]++;
    for (const c of counts) expect(Math.abs(c / 20000 - 0.3)).toBeLessThan(0.015);
  });
});

describe('percentile (numpy linear rule)', () => {
  it('matches hand-worked values', () => {
    // h = (N − 1)·q/100: [1,2,3,4] at 25 → h = 0.75 → 1 + 0.75·(2 − 1); at 97.5 → h = 2.925 → 3.925.
    expect(percentile([4, 1, 3, 2], 25)).toBeCloseTo(1.75, 15);
    expect(percentile([4, 1, 3, 2], 97.5)).toBeCloseTo(3.925, 15);
    expect(percentile([3, 1, 2], 50)).toBe(2);
    expect(percentile([5], 2.5)).toBe(5);
    expect(percentile([-1, 7], 0)).toBe(-1);
    expect(percentile([-1, 7], 100)).toBe(7);
  });

  it('refuses empty input, NaN and q outside [0, 100]', () => {
    expect(() => percentile([], 50)).toThrow(/no values/);
    expect(() => percentile([1, Number.NaN], 50)).toThrow(/NaN/);
    expect(() => percentile([1, 2], 101)).toThrow(/q must be in \[0, 100\]/);
  });
});
