/**
 * Bootstrap of any similarity and split support (src/taxonomy/inference.ts, support.ts): against the independent
 * Python reference (test/reference/inference_reference.py), the protocol's exact properties (identity draws,
 * determinism), split support on trees whose answer is known by construction, and the errors of bad inputs.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadFeatureSet } from '../../src/features/featureSet.js';
import { mulberry32 } from '../../src/linalg/resample.js';
import { linkage, type Dendrogram } from '../../src/taxonomy/cluster.js';
import { bootstrapDraws, bootstrapSimilarity, bootstrapSplitSupport, cellIntervals, sampleWithReplacement } from '../../src/taxonomy/inference.js';
import { splitSupport } from '../../src/taxonomy/support.js';
import { randomRep } from '../helpers/random.js';
import { close, clusterSets, FIXTURE, GOLDENS_URL, noisy, rep } from './inferenceHelpers.js';

interface BootCase {
  name: string;
  measure: string;
  draws: number;
  seed: number;
  subset: number | null;
  replacement: boolean;
  indices: number[][];
  point: number[][];
  matrices: number[][][];
  mean: number[][];
  sd: number[][];
  lower: number[][];
  upper: number[][];
  support: { members: string[]; support: number }[];
}
const goldens = JSON.parse(readFileSync(GOLDENS_URL, 'utf8')) as { labels: string[]; bootstrap: BootCase[] };
const flat = (m: number[][]) => m.flat();

describe('bootstrap vs the Python reference (test/reference/inference_reference.py)', async () => {
  const set = await loadFeatureSet(FIXTURE);
  it('uses the reference labels', () => expect(set.members.map((m) => m.label)).toEqual(goldens.labels));
  for (const c of goldens.bootstrap) {
    it(c.name, async () => {
      const opts = { draws: c.draws, seed: c.seed, ...(c.replacement ? { replacement: true } : { subset: c.subset! }) };
      expect(bootstrapDraws(set.n, opts).indices.map((x) => Array.from(x))).toEqual(c.indices);
      const b = await bootstrapSimilarity(set.members, c.measure, opts);
      expect(b.resampling).toMatchObject({ draws: c.draws, seed: c.seed, replacement: c.replacement, size: c.subset ?? set.n });
      close(b.point.matrix.data, flat(c.point));
      close(b.matrices, c.matrices.flat(2));
      close(b.mean.data, flat(c.mean));
      close(b.sd.data, flat(c.sd));
      close(b.lower.data, flat(c.lower));
      close(b.upper.data, flat(c.upper));
      const { dendrogram, support } = bootstrapSplitSupport(b.point, b.matrices, { linkage: 'average' });
      const got = clusterSets(dendrogram).map((members, i) => ({ members, support: support[i] }));
      expect(got).toEqual(c.support);
    });
  }
});

describe('bootstrap protocol', () => {
  const n = 24;
  const base = randomRep('base', n, [5], 1);
  const reps = [noisy('a', base, 0.5, 2), noisy('b', base, 1, 3), randomRep('c', n, [4], 4), noisy('d', base, 2, 5)];

  for (const measure of ['cka', 'rsa', 'dds', 'procrustes']) {
    it(`${measure}: B identity draws reproduce the point estimate exactly`, async () => {
      const identity = Uint32Array.from({ length: n }, (_, i) => i);
      const b = await bootstrapSimilarity(reps, measure, { draws: 3, indices: [identity, identity, identity] });
      expect(b.resampling).toMatchObject({ draws: 3, size: n, replacement: false, seed: null });
      for (let d = 0; d < 3; d++) expect(Array.from(b.matrices.subarray(d * 16, (d + 1) * 16))).toEqual(Array.from(b.point.matrix.data));
      for (const m of [b.mean, b.lower, b.upper]) close(m.data, Array.from(b.point.matrix.data), 1e-15);
      expect(Array.from(b.sd.data).every((v) => v < 1e-15)).toBe(true);
    });
  }

  it('the percentile intervals contain the point estimate on well-behaved data (3 seeds)', async () => {
    for (const seed of [11, 12, 13]) {
      const z = randomRep('z', 50, [6], seed);
      const models = [noisy('a', z, 0.3, seed + 100), noisy('b', z, 0.6, seed + 200), noisy('c', z, 0.9, seed + 300)];
      for (const measure of ['cka:debiased', 'rsa', 'procrustes']) {
        const b = await bootstrapSimilarity(models, measure, { draws: 25, subset: 35, seed });
        for (let c = 0; c < 9; c++) {
          expect(b.lower.data[c]).toBeLessThanOrEqual(b.point.matrix.data[c] + 1e-12);
          expect(b.upper.data[c]).toBeGreaterThanOrEqual(b.point.matrix.data[c] - 1e-12);
          expect(b.upper.data[c]).toBeGreaterThanOrEqual(b.mean.data[c]);
          expect(b.lower.data[c]).toBeLessThanOrEqual(b.mean.data[c]);
        }
        // Not degenerate: the off-diagonal cells vary over the draws.
        expect(b.sd.data[1]).toBeGreaterThan(1e-4);
      }
    }
  });

  it('draws taken from the full matrices equal draws recomputed from the features (3 seeds)', async () => {
    const shaped = reps.map((r, k) => randomRep(r.label, n, [2, 2, 2], 40 + k));
    const ids = [
      'rsa',
      'cka',
      'cka:kernel=rbf',
      'dds:norm=centering,kernel=pearson',
      'dds:norm=layer_norm,kernel=lap',
      'dds:norm=instance_norm,kernel=cosine',
      'dds',
    ];
    for (const id of ids) {
      for (const seed of [1, 2, 3]) {
        const fast = await bootstrapSimilarity(shaped, id, { draws: 3, subset: 12, seed });
        const slow = await bootstrapSimilarity(shaped, id, { draws: 3, subset: 12, seed, recomputeDraws: true });
        const worst = Math.max(...Array.from(fast.matrices, (v, i) => Math.abs(v - slow.matrices[i])));
        expect(worst, `${id}, seed ${seed}`).toBeLessThan(1e-12);
      }
    }
  });

  it('is deterministic for a seed and changes with it', async () => {
    const one = await bootstrapSimilarity(reps, 'cka', { draws: 5, subset: 12, seed: 42 });
    const again = await bootstrapSimilarity(reps, 'cka', { draws: 5, subset: 12, seed: 42 });
    const other = await bootstrapSimilarity(reps, 'cka', { draws: 5, subset: 12, seed: 43 });
    expect(Array.from(again.matrices)).toEqual(Array.from(one.matrices));
    expect(Array.from(other.matrices)).not.toEqual(Array.from(one.matrices));
    const r1 = await bootstrapSimilarity(reps, 'rsa', { draws: 3, replacement: true, seed: 9 });
    const r2 = await bootstrapSimilarity(reps, 'rsa', { draws: 3, replacement: true, seed: 9 });
    expect(Array.from(r2.matrices)).toEqual(Array.from(r1.matrices));
    expect(r1.resampling).toMatchObject({ size: n, replacement: true, seed: 9 });
  });

  it('draws with replacement duplicate images; the default subset is rank’s min(200, n/2)', () => {
    const { indices } = bootstrapDraws(30, { draws: 4, replacement: true, seed: 3 });
    expect(indices.every((x) => x.length === 30)).toBe(true);
    expect(indices.some((x) => new Set(Array.from(x)).size < 30)).toBe(true);
    const sub = bootstrapDraws(30, { draws: 2 });
    expect(sub.resampling).toMatchObject({ size: 15, seed: 1993, replacement: false });
    expect(sub.indices.every((x) => new Set(Array.from(x)).size === 15)).toBe(true);
    expect(Array.from(sampleWithReplacement(5, 8, mulberry32(1))).every((i) => i >= 0 && i < 5)).toBe(true);
  });

  it('refuses bad options with clear messages', async () => {
    await expect(bootstrapSimilarity(reps, 'cka', { draws: 0 })).rejects.toThrow(/number of draws must be a whole number ≥ 1, got 0/);
    await expect(bootstrapSimilarity(reps, 'cka', { draws: 2.5 })).rejects.toThrow(/whole number ≥ 1/);
    await expect(bootstrapSimilarity(reps, 'cka', { draws: 2, subset: 25 })).rejects.toThrow(/subset must be a whole number from 4 to 23 .*got 25/);
    await expect(bootstrapSimilarity(reps, 'cka', { draws: 2, subset: 10, replacement: true })).rejects.toThrow(
      /subset size applies to draws without replacement/,
    );
    await expect(bootstrapSimilarity(reps, 'cka', { draws: 2, level: 1.5 })).rejects.toThrow(/level must be between 0 and 1/);
    await expect(bootstrapSimilarity(reps, 'cka', { draws: 2, seed: -1 })).rejects.toThrow(/seed must be an integer/);
    await expect(bootstrapSimilarity(reps, 'cka', { draws: 1, indices: [[0, 1, 99]] })).rejects.toThrow(/image index 99 is not in 0…23/);
    await expect(bootstrapSimilarity(reps, 'nope', { draws: 1 })).rejects.toThrow(/unknown measure/);
    // A draw on which the measure is undefined names the draw.
    const constantOnHalf = rep('flat', n, 3, (i, j) => (i < 20 ? 1 : i * j));
    await expect(bootstrapSimilarity([reps[0], constantOnHalf], 'cka', { draws: 1, indices: [[0, 1, 2, 3, 4, 5]] })).rejects.toThrow(
      /bootstrap draw 1 of 1: .*flat/,
    );
  });

  it('cellIntervals: numpy percentiles and sd (ddof 1) of hand-worked draws', () => {
    // One cell over 5 draws: 1, 2, 3, 4, 10 → mean 4, sd √(50/4), 2.5th pct 1.1, 97.5th 9.4 (linear rule).
    const draws = [1, 2, 3, 4, 10];
    const s = cellIntervals(Float64Array.from(draws), 5, 1);
    expect(s.mean.data[0]).toBe(4);
    expect(s.sd.data[0]).toBeCloseTo(Math.sqrt(50 / 4), 14);
    expect(s.lower.data[0]).toBeCloseTo(1.1, 14);
    expect(s.upper.data[0]).toBeCloseTo(9.4, 14);
    expect(cellIntervals(Float64Array.from([7]), 1, 1).sd.data[0]).toBe(0);
  });
});

describe('split support', () => {
  it('is 1 for well-separated clusters and < 1 somewhere for unrelated models (3 seeds)', async () => {
    for (const seed of [1, 2, 3]) {
      const n = 40;
      // Two groups built on independent latent representations: within a group the models are the latent plus
      // small noise, so every draw's tree joins each group before joining the groups.
      const za = randomRep('za', n, [5], seed);
      const zb = randomRep('zb', n, [5], seed + 50);
      const models = [
        noisy('a1', za, 0.2, seed + 1),
        noisy('b1', zb, 0.2, seed + 2),
        noisy('a2', za, 0.25, seed + 3),
        noisy('b2', zb, 0.25, seed + 4),
        noisy('a3', za, 0.3, seed + 5),
        noisy('b3', zb, 0.3, seed + 6),
      ];
      const b = await bootstrapSimilarity(models, 'cka', { draws: 20, subset: 20, seed });
      const { dendrogram, support } = bootstrapSplitSupport(b.point, b.matrices, { linkage: 'average' });
      const sets = clusterSets(dendrogram).map((s) => s.join(' '));
      expect(support[sets.indexOf('a1 a2 a3')]).toBe(1);
      expect(support[sets.indexOf('b1 b2 b3')]).toBe(1);
      expect(support[support.length - 1]).toBe(1);

      const random = Array.from({ length: 6 }, (_, k) => randomRep(`r${k}`, n, [5], 1000 * seed + k));
      const r = await bootstrapSimilarity(random, 'cka', { draws: 20, subset: 20, seed });
      const rs = bootstrapSplitSupport(r.point, r.matrices, { linkage: 'average' }).support;
      expect(Math.min(...rs.slice(0, -1))).toBeLessThan(1);
      expect(rs[rs.length - 1]).toBe(1);
    }
  });

  it('counts exact leaf sets: a hand-made reference against hand-made trees', () => {
    const labels = ['a', 'b', 'c', 'd'];
    const tree = (pairs: [number, number][]): Dendrogram => ({
      labels,
      linkage: 'average',
      merges: pairs.map(([a, b], i) => ({ a, b, distance: i + 1, size: 0 })),
    });
    // ((a,b),(c,d)) vs ((a,b),c),d and ((a,c),(b,d)).
    const ref = tree([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    const t1 = tree([
      [0, 1],
      [2, 4],
      [3, 5],
    ]);
    const t2 = tree([
      [0, 2],
      [1, 3],
      [4, 5],
    ]);
    expect(splitSupport(ref, [ref, t1, t2])).toEqual([2 / 3, 1 / 3, 1]);
    expect(() => splitSupport(ref, [])).toThrow(/at least one tree/);
    expect(() => splitSupport(ref, [{ ...t1, labels: ['a', 'b', 'd', 'c'] }])).toThrow(/tree 1 has other leaves/);
  });

  it('reads a distance measure as given (procrustes) and refuses a bad matrix size', async () => {
    const n = 30;
    const z = randomRep('z', n, [4], 7);
    const models = [noisy('x', z, 0.1, 1), noisy('y', z, 0.1, 2), randomRep('w', n, [4], 3)];
    const b = await bootstrapSimilarity(models, 'procrustes', { draws: 6, subset: 20, seed: 1 });
    const { dendrogram, support } = bootstrapSplitSupport(b.point, b.matrices, { linkage: 'single' });
    const direct = linkage(b.point.matrix, 'single', b.point.rows);
    expect(dendrogram.merges).toEqual(direct.merges);
    expect(clusterSets(dendrogram)[0]).toEqual(['x', 'y']);
    expect(support[0]).toBe(1);
    expect(() => bootstrapSplitSupport(b.point, b.matrices.subarray(0, 10), { linkage: 'average' })).toThrow(/not whole 3×3 draw matrices/);
  });
});
