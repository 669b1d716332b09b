import { describe, expect, it } from 'vitest';
import { predictViaTransfers } from '../../src/taskonomy/viaTransfers.js';

// Known tasks a, b, c. Column a ranks b over c; column b ranks c over a; column c ranks a over b.
const affinities = { b__a: 0.2, c__a: 0.1, a__b: 0.5, c__b: 0.9, a__c: 0.3, b__c: 0.05 };
const candidates = ['a', 'b', 'c'];

describe('predictViaTransfers', () => {
  it('hand-worked: weighted mean of each candidate’s scaled rank on the other known tasks', () => {
    // a: only b counts (w 3, a last there) → 0. b: a counts (w 1, b first) → 1; c has weight 0.
    // c: a (w 1, c last: 0) and b (w 3, c first: 1) → 3/4.
    expect(predictViaTransfers({ candidates, weights: { a: 1, b: 3, c: 0 }, affinities })).toEqual({ a: 0, b: 1, c: 0.75 });
    // Equal weights: the mean rank over the other known tasks (a: 0 on b, 1 on c).
    expect(predictViaTransfers({ candidates, weights: { a: 1, b: 1, c: 1 }, affinities })).toEqual({ a: 0.5, b: 0.5, c: 0.5 });
    // With a → a measured, column a ranks a too (first): a gets 1 from a and 0 from b; b is ½ on a; c 0 on a, 1 on b.
    expect(predictViaTransfers({ candidates, weights: { a: 1, b: 3 }, affinities: { ...affinities, a__a: 1 } })).toEqual({ a: 0.25, b: 0.5, c: 0.75 });
  });

  it('is unchanged by scaling the weights and by any increasing map of one known task’s affinities', () => {
    const base = predictViaTransfers({ candidates, weights: { a: 0.2, b: 0.7, c: 0.4 }, affinities });
    const scaled = predictViaTransfers({ candidates, weights: { a: 2, b: 7, c: 4 }, affinities });
    const squashed = { ...affinities, b__a: Math.log(0.2), c__a: Math.log(0.1), a__c: 30, b__c: 0.5 };
    const mapped = predictViaTransfers({ candidates, weights: { a: 0.2, b: 0.7, c: 0.4 }, affinities: squashed });
    for (const s of candidates) {
      expect(scaled[s]).toBeCloseTo(base[s]!, 14);
      expect(mapped[s]).toBeCloseTo(base[s]!, 14);
    }
  });

  it('averages tied ranks, ignores non-positive weights, and gives null where nothing is left to weigh', () => {
    const tied = { ...affinities, b__a: 0.1 };
    // On a, b and c tie at ½; c is weighted by a alone when b's weight is negative.
    expect(predictViaTransfers({ candidates, weights: { a: 1, b: -2, c: 0 }, affinities: tied })).toEqual({ a: null, b: 0.5, c: 0.5 });
    // Known tasks need not be candidates: d ranks a, b, c.
    const withD = { ...affinities, a__d: 3, b__d: 1, c__d: 2 };
    expect(predictViaTransfers({ candidates, weights: { d: 1 }, affinities: withD })).toEqual({ a: 1, b: 0, c: 0.5 });
  });

  it('gives mathematically equal predictions exactly equal values (a tie, not an order decided by rounding)', () => {
    // 11 candidates ranked by two known tasks u and v (equal weights). x is 2nd and 8th from the bottom, y 4th and
    // 6th: both have mean scaled rank (1/10 + 7/10)/2 = (3/10 + 5/10)/2 = 0.4, but in floating point
    // 0.1 + 0.7 = 0.7999999999999999 while 0.3 + 0.5 = 0.8, so dividing term by term would order x below y.
    const names = ['x', 'y', ...Array.from({ length: 9 }, (_, i) => `o${i}`)];
    const placeU = { x: 1, y: 3 } as Record<string, number>;
    const placeV = { x: 7, y: 5 } as Record<string, number>;
    const others = (skip: number[]) => [...Array(11).keys()].filter((k) => !skip.includes(k));
    const aff: Record<string, number> = {};
    const fill = (task: string, place: Record<string, number>) => {
      const free = others(Object.values(place));
      names.forEach((s) => (aff[`${s}__${task}`] = s in place ? place[s] : free.shift()!));
    };
    fill('u', placeU);
    fill('v', placeV);
    const p = predictViaTransfers({ candidates: names, weights: { u: 1, v: 1 }, affinities: aff });
    expect(p.x).toBe(0.4);
    expect(p.y).toBe(p.x);
  });

  it('keeps the k known tasks most like the target (ties at the k-th weight kept); Infinity keeps all', () => {
    // Four known tasks d1…d4 rank a, b, c; d4 has the smallest weight and the opposite ranking.
    const aff = {
      ...affinities,
      a__d1: 3,
      b__d1: 2,
      c__d1: 1,
      a__d2: 3,
      b__d2: 1,
      c__d2: 2,
      a__d3: 2,
      b__d3: 3,
      c__d3: 1,
      a__d4: 1,
      b__d4: 2,
      c__d4: 3,
    };
    const weights = { d1: 0.9, d2: 0.8, d3: 0.7, d4: 0.1 };
    // k = 3: d1, d2, d3 only. a: (0.9·1 + 0.8·1 + 0.7·½)/2.4; b: (0.9·½ + 0 + 0.7·1)/2.4; c: (0 + 0.8·½ + 0)/2.4.
    const top3 = predictViaTransfers({ candidates, weights, affinities: aff });
    expect(top3.a).toBeCloseTo(2.05 / 2.4, 14);
    expect(top3.b).toBeCloseTo(1.15 / 2.4, 14);
    expect(top3.c).toBeCloseTo(0.4 / 2.4, 14);
    // All four: d4 adds 0.1 × (0, ½, 1).
    const all = predictViaTransfers({ candidates, weights, affinities: aff, neighbours: Number.POSITIVE_INFINITY });
    expect(all.c).toBeCloseTo(0.5 / 2.5, 14);
    // A tie at the k-th weight keeps both: k = 1 with d1 and d2 tied is k = 2.
    const tied = { d1: 0.8, d2: 0.8, d3: 0.7, d4: 0.1 };
    expect(predictViaTransfers({ candidates, weights: tied, affinities: aff, neighbours: 1 })).toEqual(
      predictViaTransfers({ candidates, weights: tied, affinities: aff, neighbours: 2 }),
    );
    expect(() => predictViaTransfers({ candidates, weights, affinities: aff, neighbours: 0 })).toThrow('neighbours must be a whole number ≥ 1');
    expect(() => predictViaTransfers({ candidates, weights, affinities: aff, neighbours: 2.5 })).toThrow('neighbours must be a whole number ≥ 1');
  });

  it('refuses a missing or non-finite affinity, a non-finite weight and a repeated candidate, naming them', () => {
    const { c__b: _, ...missing } = affinities;
    expect(() => predictViaTransfers({ candidates, weights: { b: 1 }, affinities: missing })).toThrow('no finite affinity "c__b"');
    expect(() => predictViaTransfers({ candidates, weights: { b: 1 }, affinities: { ...affinities, a__b: Number.NaN } })).toThrow('"a__b"');
    expect(() => predictViaTransfers({ candidates, weights: { b: Number.POSITIVE_INFINITY }, affinities })).toThrow('known task "b"');
    expect(() => predictViaTransfers({ candidates: ['a', 'a'], weights: {}, affinities })).toThrow('listed twice');
  });
});
