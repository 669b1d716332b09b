/**
 * Permutation test of any pair (src/taxonomy/inference.ts): against the independent Python reference
 * (test/reference/inference_reference.py), identical and independent representations, the shuffled prepared form
 * against the form recomputed from shuffled features, determinism, and the errors of bad inputs.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadFeatureSet } from '../../src/features/featureSet.js';
import { mulberry32 } from '../../src/linalg/resample.js';
import { comparePreparedRdms } from '../../src/measures/rdmComparators.js';
import { measureId, parseMeasure } from '../../src/measures/registry.js';
import { crossSimilarity, PreparedCache, preparedCacheKey, similarityMatrix } from '../../src/measures/similarity.js';
import { memberByLabel, permutationTest, permutePrepared, randomPermutation } from '../../src/taxonomy/inference.js';
import { subsetImages } from '../../src/taxonomy/rank.js';
import { randomRep } from '../helpers/random.js';
import { close, FIXTURE, GOLDENS_URL, noisy, rep } from './inferenceHelpers.js';

interface PermCase {
  name: string;
  measure: string;
  a: string;
  b: string;
  permutations: number;
  seed: number;
  firstPermutation: number[];
  observed: number;
  null: number[];
  extreme: number;
  pValue: number;
}
const goldens = JSON.parse(readFileSync(GOLDENS_URL, 'utf8')) as { independent: number[][]; permutation: PermCase[] };

describe('permutation test vs the Python reference', async () => {
  const set = await loadFeatureSet(FIXTURE);
  const n = set.n;
  const independent = rep('independent', n, 6, (i, j) => goldens.independent[i][j]);
  const members = [...set.members, independent];
  for (const c of goldens.permutation) {
    it(c.name, async () => {
      expect(Array.from(randomPermutation(n, mulberry32(c.seed)))).toEqual(c.firstPermutation);
      const t = await permutationTest(memberByLabel(members, c.a), memberByLabel(members, c.b), c.measure, { permutations: c.permutations, seed: c.seed });
      expect(t.method).toBe('prepared');
      expect(Math.abs(t.observed - c.observed)).toBeLessThan(1e-9);
      close(t.null, c.null);
      expect(t.extreme).toBe(c.extreme);
      expect(t.pValue).toBe(c.pValue);
    });
  }
});

describe('permutation test', () => {
  it('identical representations give p ≤ 2/(P + 1) (batched and pairwise families, 3 seeds)', async () => {
    for (const seed of [1, 2, 3]) {
      const x = randomRep('x', 30, [6], seed);
      const y = { ...x, label: 'y' };
      for (const measure of ['cka', 'rsa', 'dds', 'procrustes']) {
        const t = await permutationTest(x, y, measure, { permutations: 19, seed });
        expect(t.pValue).toBeLessThanOrEqual(2 / 20);
        expect(t.method).toBe(measure === 'procrustes' ? 'recomputed' : 'prepared');
        expect(t.largerIsMoreSimilar).toBe(measure !== 'procrustes');
      }
    }
  });

  it('independent representations give roughly uniform p-values (mean over 12 seeds)', async () => {
    const ps: number[] = [];
    for (let seed = 0; seed < 12; seed++) {
      const a = randomRep('a', 25, [4], 100 + seed);
      const b = randomRep('b', 25, [3], 200 + seed);
      ps.push((await permutationTest(a, b, 'cka', { permutations: 49, seed })).pValue);
    }
    const mean = ps.reduce((s, p) => s + p, 0) / ps.length;
    // Uniform p: mean 0.5, sd of the mean ≈ 0.29/√12 ≈ 0.08; a test that always says "related" would give ~0.02.
    expect(mean).toBeGreaterThan(0.25);
    expect(mean).toBeLessThan(0.75);
    expect(Math.max(...ps)).toBeGreaterThan(0.5);
  });

  it('the shuffled prepared form equals the form recomputed from shuffled features', async () => {
    const n = 14;
    const a = randomRep('a', n, [2, 2, 2], 1);
    const b = noisy('b', a, 0.7, 2);
    const ids = [
      'cka',
      'cka:debiased',
      'cka:kernel=rbf',
      'rsa',
      'rsa:compare=kendall',
      'rsa:rdm=euclidean',
      'dds',
      'dds:norm=batch_norm,kernel=lap',
      'dds:norm=layer_norm,kernel=pearson,compare=pearson',
    ];
    for (const id of ids) {
      for (const seed of [1, 2, 3]) {
        const perm = randomPermutation(n, mulberry32(seed));
        const cache = new PreparedCache();
        await similarityMatrix([a, b], id, { cache });
        const key = preparedCacheKey(measureId(parseMeasure(id)));
        const fast = comparePreparedRdms(cache.get(a, key)!, permutePrepared(cache.get(b, key)!, perm));
        const { images: _i, ...moved } = subsetImages(b, perm);
        const slow = (await crossSimilarity([a], [moved], id)).matrix.data[0];
        expect(Math.abs(fast - slow), `${id}, seed ${seed}`).toBeLessThan(1e-12);
      }
    }
  });

  it('is deterministic for a seed; distances count shuffles ≤ observed', async () => {
    const z = randomRep('z', 20, [3], 5);
    const x = noisy('x', z, 0.5, 6);
    const y = noisy('y', z, 0.5, 7);
    const t1 = await permutationTest(x, y, 'procrustes', { permutations: 9, seed: 4 });
    const t2 = await permutationTest(x, y, 'procrustes', { permutations: 9, seed: 4 });
    expect(Array.from(t2.null)).toEqual(Array.from(t1.null));
    expect(t1.extreme).toBe(Array.from(t1.null).filter((v) => v <= t1.observed).length);
    expect(t1.pValue).toBe((t1.extreme + 1) / 10);
    const t3 = await permutationTest(x, y, 'rsa', { permutations: 9, seed: 5 });
    expect(t3.extreme).toBe(Array.from(t3.null).filter((v) => v >= t3.observed).length);
  });

  it('refuses bad inputs with clear messages', async () => {
    const x = randomRep('x', 10, [3], 1);
    const y = randomRep('y', 12, [3], 2);
    await expect(permutationTest(x, x, 'cka', { permutations: 0 })).rejects.toThrow(/number of permutations must be a whole number ≥ 1, got 0/);
    await expect(permutationTest(x, y, 'cka', { permutations: 5 })).rejects.toThrow(/x has 10 images but y has 12/);
    await expect(permutationTest(x, x, 'cka', { permutations: 5, seed: 1.5 })).rejects.toThrow(/seed must be an integer/);
    expect(() => memberByLabel([x, { ...y, label: 'other' }], 'xx')).toThrow(/unknown model "xx" — did you mean "x"\? \(members: x, other\)/);
  });
});
