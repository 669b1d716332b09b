/**
 * RSA with rsatoolbox's comparators and exact-tie Euclidean RDMs, end to end from measure ids (issue 16 part B):
 * `rsa:rdm=euclidean,compare=<c>` on integer features equals the numpy/scipy reference on the exact RDM
 * (test/fixtures/measures16/b.json), the M×M path equals the pair path for the per-pair comparators, and
 * `rsa:rdm=sqeuclidean,compare=cosine-cov` is linear CKA.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Representation } from '../../src/features/types.js';
import { RSA_COMPARATORS } from '../../src/measures/rdmComparators.js';
import { describeMeasure, parseMeasure } from '../../src/measures/registry.js';
import { pairSimilarity, similarityMatrix } from '../../src/measures/similarity.js';
import { randomRep } from '../helpers/random.js';

const golden = JSON.parse(readFileSync(new URL('../fixtures/measures16/b.json', import.meta.url), 'utf8'));
const rep = (name: string): Representation => {
  const m = golden.intModels[name] as number[][];
  return { label: name, n: m.length, p: m[0].length, shape: [m[0].length], data: Float64Array.from(m.flat()), source: name };
};

describe('rsa:compare=<rsatoolbox name> on exact Euclidean RDMs', () => {
  it('every comparator equals the reference on integer features (int1 ~ int2)', async () => {
    const expected = golden.comparators['int1~int2'];
    for (const c of RSA_COMPARATORS) {
      const v = await pairSimilarity(rep('int1'), rep('int2'), `rsa:rdm=euclidean,compare=${c}`);
      expect(Math.abs(v - expected[c]), `${c}: ${v} vs ${expected[c]}`).toBeLessThanOrEqual(1e-12);
    }
  });

  it("the issue's case: Spearman on integer features equals scipy on the exact RDM, for both Euclidean RDMs", async () => {
    for (const [a, b] of [
      ['int1', 'int2'],
      ['int2', 'quantised'],
      ['int1', 'quantised'],
    ]) {
      for (const rdm of ['euclidean', 'sqeuclidean']) {
        const want = golden.ties.pairs[`${a}~${b}|${rdm}`];
        for (const c of ['spearman', 'kendall', 'rho-a', 'tau-a'] as const) {
          const v = await pairSimilarity(rep(a), rep(b), `rsa:rdm=${rdm},compare=${c}`);
          expect(Math.abs(v - want[c]), `${a}~${b} ${rdm} ${c}`).toBeLessThanOrEqual(1e-12);
        }
      }
    }
  });

  it('the M×M matrix of the per-pair comparators (τ-a, τ-b) equals the pairs', async () => {
    const reps = ['int1', 'int2', 'quantised'].map(rep);
    for (const c of ['tau-a', 'kendall']) {
      const m = await similarityMatrix(reps, `rsa:rdm=euclidean,compare=${c}`);
      for (let i = 0; i < 3; i++)
        for (let j = i + 1; j < 3; j++) expect(m.matrix.data[i * 3 + j]).toBe(await pairSimilarity(reps[i], reps[j], `rsa:rdm=euclidean,compare=${c}`));
      expect([m.matrix.data[0], m.matrix.data[4], m.matrix.data[8]]).toEqual([1, 1, 1]);
    }
  });

  it('cosine-cov of squared-Euclidean RDMs is linear CKA; ids parse and bad names list the choices', async () => {
    const a = randomRep('a', 20, [7], 1);
    const b = randomRep('b', 20, [5], 2);
    const v = await pairSimilarity(a, b, 'rsa:rdm=sqeuclidean,compare=cosine-cov');
    expect(v).toBeCloseTo(await pairSimilarity(a, b, 'cka'), 12);
    expect(describeMeasure('rsa:compare=tau-a').id).toBe('rsa:compare=tau-a');
    expect(parseMeasure('rsa:rdm=euclidean,compare=rho-a')).toEqual({ family: 'rsa', rdm: 'euclidean', compare: 'rho-a' });
    expect(() => parseMeasure('rsa:compare=tau-c')).toThrow(
      /compare="tau-c" is not one of spearman, pearson, kendall, cosine, cosine-cov, corr-cov, rho-a, tau-a/,
    );
  });
});
