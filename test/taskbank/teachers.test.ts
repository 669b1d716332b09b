/**
 * Distilled targets: the post-processing of each teacher's outputs in closed form, then the three zoo teachers on
 * three crops (shapes, ranges, batching, the cache). The teachers are npm dependencies, so they run wherever the tests do.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLAZEFACE_GRIDS, cachedTeacherTargets, classDistribution, faceHeatmap, teacherTargets } from '../../src/taskbank/teachers.js';

let cache: string;
beforeAll(async () => {
  cache = await mkdtemp(join(tmpdir(), 'taskmap-teachers-'));
});
afterAll(async () => {
  await rm(cache, { recursive: true, force: true });
});

const R = 32;
/** Three 32×32 crops: a colour gradient, a skin-toned disc on grey, noise-like stripes. */
const CROPS = (() => {
  const out = new Uint8Array(3 * R * R * 3);
  for (let y = 0; y < R; y++)
    for (let x = 0; x < R; x++) {
      const i = y * R + x;
      out.set([x * 8, y * 8, 128], 3 * i);
      out.set((x - 16) ** 2 + (y - 14) ** 2 < 100 ? [224, 172, 140] : [120, 120, 120], 3 * (R * R + i));
      out.set([(x * 37 + y * 11) % 256, (x * 5) % 256, (y * 29) % 256], 3 * (2 * R * R + i));
    }
  return out;
})();

describe('teacher post-processing', () => {
  it('face heat-map: per 16×16 cell the largest probability of its two anchors and its 8×8 cell’s six', () => {
    const { fine, coarse } = BLAZEFACE_GRIDS;
    const f = new Float32Array(fine.side * fine.side * fine.anchors).fill(-100);
    const c = new Float32Array(coarse.side * coarse.side * coarse.anchors).fill(-100);
    f[(3 * 16 + 5) * 2 + 1] = 100; // fine cell (row 3, column 5), second anchor
    c[(1 * 8 + 2) * 6 + 4] = 0; // coarse cell (row 1, column 2) covers fine rows 2–3, columns 4–5
    const h = faceHeatmap(f, c);
    expect(h.length).toBe(256);
    expect(h[3 * 16 + 5]).toBeCloseTo(1, 10);
    for (const [y, x] of [
      [2, 4],
      [2, 5],
      [3, 4],
    ])
      expect(h[y * 16 + x]).toBeCloseTo(0.5, 10);
    expect(h.filter((v) => v > 1e-10).length).toBe(4);
    expect(() => faceHeatmap(f.subarray(1), c)).toThrow(/expected 512 and 384 anchor scores, got 511 and 384/);
  });

  it('class distribution: a softmax output is kept, logits go through softmax, non-finite values are refused', () => {
    expect(Array.from(classDistribution([0.1, 0.2, 0.7]))).toEqual([0.1, 0.2, 0.7].map(Math.fround));
    const p = classDistribution([0, Math.log(3)]);
    expect(p[0]).toBeCloseTo(0.25, 6);
    expect(p[1]).toBeCloseTo(0.75, 6);
    expect(() => classDistribution([0.5, NaN])).toThrow(/non-finite/);
  });
});

describe('zoo teachers on crops', () => {
  it('person mask (selfie), face heat-map (blazeface), content classes (nsfw-mobilenet-v2): shapes, ranges, cache', async () => {
    expect(await cachedTeacherTargets('person-mask', CROPS, R, cache)).toBeUndefined();
    const mask = await teacherTargets('person-mask', CROPS, R, { cacheDir: cache });
    expect(mask).toMatchObject({ teacher: 'selfie', shape: [3, R, R, 1], cached: false });
    expect(mask.targets.every((v) => v >= 0 && v <= 1)).toBe(true);
    const face = await teacherTargets('face-heatmap', CROPS, R, { cacheDir: cache });
    expect(face.shape).toEqual([3, 16, 16, 1]);
    expect(face.targets.every((v) => v > 0 && v < 1)).toBe(true);
    const cls = await teacherTargets('content-class', CROPS, R, { cacheDir: cache, batchSize: 2 });
    expect(cls.shape).toEqual([3, 5]);
    for (let i = 0; i < 3; i++) expect(cls.targets.subarray(5 * i, 5 * i + 5).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    // Different crops, different targets.
    expect(cls.targets.subarray(0, 5)).not.toEqual(cls.targets.subarray(5, 10));
    // A batch of 2 + 1 gives what one crop at a time gives.
    const single = await teacherTargets('content-class', CROPS, R, { batchSize: 1 });
    expect(Math.max(...single.targets.map((v, i) => Math.abs(v - cls.targets[i])))).toBeLessThan(1e-5);
    // Second call: read from the cache, no model loaded.
    const again = await teacherTargets('person-mask', CROPS, R, { cacheDir: cache });
    expect(again.cached).toBe(true);
    expect(again.targets).toEqual(mask.targets);
    // The cache alone (what the teacher stage reads before starting any thread); other crops are not in it.
    expect((await cachedTeacherTargets('person-mask', CROPS, R, cache))?.targets).toEqual(mask.targets);
    expect(await cachedTeacherTargets('person-mask', CROPS.subarray(0, R * R * 3 * 2), R, cache)).toBeUndefined();
    expect((await readdir(cache)).sort().map((f) => f.replace(/-[0-9a-f]{20}\.npy$/, ''))).toEqual(['content-class', 'face-heatmap', 'person-mask']);
  });

  it('refuses pixel tasks and crops of the wrong size', async () => {
    await expect(teacherTargets('edges', CROPS, R)).rejects.toThrow(/task edges is computed from the pixels/);
    await expect(teacherTargets('person-mask', CROPS.subarray(1), R)).rejects.toThrow(/not whole 32×32×3 crops/);
  });
});
