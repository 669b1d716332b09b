/** Every pixel task's target builder on hand-made crops: closed forms, seeded determinism, shapes and errors. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { zooModel } from '../../src/models/zoo.js';
import { fromYCbCr, permuteTiles, rotate90, toUnit } from '../../src/taskbank/pixels.js';
import {
  buildPixelSamples,
  cropSeed,
  DENOISE_SIGMA,
  EDGE_SIGMA,
  HARRIS_RANGE,
  HARRIS_SCALE,
  INPAINT_FILL,
  JIGSAW_CLASSES,
  jigsawPermutations,
  keypointTarget,
  PIXEL_TASKS,
  TASKS,
  targetVersion,
  taskDefinition,
  TEACHER_TASKS,
  type PixelTask,
} from '../../src/taskbank/tasks.js';

const REF = JSON.parse(readFileSync(join(__dirname, '../fixtures/taskbank/reference.json'), 'utf8')) as { jigsaw: number[][] };
const task = (id: string) => taskDefinition(id) as PixelTask;

/** A size×size RGB crop from a per-pixel colour function (values 0–255). */
function crop(size: number, f: (x: number, y: number) => [number, number, number]): Uint8Array {
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) out.set(f(x, y), 3 * (y * size + x));
  return out;
}
/** A textured colour crop: no two tiles or quarter-turns of it are equal. */
const textured = (size: number) => crop(size, (x, y) => [(x * 13 + y * 7) % 256, (x * x + 3 * y) % 256, (5 * x * y + 17) % 256]);
const R = 24;

describe('task registry', () => {
  it('13 tasks in four families, each with a loss; teachers are zoo models; pixel targets have their declared shape', () => {
    expect(TASKS.length).toBeGreaterThanOrEqual(12);
    expect(new Set(TASKS.map((t) => t.id)).size).toBe(TASKS.length);
    expect(new Set(TASKS.map((t) => t.family))).toEqual(new Set(['low-level', '2d', 'global', 'semantic']));
    for (const t of TEACHER_TASKS) expect(zooModel(t.teacher), t.id).toBeDefined();
    for (const t of PIXEL_TASKS)
      for (const size of [24, 64]) {
        const s = t.build(textured(size), size, 0, 0);
        expect(s.input.length, t.id).toBe(size * size * 3);
        expect(s.target.length, t.id).toBe(t.targetShape(size).reduce((a, b) => a * b, 1));
        expect(s.target.every(Number.isFinite) && s.input.every((v) => v >= 0 && v <= 1), t.id).toBe(true);
      }
    expect(() => taskDefinition('depth')).toThrow(/unknown task "depth"; tasks: autoencoding, denoising/);
    expect(() => task('edges').build(new Uint8Array(10), R, 0, 0)).toThrow(/task edges: a crop of side 24 has 1728 values, got 10/);
    expect(() => buildPixelSamples(task('edges'), new Uint8Array(1729), R, 0)).toThrow(/not whole 24×24×3 crops/);
  });

  it('seeded tasks: the same (seed, crop index) gives the same sample, another index or seed another; batches agree with single builds', () => {
    const c = textured(R);
    for (const id of ['denoising', 'inpainting', 'rotation', 'jigsaw']) {
      const t = task(id);
      const a = t.build(c, R, 5, 11);
      expect(t.build(c, R, 5, 11)).toEqual(a);
      const others = [1, 2, 3, 4, 6, 7].map((i) => t.build(c, R, i, 11).input);
      expect(
        others.some((x) => x.some((v, j) => v !== a.input[j])),
        id,
      ).toBe(true);
      expect(t.build(c, R, 5, 12).input.some((v, j) => v !== a.input[j]) || t.build(c, R, 5, 13).input.some((v, j) => v !== a.input[j]), id).toBe(true);
    }
    const two = new Uint8Array(2 * R * R * 3);
    two.set(textured(R));
    two.set(textured(R).reverse(), R * R * 3);
    const batch = buildPixelSamples(task('denoising'), two, R, 3, 10);
    expect(batch[1]).toEqual(task('denoising').build(two.subarray(R * R * 3), R, 11, 3));
    expect(cropSeed(0, 0)).not.toBe(cropSeed(0, 1));
    expect(cropSeed(1, 0)).not.toBe(cropSeed(0, 1));
  });
});

describe('low-level tasks', () => {
  it('autoencoding: target = input = the crop in [0, 1]', () => {
    const c = textured(R);
    const s = task('autoencoding').build(c, R, 0, 0);
    expect(Array.from(s.target)).toEqual(Array.from(toUnit(c)));
    expect(s.input).toEqual(s.target);
  });

  it('denoising: clean target, noise of standard deviation σ and mean 0 on a mid-grey crop, clipped to [0, 1]', () => {
    const c = crop(64, () => [128, 128, 128]);
    const s = task('denoising').build(c, 64, 0, 0);
    expect(Array.from(s.target)).toEqual(Array.from(toUnit(c)));
    const d = Array.from(s.input, (v, i) => v - s.target[i]);
    const mean = d.reduce((a, b) => a + b, 0) / d.length;
    const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / d.length);
    expect(Math.abs(mean)).toBeLessThan(0.005);
    expect(Math.abs(sd - DENOISE_SIGMA)).toBeLessThan(0.005);
    const white = task('denoising').build(
      crop(R, () => [255, 255, 255]),
      R,
      0,
      0,
    );
    expect(Math.max(...white.input)).toBe(1);
    expect(Math.min(...white.input)).toBeLessThan(1);
  });

  it("colourisation: the input is the grey Y in three channels, the target the crop's Cb, Cr; together they give the crop back", () => {
    const c = textured(R);
    const s = task('colourisation').build(c, R, 0, 0);
    const y = Float64Array.from({ length: R * R }, (_, i) => s.input[3 * i]);
    for (let i = 0; i < R * R; i++) expect(s.input[3 * i + 1]).toBe(s.input[3 * i]);
    const rgb = fromYCbCr(
      y,
      s.target.filter((_, i) => i % 2 === 0),
      s.target.filter((_, i) => i % 2 === 1),
    );
    const x = toUnit(c);
    expect(Math.max(...rgb.map((v, i) => Math.abs(v - x[i])))).toBeLessThan(1e-6);
    const grey = task('colourisation').build(
      crop(R, (i) => [i * 9, i * 9, i * 9]),
      R,
      0,
      0,
    );
    expect(Math.max(...grey.target.map((v) => Math.abs(v - 0.5)))).toBeLessThan(1e-6);
  });

  it('inpainting: a ⌊R/4⌋ square hole filled with grey at a seeded place; mask = the hole; the rest of the input is the crop', () => {
    const c = textured(R);
    const x = toUnit(c);
    const seen = new Set<number>();
    for (let index = 0; index < 8; index++) {
      const s = task('inpainting').build(c, R, index, 1);
      const holes = Array.from(s.mask!.keys()).filter((i) => s.mask![i] === 1);
      expect(holes.length).toBe((R / 4) ** 2);
      const xs = holes.map((i) => i % R);
      const ys = holes.map((i) => Math.floor(i / R));
      expect(Math.max(...xs) - Math.min(...xs)).toBe(R / 4 - 1);
      expect(Math.max(...ys) - Math.min(...ys)).toBe(R / 4 - 1);
      seen.add(holes[0]);
      for (let i = 0; i < R * R; i++) for (let k = 0; k < 3; k++) expect(s.input[3 * i + k]).toBe(s.mask![i] ? INPAINT_FILL : x[3 * i + k]);
      expect(Array.from(s.target)).toEqual(Array.from(x));
    }
    expect(seen.size).toBeGreaterThan(1);
  });

  it('super-resolution: the input is made of constant 2×2 blocks equal to the crop’s block means; odd sides are refused', () => {
    const c = textured(R);
    const x = toUnit(c);
    const s = task('super-resolution').build(c, R, 0, 0);
    for (const [by, bx] of [
      [0, 0],
      [3, 7],
      [11, 11],
    ])
      for (let k = 0; k < 3; k++) {
        const at = (yy: number, xx: number, a: ArrayLike<number>) => a[3 * (yy * R + xx) + k];
        const mean = (at(2 * by, 2 * bx, x) + at(2 * by, 2 * bx + 1, x) + at(2 * by + 1, 2 * bx, x) + at(2 * by + 1, 2 * bx + 1, x)) / 4;
        for (const [dy, dx] of [
          [0, 0],
          [0, 1],
          [1, 0],
          [1, 1],
        ])
          expect(at(2 * by + dy, 2 * bx + dx, s.input)).toBeCloseTo(mean, 6);
      }
    expect(Array.from(s.target)).toEqual(Array.from(x));
    expect(() => task('super-resolution').build(textured(25), 25, 0, 0)).toThrow(/the side must be even, got 25/);
  });
});

describe('2D tasks', () => {
  it('edges: on a black/white step the target peaks at the step and is 0 far from it', () => {
    const s = task('edges').build(
      crop(R, (x) => (x < 12 ? [0, 0, 0] : [255, 255, 255])),
      R,
      0,
      0,
    );
    const row = Array.from(s.target.subarray(5 * R, 6 * R));
    expect(row.indexOf(Math.max(...row))).toBeGreaterThanOrEqual(11);
    expect(row.indexOf(Math.max(...row))).toBeLessThanOrEqual(12);
    expect(row[0]).toBe(0);
    expect(row[R - 1]).toBe(0);
    expect(row[11]).toBeCloseTo(row[12], 12);
  });

  it('keypoints: 0 on a flat crop, negative along a straight edge (closed form), positive and largest at the corners of a square', () => {
    // A flat patch: no gradient, R = 0 exactly, target 0.
    expect(
      Math.max(
        ...task('keypoints')
          .build(
            crop(R, () => [90, 30, 200]),
            R,
            0,
            0,
          )
          .target.map(Math.abs),
      ),
    ).toBe(0);

    // A vertical unit step in luma: Iy = 0 everywhere, so det M = 0 and R = −k (G_σI ∗ Ix²)² exactly, with Ix the
    // Sobel x-derivative of the σD-smoothed step divided by 8 = half the central difference of the smoothed row.
    // Worked here in one dimension with scipy's kernels (radius ⌊4σ + 0.5⌋, edges repeated).
    const step = task('keypoints').build(
      crop(R, (x) => (x < 12 ? [0, 0, 0] : [255, 255, 255])),
      R,
      0,
      0,
    ).target;
    const blur1d = (v: number[], sigma: number) => {
      const r = Math.floor(4 * sigma + 0.5);
      const w = Array.from({ length: 2 * r + 1 }, (_, j) => Math.exp(-((j - r) ** 2) / (2 * sigma * sigma)));
      const sum = w.reduce((a, b) => a + b, 0);
      return v.map((_, x) => w.reduce((acc, wj, j) => acc + (wj / sum) * v[Math.min(v.length - 1, Math.max(0, x + j - r))], 0));
    };
    const b = blur1d(
      Array.from({ length: R }, (_, x) => (x < 12 ? 0 : 1)),
      EDGE_SIGMA,
    );
    const ix2 = b.map((_, x) => ((b[Math.min(R - 1, x + 1)] - b[Math.max(0, x - 1)]) / 2) ** 2);
    const a = blur1d(ix2, 1.5);
    const expected = a.map((v) => -Math.asinh((0.04 * v * v) / HARRIS_SCALE) / HARRIS_RANGE);
    for (const y of [0, 7, R - 1]) for (let x = 0; x < R; x++) expect(step[y * R + x]).toBeCloseTo(expected[x], 5);
    // Most negative beside the step (−1.268 = −asinh(0.04·a²/10⁻⁸)/8 with a ≈ 0.0564), near 0 far from it.
    expect(Math.min(...step)).toBeCloseTo(Math.min(...expected), 5);
    expect(Math.min(...step)).toBeLessThan(-1);
    expect(Math.abs(step[5 * R])).toBeLessThan(1e-3);

    // A bright square on black: a corner, edges and flat parts in one crop.
    const S = 40;
    const t = Array.from(
      task('keypoints').build(
        crop(S, (x, y) => (x >= 10 && x < 30 && y >= 10 && y < 30 ? [255, 255, 255] : [0, 0, 0])),
        S,
        0,
        0,
      ).target,
    );
    const at = (x: number, y: number) => t[y * S + x];
    const best = t.indexOf(Math.max(...t));
    const [bx, by] = [best % S, Math.floor(best / S)];
    expect(Math.min(Math.abs(bx - 10), Math.abs(bx - 29))).toBeLessThanOrEqual(1);
    expect(Math.min(Math.abs(by - 10), Math.abs(by - 29))).toBeLessThanOrEqual(1);
    // Ordering: corner > flat (inside or outside the square) ≈ 0 > the middle of a side.
    const [corner, edge, inside, outside] = [at(10, 10), at(10, 20), at(20, 20), at(2, 2)];
    expect(corner).toBeGreaterThan(1);
    expect(edge).toBeLessThan(-1);
    expect(Math.abs(inside)).toBeLessThan(1e-3);
    expect(Math.abs(outside)).toBeLessThan(1e-3);
    // The four corners alike (the square is symmetric); the middle of a side matches the straight edge's extreme
    // up to the square's finite extent.
    for (const [x, y] of [
      [29, 10],
      [10, 29],
      [29, 29],
    ])
      expect(at(x, y)).toBeCloseTo(corner, 5);
    expect(edge).toBeCloseTo(Math.min(...expected), 2);
  });

  it('keypoints: the target is asinh(R/s)/c of the Harris response, monotone and odd in R, and spread on a textured crop', () => {
    expect(keypointTarget(0)).toBe(0);
    expect(keypointTarget(HARRIS_SCALE)).toBeCloseTo(Math.asinh(1) / HARRIS_RANGE, 15);
    expect(keypointTarget(-3e-6)).toBeCloseTo(-keypointTarget(3e-6), 15);
    // Each decade of R above s adds about ln(10)/c: the log compression that keeps weak and strong corners apart.
    expect(keypointTarget(1e-5) - keypointTarget(1e-6)).toBeCloseTo(Math.LN10 / HARRIS_RANGE, 3);
    // A textured crop: most pixels carry a clearly non-zero target (the first version's tanh(max(R, 0)/1e-5) was 0 on
    // 90 % of photograph pixels).
    const tex = task('keypoints').build(textured(R), R, 0, 0).target;
    expect(tex.filter((v) => Math.abs(v) > 0.05).length).toBeGreaterThan(tex.length / 2);
    expect(Math.min(...tex)).toBeLessThan(0);
    expect(Math.max(...tex)).toBeGreaterThan(0);
  });

  it('target versions: every task at version 1 except keypoints, whose target changed (version 2)', () => {
    expect(TASKS.filter((t) => targetVersion(t) !== 1).map((t) => [t.id, targetVersion(t.id)])).toEqual([['keypoints', 2]]);
  });

  it('segmentation: integer labels from 0 in raster order, none crossing the edge of two flat colours', () => {
    const s = task('segmentation').build(
      crop(R, (x) => (x < 10 ? [20, 200, 30] : [200, 20, 180])),
      R,
      0,
      0,
    );
    expect(s.target[0]).toBe(0);
    expect(s.target.every((v) => Number.isInteger(v) && v >= 0 && v < 9)).toBe(true);
    for (const l of new Set(s.target)) {
      const sides = new Set(
        Array.from(s.target.keys())
          .filter((i) => s.target[i] === l)
          .map((i) => i % R < 10),
      );
      expect(sides.size).toBe(1);
    }
  });
});

describe('global tasks', () => {
  it('rotation: the label is the one-hot number of quarter turns; turning the input back gives the crop; all four occur', () => {
    const c = textured(R);
    const x = toUnit(c);
    const classes = new Set<number>();
    for (let index = 0; index < 24; index++) {
      const s = task('rotation').build(c, R, index, 2);
      expect(s.target.reduce((a, b) => a + b, 0)).toBe(1);
      const k = s.target.indexOf(1);
      classes.add(k);
      expect(Array.from(rotate90(s.input, R, 3, 4 - k))).toEqual(Array.from(x));
    }
    expect(classes).toEqual(new Set([0, 1, 2, 3]));
  });

  it('jigsaw: 24 distinct permutations (the reference set: identity first, pairwise Hamming ≥ 7); the inverse shuffle gives the crop', () => {
    const perms = jigsawPermutations().map((p) => Array.from(p));
    expect(perms).toEqual(REF.jigsaw);
    expect(perms.length).toBe(JIGSAW_CLASSES);
    for (let a = 0; a < perms.length; a++)
      for (let b = a + 1; b < perms.length; b++) expect(perms[a].filter((v, i) => v !== perms[b][i]).length).toBeGreaterThanOrEqual(7);
    const c = textured(R);
    const classes = new Set<number>();
    for (let index = 0; index < 30; index++) {
      const s = task('jigsaw').build(c, R, index, 4);
      const k = s.target.indexOf(1);
      classes.add(k);
      const inverse = perms[k].map((_, i) => perms[k].indexOf(i));
      expect(Array.from(permuteTiles(s.input, R, 3, inverse))).toEqual(Array.from(toUnit(c)));
    }
    expect(classes.size).toBeGreaterThan(10);
  });
});
