import { describe, expect, it } from 'vitest';
import { getGemmEngine, gram, jsEngine, matmulABt } from '../../src/linalg/gemm.js';
import type { Matrix } from '../../src/linalg/dense.js';
import { naiveABt } from '../helpers/naive.js';

function lcgMatrix(rows: number, cols: number, seed: number): Matrix {
  let s = seed >>> 0;
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 32 - 0.5;
  }
  return { rows, cols, data };
}

describe('GEMM engine', () => {
  const a = lcgMatrix(37, 53, 1);
  const b = lcgMatrix(23, 53, 2);
  for (const kind of ['js', 'ort'] as const) {
    it(`${kind}: A·Bᵀ and Gram match a naive triple loop (odd sizes)`, async () => {
      const engine = await getGemmEngine(kind);
      const c = await matmulABt(a, b, { engine });
      const ref = naiveABt(a, b);
      for (let i = 0; i < ref.length; i++) expect(c.data[i]).toBeCloseTo(ref[i], 12);
      const g = await gram(a, { engine });
      const gref = naiveABt(a, a);
      for (let i = 0; i < gref.length; i++) expect(g.data[i]).toBeCloseTo(gref[i], 12);
      expect(g.data[5 * 37 + 9]).toBe(g.data[9 * 37 + 5]);
    });
  }
  it('ort float32 precision is close but not exact', async () => {
    const engine = await getGemmEngine('ort');
    const c = await matmulABt(a, b, { engine, precision: 'float32' });
    const ref = naiveABt(a, b);
    for (let i = 0; i < ref.length; i++) expect(Math.abs(c.data[i] - ref[i])).toBeLessThan(1e-4);
  });
  it('js engine handles a single row', async () => {
    const one = lcgMatrix(1, 5, 3);
    const g = await gram(one, { engine: jsEngine });
    expect(g.data[0]).toBeCloseTo(naiveABt(one, one)[0], 14);
  });
});
