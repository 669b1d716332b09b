/**
 * src/linalg/distances.ts: which path a matrix takes, exactness on binary grids (including huge and tiny grids and
 * large offsets), duplicated images on the rounded path, agreement with a direct sum of squared differences, and
 * errors. kendallTauA / spearmanRhoA (src/linalg/correlation.ts) against O(n²) definitions on heavily tied data.
 */
import { describe, expect, it } from 'vitest';
import { fromRows, upperTriangle, type Matrix } from '../../src/linalg/dense.js';
import { kendallTauA, spearmanRhoA } from '../../src/linalg/correlation.js';
import { duplicateRows, euclideanDistances, squaredEuclideanDistances } from '../../src/linalg/distances.js';
import { jsEngine } from '../../src/linalg/gemm.js';
import { gaussian, rng } from '../helpers/random.js';

function direct(x: Matrix): number[] {
  const out: number[] = [];
  for (let i = 0; i < x.rows; i++)
    for (let j = i + 1; j < x.rows; j++) {
      let s = 0;
      for (let k = 0; k < x.cols; k++) s += (x.data[i * x.cols + k] - x.data[j * x.cols + k]) ** 2;
      out.push(s);
    }
  return out;
}

function randomMatrix(n: number, p: number, seed: number, f: (g: () => number) => number): Matrix {
  const g = gaussian(seed);
  return { rows: n, cols: p, data: Float64Array.from({ length: n * p }, () => f(g)) };
}

describe('exact Euclidean distances', () => {
  it('integer features: exact path, equal to the direct sum on both GEMM engines, ties kept', async () => {
    const x = randomMatrix(25, 7, 1, (g) => Math.round(3 * g()));
    const want = direct(x);
    for (const engine of [undefined, jsEngine]) {
      const d = await squaredEuclideanDistances(x, { engine });
      expect(d.path).toBe('exact');
      expect(Array.from(upperTriangle(d))).toEqual(want);
      const e = await euclideanDistances(x, { engine });
      expect(Array.from(upperTriangle(e))).toEqual(want.map(Math.sqrt));
    }
    expect(new Set(want).size).toBeLessThan(0.6 * want.length); // the data really has many ties
  });

  it('grids far from 1 (2^±600) and large offsets stay exact; float32 precision is ignored on the exact path', async () => {
    const base = randomMatrix(12, 5, 2, (g) => Math.round(4 * g()));
    const want = direct(base);
    for (const [scale, offset] of [
      [2 ** 600, 0],
      [2 ** -600, 0],
      [2 ** 200, 0],
      [1, 1e9],
      [1 / 256, -3e5],
    ]) {
      const x = { ...base, data: base.data.map((v) => v * scale + offset) };
      const e = await euclideanDistances(x, { precision: 'float32' });
      expect(e.path, `${scale}, ${offset}`).toBe('exact');
      expect(Array.from(upperTriangle(e))).toEqual(want.map((v) => Math.sqrt(v) * scale));
      if (scale <= 2 ** 200 && scale >= 2 ** -200) {
        expect(Array.from(upperTriangle(await squaredEuclideanDistances(x)))).toEqual(want.map((v) => v * scale * scale));
      }
    }
    // squared distances of 2^600-sized features do not fit a double: an error, not Infinity
    await expect(squaredEuclideanDistances({ ...base, data: base.data.map((v) => v * 2 ** 600) }, { label: 'huge' })).rejects.toThrow(
      'huge: a distance between images overflows float64 (features too large)',
    );
  });

  it('grid integers too large for exact products, or continuous data: the rounded path, still close to the direct sum', async () => {
    const big = randomMatrix(10, 4, 3, (g) => Math.round(1e9 * g()));
    const cont = randomMatrix(10, 30, 4, (g) => 1e6 + g());
    for (const x of [big, cont]) {
      const d = await squaredEuclideanDistances(x);
      expect(d.path).toBe('rounded');
      const want = direct(x);
      upperTriangle(d).forEach((v, q) => expect(Math.abs(v - want[q])).toBeLessThanOrEqual(1e-9 * want[q]));
    }
  });

  it('rounded path: duplicated images get exactly equal distances and 0 between them', async () => {
    const x = randomMatrix(15, 9, 5, (g) => g());
    for (const [copy, of] of [
      [4, 1],
      [9, 1],
      [12, 7],
    ])
      x.data.copyWithin(copy * 9, of * 9, of * 9 + 9);
    expect(Array.from(duplicateRows(x))).toEqual([0, 1, 2, 3, 1, 5, 6, 7, 8, 1, 10, 11, 7, 13, 14]);
    const d = await euclideanDistances(x);
    expect(d.path).toBe('rounded');
    const n = 15;
    for (let j = 0; j < n; j++) {
      if (j === 1 || j === 4 || j === 9) continue;
      expect(d.data[4 * n + j]).toBe(d.data[1 * n + j]);
      expect(d.data[j * n + 9]).toBe(d.data[j * n + 1]);
      if (j !== 7 && j !== 12) expect(d.data[12 * n + j]).toBe(d.data[7 * n + j]);
    }
    expect([d.data[1 * n + 4], d.data[4 * n + 9], d.data[7 * n + 12]]).toEqual([0, 0, 0]);
  });

  it('−0 and +0 are the same value; NaN is an error naming the image', async () => {
    const x = fromRows([
      [0, 1],
      [-0, 1],
      [2, 3],
    ]);
    expect(Array.from(duplicateRows(x))).toEqual([0, 0, 2]);
    await expect(
      euclideanDistances(
        fromRows([
          [1, 2],
          [Number.NaN, 0],
        ]),
        { label: 'feat' },
      ),
    ).rejects.toThrow('feat: feature 0 of image 1 is NaN; distances need finite features');
  });
});

describe('τ-a and ρ-a on tied data against their O(n²) definitions', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}`, () => {
      const u = rng(seed);
      const n = 150;
      const x = Array.from({ length: n }, () => Math.floor(u() * 6));
      const y = x.map((v) => (u() < 0.6 ? v : Math.floor(u() * 6)));
      let s = 0;
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) s += Math.sign(x[i] - x[j]) * Math.sign(y[i] - y[j]);
      expect(kendallTauA(x, y)).toBeCloseTo(s / ((n * (n - 1)) / 2), 14);
      // average ranks by counting: r_i = #{x_j < x_i} + (#{x_j = x_i} + 1) / 2
      const rank = (v: number[]) => v.map((a) => v.filter((b) => b < a).length + (v.filter((b) => b === a).length + 1) / 2);
      const rx = rank(x);
      const ry = rank(y);
      let c = 0;
      for (let i = 0; i < n; i++) c += (rx[i] - (n + 1) / 2) * (ry[i] - (n + 1) / 2);
      expect(spearmanRhoA(x, y)).toBeCloseTo((12 * c) / (n ** 3 - n), 14);
      expect(kendallTauA(x, y)).toBeCloseTo(kendallTauA(y, x), 15);
    });
  }
});
