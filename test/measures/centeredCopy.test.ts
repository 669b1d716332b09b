/**
 * centeredCopy (issue 15: one pass fewer over every member's features for RSA) must be the same float64 values,
 * bit for bit, as converting first and centring in place, which is what the 'centering' normalisation computed.
 */
import { describe, expect, it } from 'vitest';
import { centeredCopy, columnMeans, normalizeFeatures, toFloat64 } from '../../src/measures/normalize.js';
import { gaussian } from '../helpers/random.js';
import type { Representation } from '../../src/features/types.js';

function convertThenCentre(x: Float32Array | Float64Array, n: number, p: number): Float64Array {
  const y = new Float64Array(x);
  const mean = columnMeans(y, n, p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) y[i * p + j] -= mean[j];
  return y;
}

describe('centeredCopy', () => {
  for (const seed of [1, 2, 3]) {
    it(`equals conversion followed by in-place centring, bit for bit (float32 and float64, seed ${seed})`, () => {
      const g = gaussian(seed);
      const n = 17;
      const p = 29;
      // Large offsets make the rounding of the mean visible, so a different order of operations would show.
      const x64 = Float64Array.from({ length: n * p }, (_, k) => 1e3 * (k % 7) + g() * 1e-3);
      const x32 = Float32Array.from(x64);
      for (const x of [x32, x64]) {
        const got = centeredCopy(x, n, p);
        expect(got).toBeInstanceOf(Float64Array);
        expect(Array.from(got)).toEqual(Array.from(convertThenCentre(x, n, p)));
      }
      const rep: Representation = { label: 'r', n, p, shape: [p], data: x32, source: 'r' };
      expect(Array.from(normalizeFeatures(rep, 'centering'))).toEqual(Array.from(convertThenCentre(x32, n, p)));
      // Into a reused array: the same values, in that array; any other normalisation too.
      const into = new Float64Array(n * p).fill(7);
      expect(normalizeFeatures(rep, 'centering', {}, into)).toBe(into);
      expect(Array.from(into)).toEqual(Array.from(convertThenCentre(x32, n, p)));
      expect(Array.from(normalizeFeatures(rep, 'znorm', {}, into))).toEqual(Array.from(normalizeFeatures(rep, 'znorm')));
      expect(() => normalizeFeatures(rep, 'none', {}, new Float64Array(3))).toThrow(/holds 3 values, not 17×29/);
      // The input is left as it was.
      expect(Array.from(x32)).toEqual(Array.from(Float32Array.from(x64)));
      expect(toFloat64(rep)).not.toBe(x32);
    });
  }
});
