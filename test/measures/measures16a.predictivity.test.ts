/**
 * Linear predictivity's properties (the shared suite of test/helpers/pairwiseProperties.ts: declared invariances of
 * either input hold and undeclared ones break over 3 seeds × (n > p, n < p); s(A, copy of A) < 1 under the ridge;
 * asymmetry unless symmetrized), in a file of its own because each pair runs k folds × the λ grid.
 */
import { describe, expect, it } from 'vitest';
import { pairSimilarity } from '../../src/measures/similarity.js';
import { CASES, PART_A_IDS, pairwisePropertySuite, transform } from '../helpers/pairwiseProperties.js';

pairwisePropertySuite(PART_A_IDS.filter((id) => id.startsWith('predictivity')));

describe('predictivity direction', () => {
  it('predicting a model from a copy of itself scores near 1, from an independent one below 0.5', async () => {
    const c = CASES[0];
    expect(await pairSimilarity(c.a, transform(c.a, 'orthogonal', 4), 'predictivity')).toBeGreaterThan(0.99);
    expect(await pairSimilarity(c.c, c.a, 'predictivity')).toBeLessThan(0.5);
  });
});
