/**
 * Issue 16 part B families as registered pairwise families (pairwise.ts), run through similarityMatrix /
 * pairSimilarity like any measure id: metadata, declared invariances over three seeds with n < p and n > p (every
 * declared one holds, every undeclared one breaks on some case), the value a model reaches against a transformed
 * copy of itself, CKNNA's asymmetry, and the metric property of the RSM norm difference.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Representation } from '../../src/features/types.js';
import { EIGENSPACE_OVERLAP_FAMILY } from '../../src/measures/eigenspace.js';
import { NEIGHBOURHOOD_FAMILIES } from '../../src/measures/neighbourhood.js';
import type { PairwiseFamily } from '../../src/measures/pairwise.js';
import { PAIRWISE_FAMILIES } from '../../src/measures/pairwiseFamilies.js';
import { describeMeasure, INVARIANCE_DESCRIPTIONS, type Invariance } from '../../src/measures/registry.js';
import { DISTANCE_CORRELATION_FAMILY, RSM_NORM_DIFFERENCE_FAMILY } from '../../src/measures/rsmMeasures.js';
import { pairSimilarity, similarityMatrix } from '../../src/measures/similarity.js';
import { transform } from '../helpers/invariances.js';
import { gaussian, mapRep, randomRep } from '../helpers/random.js';

const FAMILIES: PairwiseFamily[] = [
  ...(NEIGHBOURHOOD_FAMILIES as readonly PairwiseFamily[]),
  RSM_NORM_DIFFERENCE_FAMILY as PairwiseFamily,
  DISTANCE_CORRELATION_FAMILY as PairwiseFamily,
  EIGENSPACE_OVERLAP_FAMILY as PairwiseFamily,
];
// Registered here only when the shared list does not have them yet (so this file works before and after wiring);
// at import time, because the test titles below are built from describeMeasure.
const added: PairwiseFamily[] = [];
for (const f of FAMILIES) {
  if (!PAIRWISE_FAMILIES.some((x) => x.id === f.id)) {
    PAIRWISE_FAMILIES.push(f);
    added.push(f);
  }
}
afterAll(() => {
  for (const f of added) PAIRWISE_FAMILIES.splice(PAIRWISE_FAMILIES.indexOf(f), 1);
});

const IDS = [
  'mutual-knn',
  'mutual-knn:k=3',
  'jaccard-knn',
  'jaccard-knn:k=5',
  'rank-similarity',
  'second-order-cosine',
  'second-order-cosine:k=4',
  'cknna',
  'cknna:k=4',
  'rsm-norm-diff',
  'dcor',
  'eigenspace-overlap',
];

const INVARIANCES = Object.keys(INVARIANCE_DESCRIPTIONS) as Invariance[];
const HOLD = 1e-9;
const BREAK = 1e-4;
const SEEDS = [1, 2, 3];
const SIZES = [
  { n: 12, p: 24 },
  { n: 30, p: 8 },
];

interface Case {
  name: string;
  a: Representation;
  b: Representation;
  seed: number;
}

const CASES: Case[] = SIZES.flatMap(({ n, p }) =>
  SEEDS.map((seed) => {
    const a = randomRep('A', n, [p], 1000 + seed);
    const noise = gaussian(2000 + seed);
    const b = mapRep(a, (x, i, j) => Math.tanh(x + 0.4 * a.data[i * p + ((j + 1) % p)]) + 0.6 * noise() + 0.05 * j, '');
    return { name: `seed ${seed}, n=${n}, p=${p}`, a, b: { ...b, label: 'B' }, seed };
  }),
);

describe('registered: ids, metadata and the catalogue vocabulary', () => {
  it('every id parses, with its direction, symmetry, metric flag and invariances', () => {
    const d = (id: string) => describeMeasure(id);
    expect(d('mutual-knn').id).toBe('mutual-knn');
    expect(d('mutual-knn:k=10').id).toBe('mutual-knn');
    expect(d('cknna:k=4').id).toBe('cknna:k=4');
    expect([d('rsm-norm-diff').largerIsMoreSimilar, d('rsm-norm-diff').metric, d('rsm-norm-diff').symmetric]).toEqual([false, true, true]);
    expect([d('dcor').largerIsMoreSimilar, d('dcor').metric]).toEqual([true, false]);
    expect(d('cknna').symmetric).toBe(false);
    expect(d('jaccard-knn').invariances).toEqual(['orthogonal', 'isotropic-scaling', 'feature-permutation']);
    expect(d('eigenspace-overlap').invariances).toContain('invertible-linear');
    expect(() => describeMeasure('mutual-knn:k=0')).toThrow(/k="0" must be a number at least 1/);
    expect(() => describeMeasure('cknna:k=1')).toThrow(/k="1" must be a number at least 2/);
    expect(() => describeMeasure('jaccard-knn:k=2.5')).toThrow(/k="2.5" must be a whole number/);
  });

  it('k must leave at least one image out: a clear error naming the model', async () => {
    const a = randomRep('small', 5, [3], 1);
    const b = randomRep('other', 5, [3], 2);
    await expect(similarityMatrix([a, b], 'mutual-knn')).rejects.toThrow('small: k = 10 neighbours need at least 11 images, got 5 (lower k)');
    await expect(similarityMatrix([a, b], 'cknna:k=2')).resolves.toBeDefined();
    const tiny = randomRep('tiny', 3, [3], 1);
    await expect(similarityMatrix([tiny, tiny], 'cknna:k=2')).rejects.toThrow("tiny: CKNNA's unbiased HSIC needs at least 4 images, got 3");
  });

  it('bad inputs: an all-zero image, all images identical, an all-zero representation', async () => {
    const a = randomRep('A', 12, [4], 1);
    const zeroRow = mapRep(a, (x, i) => (i === 5 ? 0 : x), '');
    await expect(pairSimilarity(zeroRow, a, 'jaccard-knn')).rejects.toThrow(
      /image 5 has all-zero features, so its cosine similarity to other images is undefined/,
    );
    const same = mapRep(a, (_x, _i, j) => a.data[j], '');
    await expect(pairSimilarity(same, a, 'dcor')).rejects.toThrow(/similarity undefined: its centred matrix is all zeros/);
    expect(
      await pairSimilarity(
        same,
        mapRep(same, (x) => x + 1, ''),
        'rsm-norm-diff',
      ),
    ).toBe(0);
    const zero = mapRep(a, () => 0, '');
    await expect(pairSimilarity(zero, a, 'eigenspace-overlap')).rejects.toThrow(/all features are zero, so its column space is empty/);
    // all of an image's neighbours are its duplicates: second-order cosine has no direction to compare
    const dup = mapRep(a, (x, i, j) => (i < 5 ? a.data[j] : x), '');
    await expect(
      pairSimilarity(
        dup,
        mapRep(dup, (x) => 2 * x, '·2'),
        'second-order-cosine:k=3',
      ),
    ).rejects.toThrow(/image 0 is at cosine distance 0 from all its neighbours/);
    // with other neighbours in the second model the union has non-zero distances, and the value is defined
    expect(Number.isFinite(await pairSimilarity(dup, a, 'second-order-cosine:k=3'))).toBe(true);
  });
});

describe('invariances: declared ones hold, undeclared ones break (3 seeds, n < p and n > p)', () => {
  for (const id of IDS) {
    const info = describeMeasure(id);
    const declared = new Set(info.invariances);
    it(`${id} [${[...declared].join(', ')}]`, async () => {
      const moved = new Map<Invariance, number>(INVARIANCES.map((inv) => [inv, 0]));
      for (const c of CASES) {
        const transformed = INVARIANCES.map((inv) => ({ ...transform(c.a, inv, c.seed), label: `A:${inv}` }));
        const m = await similarityMatrix([c.a, c.b, ...transformed], id);
        const t = m.matrix.cols;
        const at = (i: number, j: number) => m.matrix.data[i * t + j];
        const base = at(0, 1);
        const scale = Math.max(1, Math.abs(base));
        expect(Number.isFinite(base), `${id} ${c.name}`).toBe(true);
        INVARIANCES.forEach((inv, k) => {
          const diff = Math.abs(at(k + 2, 1) - base) / scale;
          if (declared.has(inv)) {
            expect(diff, `${id} ${c.name}: declared ${inv}: s(T(A), B) = ${at(k + 2, 1)} vs s(A, B) = ${base}`).toBeLessThanOrEqual(HOLD);
          }
          moved.set(inv, Math.max(moved.get(inv)!, diff));
        });
      }
      for (const inv of INVARIANCES) {
        if (declared.has(inv)) continue;
        expect(moved.get(inv)!, `${id}: ${inv} is not declared, so some case must show it breaking`).toBeGreaterThan(BREAK);
      }
    });
  }
});

describe('a transformed copy scores what the model scores against itself', () => {
  for (const id of IDS) {
    it(id, async () => {
      const info = describeMeasure(id);
      for (const c of CASES) {
        // the value of A against A, computed (crossSimilarity has no diagonal shortcut for these families)
        const self = id.startsWith('eigenspace-overlap')
          ? await pairSimilarity(c.a, { ...c.a, data: Float64Array.from(c.a.data), label: 'copy' }, id)
          : info.largerIsMoreSimilar
            ? 1
            : 0;
        if (id.startsWith('eigenspace-overlap')) expect(self).toBeCloseTo(Math.min(c.a.n, c.a.p) / c.a.p, 12);
        for (const inv of info.invariances) {
          const v = await pairSimilarity(c.a, { ...transform(c.a, inv, c.seed), label: `A:${inv}` }, id);
          expect(Math.abs(v - self), `${id} ${c.name}: s(A, ${inv}(A)) = ${v}, expected ${self}`).toBeLessThanOrEqual(HOLD * Math.max(1, Math.abs(self)));
        }
        // and a different model scores less (or, for the distance, more)
        const other = await pairSimilarity(c.a, c.b, id);
        // eigenspace overlap with n < p: two full-rank models both span ℝⁿ, so any pair scores n / p (documented)
        if (id.startsWith('eigenspace-overlap') && c.a.n < c.a.p) expect(other).toBeCloseTo(self, 12);
        else if (info.largerIsMoreSimilar) expect(other).toBeLessThan(self);
        else expect(other).toBeGreaterThan(self);
      }
    });
  }
});

describe('structure', () => {
  it('CKNNA is not symmetric (as platonic-rep): the matrix holds both directions, each equal to the reference', async () => {
    const golden = JSON.parse(readFileSync(new URL('../fixtures/measures16/b.json', import.meta.url), 'utf8'));
    const row = (m: number[][], label: string): Representation => ({
      label,
      n: m.length,
      p: m[0].length,
      shape: [m[0].length],
      data: Float64Array.from(m.flat()),
      source: label,
    });
    const a = row(golden.models.A, 'A');
    const b = row(golden.models.B, 'B');
    const m = await similarityMatrix([a, b], 'cknna:k=3');
    const g = golden.neighbourhood['A~B|k=3'];
    expect(m.matrix.data[1]).toBeCloseTo(g.cknna, 12);
    expect(m.matrix.data[2]).toBeCloseTo(g.cknnaReversed, 12);
    expect(Math.abs(m.matrix.data[1] - m.matrix.data[2])).toBeGreaterThan(1e-4);
    expect([m.matrix.data[0], m.matrix.data[3]]).toEqual([1, 1]);
  });

  it('RSM norm difference is a norm of differences: equality on a collinear triple (a squared norm would break it)', async () => {
    for (const seed of SEEDS) {
      const a = randomRep('a', 10, [6], seed);
      const b = mapRep(a, (x) => 1.5 * x, '');
      const c = mapRep(a, (x) => 2 * x, '');
      const m = await similarityMatrix([a, b, c], 'rsm-norm-diff');
      const d = (i: number, j: number) => m.matrix.data[i * 3 + j];
      expect(d(0, 2)).toBeCloseTo(d(0, 1) + d(1, 2), 10);
      expect(d(0, 1)).toBeCloseTo(d(1, 2), 10);
      // random triples: the triangle inequality
      const r = [0, 1, 2].map((k) => randomRep(`r${k}`, 10, [6], 10 * seed + k));
      const q = await similarityMatrix(r, 'rsm-norm-diff');
      const e = (i: number, j: number) => q.matrix.data[i * 3 + j];
      for (const [i, j, k] of [
        [0, 1, 2],
        [1, 0, 2],
        [0, 2, 1],
      ])
        expect(e(i, k)).toBeLessThanOrEqual(e(i, j) + e(j, k) + 1e-12);
    }
  });

  it('the M×M matrix equals the pair-by-pair values (prepare once per model, compare per pair)', async () => {
    const reps = [0, 1, 2, 3].map((s) => randomRep(`m${s}`, 14, [5], 70 + s));
    for (const id of ['jaccard-knn:k=4', 'dcor', 'cknna:k=4', 'eigenspace-overlap']) {
      const m = await similarityMatrix(reps, id);
      for (let i = 0; i < 4; i++)
        for (let j = 0; j < 4; j++) {
          if (i === j) continue;
          expect(m.matrix.data[i * 4 + j], `${id} (${i}, ${j})`).toBeCloseTo(await pairSimilarity(reps[i], reps[j], id), 12);
        }
    }
  });
});
