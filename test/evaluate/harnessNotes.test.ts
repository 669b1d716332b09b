/**
 * The evaluation harness never leaves a bare NaN in its table: a measure whose score is undefined on every target
 * (no spread in its predictions) gets a note saying so, next to the measures that could not be computed at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateMeasures } from '../../src/evaluate/harness.js';
import type { PairwiseFamily } from '../../src/measures/pairwise.js';
import { PAIRWISE_FAMILIES } from '../../src/measures/pairwiseFamilies.js';
import { similarityMatrix } from '../../src/measures/similarity.js';
import { randomRep } from '../helpers/random.js';

/** The same distance for every pair: a stand-in for a measure that is degenerate on the images at hand. */
const constant: PairwiseFamily<null> = {
  id: 'toyconst',
  name: 'Toy constant distance',
  description: 'every pair at distance 0 (test only)',
  reference: 'test',
  params: [],
  largerIsMoreSimilar: false,
  symmetric: true,
  metric: false,
  invariances: [],
  cost: { tier: 'cheap', scaling: 'M²' },
  fewImages: '—',
  self: 0,
  prepare: () => null,
  compare: () => 0,
};

beforeAll(() => {
  PAIRWISE_FAMILIES.push(constant as PairwiseFamily);
});
afterAll(() => {
  PAIRWISE_FAMILIES.splice(PAIRWISE_FAMILIES.indexOf(constant as PairwiseFamily), 1);
});

describe('evaluateMeasures notes', () => {
  it('explains an undefined score instead of a bare NaN, and leaves defined rows without a note', async () => {
    const reps = ['a', 'b', 'c', 'd', 'e'].map((l, i) => randomRep(l, 10, [4], 40 + i));
    const truth = await similarityMatrix(reps, 'rsa');
    const r = await evaluateMeasures({ n: 10, members: reps }, truth, ['rsa', 'toyconst'], { includeSelf: true });
    expect(r.rows[0].mean).toBeCloseTo(1, 12);
    expect(r.rows[0].error).toBeUndefined();
    expect(r.rows[1].mean).toBeNull();
    expect(r.rows[1].error).toMatch(/^undefined on every target: the spearman needs spread/);
  });
});
