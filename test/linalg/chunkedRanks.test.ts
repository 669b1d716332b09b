import { describe, expect, it } from 'vitest';
import { rankDataChunked } from '../../src/linalg/chunkedRanks.js';
import { rankData } from '../../src/linalg/ranks.js';
import { gaussian, rng } from '../helpers/random.js';

function data(kind: string, n: number, seed: number): Float64Array {
  const g = gaussian(seed);
  const u = rng(seed);
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (kind === 'gaussian') x[i] = g();
    else if (kind === 'ties')
      x[i] = Math.floor(u() * 17) - 8; // 17 values, −0 and +0 among them below
    else if (kind === 'mostly zero') x[i] = u() < 0.7 ? 0 : g();
    else if (kind === 'sorted') x[i] = i;
    else x[i] = n - i;
  }
  if (kind === 'ties') {
    for (let i = 0; i < n; i += 5) if (x[i] === 0) x[i] = -0;
    x[3] = Infinity;
    x[7] = -Infinity;
  }
  return x;
}

describe('rankDataChunked', () => {
  it.each(['gaussian', 'ties', 'mostly zero', 'sorted', 'reversed'])('gives rankData’s ranks bit for bit (%s, 3 seeds, several chunk sizes)', (kind) => {
    for (const seed of [1, 2, 3]) {
      const x = data(kind, 1000, seed);
      const want = rankData(x);
      for (const chunk of [2, 7, 64, 999, 1000, 5000]) {
        expect(rankDataChunked(x, undefined, { chunk })).toEqual(want);
        // In place: the input array receives the ranks.
        const y = Float64Array.from(x);
        expect(rankDataChunked(y, y, { chunk })).toBe(y);
        expect(y).toEqual(want);
      }
    }
  });

  it('differs from the ranks of other data (the comparison can fail)', () => {
    const x = data('gaussian', 500, 1);
    const ranks = rankDataChunked(x, undefined, { chunk: 10 });
    x[0] = x[1] + 1e-9;
    expect(ranks).not.toEqual(rankData(x));
  });

  it('refuses NaN, naming its index, as rankData does', () => {
    const x = data('gaussian', 300, 2);
    x[123] = Number.NaN;
    expect(() => rankDataChunked(x, undefined, { chunk: 10 })).toThrow('rankData: value at index 123 is NaN');
    expect(() => rankDataChunked(x, undefined, { chunk: 1000 })).toThrow('rankData: value at index 123 is NaN');
    expect(() => rankDataChunked(x, new Float64Array(3))).toThrow('rankData: the output array holds 3 values, not 300');
  });
});
