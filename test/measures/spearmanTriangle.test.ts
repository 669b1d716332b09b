import { describe, expect, it } from 'vitest';
import { rankData } from '../../src/linalg/ranks.js';
import { mulberry32 } from '../../src/linalg/resample.js';
import { prepareSpearmanTriangle } from '../../src/measures/compare.js';

/** The definition: ranks from 1 (ties averaged), minus their mean, divided by their norm — summed in index order. */
function reference(t: Float64Array): Float64Array {
  const r = rankData(t);
  let mean = 0;
  for (let i = 0; i < r.length; i++) mean += r[i];
  mean /= r.length;
  let ss = 0;
  for (let i = 0; i < r.length; i++) {
    r[i] -= mean;
    ss += r[i] * r[i];
  }
  for (let i = 0; i < r.length; i++) r[i] /= Math.sqrt(ss);
  return r;
}

describe('prepareSpearmanTriangle (ranks centred and scaled in two passes)', () => {
  for (const seed of [1, 2, 3]) {
    it(`equals ranks − mean, over their norm, to the last bit and sums to 0 with unit norm (seed ${seed}, with ties)`, () => {
      const u = mulberry32(seed);
      const m = 19_900;
      // Values on a coarse grid, so that many are tied.
      const t = Float64Array.from({ length: m }, () => Math.round(u() * 3000) / 3000);
      const got = (prepareSpearmanTriangle(Float64Array.from(t), 'x') as { vector: Float64Array }).vector;
      const want = reference(t);
      let sum = 0;
      let ss = 0;
      for (let i = 0; i < m; i++) {
        // 1/√ss times v, against v / √ss: the same up to one rounding.
        expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(2 ** -52 * Math.abs(want[i]) * 2);
        sum += got[i];
        ss += got[i] * got[i];
      }
      expect(Math.abs(sum)).toBeLessThan(1e-9);
      expect(ss).toBeCloseTo(1, 12);
    });
  }

  it('refuses a constant triangle', () => {
    expect(() => prepareSpearmanTriangle(new Float64Array(10).fill(0.5), 'm')).toThrow(/m: similarity undefined: all its pairwise values are equal/);
  });
});
