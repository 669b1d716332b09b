/**
 * The RBF bandwidth's median by selection (kernels.ts) against the definition it replaced: sort all n² squared
 * distances and take the middle (numpy `median`, the CKA authors' `np.median(sq_distances)`). The kernel must be
 * bit-identical, on both the full-matrix and the one-triangle path, including ties, duplicates and odd/even n.
 */
import { describe, expect, it } from 'vitest';
import { gram, jsEngine } from '../../src/linalg/gemm.js';
import { kernelMatrix, median, rbfFromGram } from '../../src/measures/kernels.js';
import { gaussian, rng } from '../helpers/random.js';

function sortedMedian(v: ArrayLike<number>): number {
  const s = Float64Array.from(v).sort();
  const m = s.length;
  return m % 2 ? s[(m - 1) / 2] : (s[m / 2 - 1] + s[m / 2]) / 2;
}

/** The kernel as defined: squared distances from the Gram matrix, their sorted median, exp(−d²/(2t²m)). */
function referenceRbf(g: Float64Array, n: number, t: number): Float64Array | undefined {
  const s = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) s[i * n + j] = g[i * n + i] + g[j * n + j] - 2 * g[i * n + j];
  const m = sortedMedian(s);
  if (!(m > 0)) return undefined;
  const scale = 1 / (2 * t * t * m);
  return s.map((x) => Math.exp(-x * scale));
}

async function gramOf(x: Float64Array, n: number, p: number): Promise<Float64Array> {
  return (await gram({ rows: n, cols: p, data: x }, { engine: jsEngine })).data;
}

type Maker = (n: number, p: number, seed: number) => Float64Array;
const makers: [string, Maker][] = [
  ['gaussian', (n, p, seed) => new Float64Array(n * p).map(gaussian(seed))],
  // Integer features: many exactly tied distances, so the middle positions sit inside runs of equal values.
  [
    'integers',
    (n, p, seed) =>
      new Float64Array(n * p).map(
        (
          (u) => () =>
            Math.floor(u() * 3)
        )(rng(seed)),
      ),
  ],
  // Half the images duplicated: exact zeros off the diagonal as well.
  [
    'duplicates',
    (n, p, seed) => {
      const g = gaussian(seed);
      const x = new Float64Array(n * p);
      for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) x[i * p + j] = i % 2 && i > 0 ? x[(i - 1) * p + j] : g();
      return x;
    },
  ],
];

describe('RBF median by selection', () => {
  it('median equals the sorted middle on arrays built to defeat a naive pivot', () => {
    const cases: number[][] = [
      [5],
      [2, 1],
      [3, 3, 3, 3],
      Array.from({ length: 101 }, (_, i) => i),
      Array.from({ length: 100 }, (_, i) => 100 - i),
      Array.from({ length: 64 }, (_, i) => i % 2),
      Array.from({ length: 65 }, (_, i) => (i < 60 ? 7 : -1)),
      Array.from({ length: 1000 }, (_, i) => ((i * 7919) % 13) - 6.5),
      [-0, 0, -0, 0],
      [Infinity, -Infinity, 1, 2],
    ];
    const u = rng(7);
    for (let c = 0; c < 20; c++) cases.push(Array.from({ length: 1 + Math.floor(u() * 300) }, () => Math.round(u() * 20) / 4 - 2));
    // Classic quickselect stress patterns at a size where a quadratic pivot sequence would show.
    const L = 20_001;
    const patterns: ((i: number) => number)[] = [
      (i) => i,
      (i) => L - i,
      (i) => Math.min(i, L - i), // organ pipe
      (i) => i % 17, // sawtooth
      (i) => (i % 2 ? i : L - i), // interleaved ascending and descending
      (i) => (i < L / 2 ? 2 * i + 1 : 2 * (i - L / 2)), // odds then evens
      () => 3,
    ];
    for (const f of patterns) for (const len of [L, L - 1]) cases.push(Array.from({ length: len }, (_, i) => f(i)));
    for (const v of cases) expect(median(Float64Array.from(v))).toBe(sortedMedian(v));
    // NaN sorts last in the reference; the median keeps that meaning.
    expect(median(Float64Array.from([NaN, 1, 2]))).toBe(2);
    expect(median(Float64Array.from([NaN, NaN, 1, 2]))).toBeNaN();
    expect(median(new Float64Array(0))).toBeNaN();
  });

  it('hand-worked bandwidths: 1-D points 0, 1, 3 (median 1) and 0, 1, 2, 4 (median 2.5)', () => {
    const k3 = rbfFromGram({ rows: 3, cols: 3, data: Float64Array.from([0, 0, 0, 0, 1, 3, 0, 3, 9]) }, 0.5, { symmetric: true })!;
    // d²(0, 1) = 1, d²(1, 3) = 4; scale 1 / (2 · 0.25 · 1) = 2.
    expect(k3[1]).toBe(Math.exp(-2));
    expect(k3[5]).toBe(Math.exp(-8));
    const x = [0, 1, 2, 4];
    const g4 = Float64Array.from(x.flatMap((a) => x.map((b) => a * b)));
    const k4 = rbfFromGram({ rows: 4, cols: 4, data: g4 }, 0.5, { symmetric: true })!;
    expect(k4[3]).toBe(Math.exp(-16 * (1 / (2 * 0.25 * 2.5))));
  });

  for (const [kind, make] of makers) {
    it(`${kind}: both paths are bit-identical to the sorted median, n = 2 … 9, 50, 51, 120 over 3 seeds`, async () => {
      for (const n of [2, 3, 4, 5, 6, 7, 8, 9, 50, 51, 120]) {
        for (const seed of [1, 2, 3]) {
          const p = 1 + ((seed * 5) % 7);
          const g = await gramOf(make(n, p, seed * 100 + n), n, p);
          const want = referenceRbf(g, n, 0.5);
          const full = rbfFromGram({ rows: n, cols: n, data: Float64Array.from(g) }, 0.5);
          const half = rbfFromGram({ rows: n, cols: n, data: Float64Array.from(g) }, 0.5, { symmetric: true });
          const inPlace = Float64Array.from(g);
          const same = rbfFromGram({ rows: n, cols: n, data: inPlace }, 0.5, { symmetric: true, inPlace: true });
          expect(full, `${kind} n=${n} seed=${seed}`).toEqual(want);
          expect(half, `${kind} n=${n} seed=${seed}`).toEqual(want);
          expect(same, `${kind} n=${n} seed=${seed}`).toEqual(want);
          if (same) expect(same).toBe(inPlace);
        }
      }
    });
  }

  it('kernelMatrix(rbf) is the defined kernel; identical images leave the bandwidth undefined with a clear error', async () => {
    const n = 40;
    const p = 6;
    const x = makers[0][1](n, p, 11);
    const want = referenceRbf(await gramOf(x, n, p), n, 0.3)!;
    const k = await kernelMatrix({ label: 'm', n, p, data: Float64Array.from(x) }, 'rbf', { engine: jsEngine, t: 0.3 });
    expect(k.data).toEqual(want);
    const flat = new Float64Array(n * p).fill(1.5);
    await expect(kernelMatrix({ label: 'flat', n, p, data: flat }, 'rbf', { engine: jsEngine })).rejects.toThrow(
      'flat: the median squared distance between images is 0 (most images are identical), so the RBF bandwidth is undefined',
    );
  });

  it('a diagonal that is not exactly zero (overflowing norms) falls back to the full median', () => {
    const big = 1e308;
    const g = Float64Array.from([big, 0, 0, 0, 1, 0, 0, 0, 2]);
    const s = new Float64Array(9);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) s[i * 3 + j] = g[i * 4] + g[j * 4] - 2 * g[i * 3 + j];
    expect(s[0]).toBeNaN();
    const m = sortedMedian(s);
    const k = rbfFromGram({ rows: 3, cols: 3, data: Float64Array.from(g) }, 0.5, { symmetric: true })!;
    expect(k[5]).toBe(Math.exp(-s[5] * (1 / (2 * 0.25 * m))));
  });
});
