import { describe, expect, it } from 'vitest';
import * as taskmap from '../src/index.js';
import { randomRep } from './helpers/random.js';

describe('library entry point', () => {
  it('exposes the data path end to end: features → similarity → evaluation → taxonomy', async () => {
    const reps = ['a', 'b', 'c', 'd'].map((l, i) => randomRep(l, 10, [6], 500 + i));
    const sim = await taskmap.similarityMatrix({ n: 10, members: reps }, 'dds');
    expect(sim.measure).toBe('dds:norm=znorm,kernel=cosine');
    // Evaluating a matrix against itself is a perfect ranking for every target.
    expect(taskmap.evaluatePrediction(sim, sim, { metric: 'spearman' }).mean).toBeCloseTo(1, 12);
    const tree = taskmap.linkage(taskmap.similarityToDistance(sim.matrix, sim.rows), 'average', sim.rows);
    expect(
      taskmap
        .leafOrder(tree)
        .map((i) => tree.labels[i])
        .sort(),
    ).toEqual(['a', 'b', 'c', 'd']);
    expect(taskmap.toNewick(tree)).toMatch(/;$/);
  });
});
