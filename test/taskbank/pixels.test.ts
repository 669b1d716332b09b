/**
 * Pixel operations of the task bank against test/reference/taskbank_reference.py (scipy.ndimage, numpy; goldens in
 * test/fixtures/taskbank/reference.json) and against closed forms on hand-made images.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  boxDownsample2,
  edgeMagnitude,
  fromYCbCr,
  gaussianBlur,
  gaussianKernel,
  harrisResponse,
  luminance,
  permuteTiles,
  resizeArea,
  rotate90,
  sobel,
  superpixels,
  toUnit,
  toYCbCr,
  upsampleNearest2,
} from '../../src/taskbank/pixels.js';

const REF = JSON.parse(readFileSync(join(__dirname, '../fixtures/taskbank/reference.json'), 'utf8')) as Record<string, any>;
const img16 = toUnit(Uint8Array.from(REF.image16 as number[]));

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number) {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  expect(worst).toBeLessThanOrEqual(tol);
}

/** A size×size map that is 0 left of column `c` and 1 from it on. */
const step = (size: number, c: number) => Float64Array.from({ length: size * size }, (_, i) => (i % size >= c ? 1 : 0));

describe('task bank pixels vs the scipy reference', () => {
  it('luma and YCbCr', () => {
    const { y, cb, cr } = toYCbCr(img16, 16);
    expectClose(y, REF.luma, 1e-6);
    expectClose(cb, REF.cb, 1e-6);
    expectClose(cr, REF.cr, 1e-6);
  });

  it('Gaussian smoothing (scipy gaussian_filter, mode nearest, truncate 4), edges and the Harris response', () => {
    const y = luminance(img16, 16);
    expectClose(gaussianBlur(y, 16, 1), REF.blur1, 1e-6);
    expectClose(edgeMagnitude(y, 16, 1), REF.edges, 1e-6);
    // Harris values are ~1e-5: compare at a tolerance relative to their scale.
    const h = harrisResponse(y, 16);
    const scale = Math.max(...(REF.harris as number[]).map(Math.abs));
    expectClose(
      h.map((v) => v / scale),
      (REF.harris as number[]).map((v) => v / scale),
      1e-6,
    );
  });

  it('2× box down-sampling, rotations (numpy rot90), area resampling (overlap matrices)', () => {
    expectClose(boxDownsample2(img16, 16, 3), REF.down2, 1e-6);
    for (let k = 0; k < 4; k++) expectClose(rotate90(img16, 16, 3, k), REF.rot90[k], 1e-7);
    expectClose(resizeArea(REF.area20 as number[], 20, 20, 3, 6, 6), REF.area20to6, 1e-9);
  });

  it('superpixels: the numpy k-means gives the same labels', () => {
    expect(Array.from(superpixels(toUnit(Uint8Array.from(REF.image12 as number[])), 12))).toEqual(REF.superpixels12);
  });
});

describe('task bank pixels: closed forms', () => {
  it('Sobel of a unit step: |gx| = 4 on the two columns beside it, 0 elsewhere; gy = 0', () => {
    const { gx, gy } = sobel(step(8, 4), 8);
    for (let y = 0; y < 8; y++)
      for (let x = 0; x < 8; x++) {
        expect(gx[y * 8 + x]).toBe(x === 3 || x === 4 ? 4 : 0);
        expect(gy[y * 8 + x]).toBe(0);
      }
    // Unsmoothed edge map: 4 / 4√2 at the step.
    expect(edgeMagnitude(step(8, 4), 8, 0)[3]).toBeCloseTo(1 / Math.SQRT2, 12);
  });

  it('Gaussian kernel: scipy radius ⌊4σ + 0.5⌋, sums to 1; a constant map stays constant; bad σ refused', () => {
    expect(gaussianKernel(1).length).toBe(9);
    expect(gaussianKernel(1.5).length).toBe(13);
    expect(gaussianKernel(1.5).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
    expect(Math.max(...gaussianBlur(new Float64Array(25).fill(0.3), 5, 2).map((v) => Math.abs(v - 0.3)))).toBeLessThan(1e-15);
    expect(() => gaussianKernel(0)).toThrow(/positive number, got 0/);
  });

  it('Harris: zero on a flat map, ≤ 0 along a straight edge, a positive peak at the corner of a square', () => {
    expect(Math.max(...harrisResponse(new Float64Array(256).fill(0.7), 16).map(Math.abs))).toBe(0);
    expect(Math.max(...harrisResponse(step(16, 8), 16))).toBeLessThanOrEqual(1e-18);
    const square = Float64Array.from({ length: 24 * 24 }, (_, i) => (i % 24 >= 8 && Math.floor(i / 24) >= 8 ? 1 : 0));
    const r = harrisResponse(square, 24);
    const best = r.indexOf(Math.max(...r));
    expect([best % 24, Math.floor(best / 24)].map((v) => Math.abs(v - 8) <= 1)).toEqual([true, true]);
  });

  it('edges and Harris turn with the image (90° equivariance), over 3 seeds', () => {
    for (const seed of [1, 2, 3]) {
      const m = Float64Array.from({ length: 20 * 20 }, (_, i) => Math.sin(seed * i * 0.37) ** 2);
      for (const f of [(x: Float64Array) => edgeMagnitude(x, 20, 1), (x: Float64Array) => harrisResponse(x, 20)]) {
        expectClose(f(rotate90(m, 20, 1, 1)), rotate90(f(m), 20, 1, 1), 1e-12);
      }
    }
  });

  it('YCbCr round trip; grey pixels have Cb = Cr = 1/2', () => {
    const { y, cb, cr } = toYCbCr(img16, 16);
    expectClose(fromYCbCr(y, cb, cr), img16, 1e-12);
    const grey = toYCbCr(new Float32Array(12).fill(0.25), 2);
    expect(Array.from(grey.cb)).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect(Array.from(grey.cr)).toEqual([0.5, 0.5, 0.5, 0.5]);
  });

  it('down-sampling then replication keeps 2×2 block means; rotations compose; tiles invert', () => {
    const up = upsampleNearest2(boxDownsample2(img16, 16, 3), 8, 3);
    expect(up.length).toBe(img16.length);
    expect(up[0]).toBeCloseTo((img16[0] + img16[3] + img16[48] + img16[51]) / 4, 7);
    expect(up[3 * 17]).toBe(up[0]);
    expectClose(rotate90(rotate90(img16, 16, 3, 3), 16, 3, 1), img16, 0);
    const perm = [4, 0, 8, 1, 3, 2, 7, 5, 6];
    const inverse = perm.map((_, i) => perm.indexOf(i));
    expectClose(permuteTiles(permuteTiles(img16, 16, 3, perm), 16, 3, inverse), img16, 0);
    // 16 = 3·5 + 1: the last row and column are outside the tiles and stay put.
    const shuffled = permuteTiles(img16, 16, 3, perm);
    expect(shuffled[3 * 15]).toBe(img16[3 * 15]);
    expect(() => permuteTiles(img16, 16, 3, [0, 0, 1, 2, 3, 4, 5, 6, 7])).toThrow(/not a permutation of 0…8/);
  });

  it('area resampling: integer factors are block means, a constant stays constant, sizes are checked', () => {
    const a = Float64Array.from({ length: 16 }, (_, i) => i);
    expect(Array.from(resizeArea(a, 4, 4, 1, 2, 2))).toEqual([2.5, 4.5, 10.5, 12.5]);
    expect(Math.max(...resizeArea(new Float64Array(7 * 5 * 2).fill(3), 7, 5, 2, 3, 2).map((v) => Math.abs(v - 3)))).toBeLessThan(1e-14);
    expect(() => resizeArea(a, 5, 4, 1, 2, 2)).toThrow(/16 values for 5×4×1/);
  });

  it('superpixels never cross a colour edge and are numbered by first appearance', () => {
    const two = new Float32Array(12 * 12 * 3);
    for (let i = 0; i < 144; i++) if (i % 12 >= 5) two.set([0.9, 0.1, 0.1], 3 * i);
    const labels = superpixels(two, 12);
    expect(labels[0]).toBe(0);
    for (let l = 0; l <= Math.max(...labels); l++) {
      const sides = new Set(
        Array.from(labels.keys())
          .filter((i) => labels[i] === l)
          .map((i) => i % 12 >= 5),
      );
      expect(sides.size).toBe(1);
    }
    expect(() => superpixels(two, 12, { k: 8 })).toThrow(/square number/);
  });
});
