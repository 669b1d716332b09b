/**
 * The tie rule of `taxonomy` (src/taxonomy/cluster.ts): among equally close pairs, the one with the lowest cluster
 * ids merges first. scipy's `linkage` (nearest-neighbour chain; a minimum spanning tree for single linkage) may
 * resolve the same ties in another order. The scipy rows below were computed once with scipy 1.17
 * (`linkage(squareform(d), method)`) on these 4-item matrices, the smallest differing cases among 300 random
 * integer-distance matrices (of those 300, the trees differed for 166 complete, 107 average and 69 Ward cases; for
 * single linkage the clusters below every height agreed in all 300, only the merge order at a tied height differed).
 */
import { describe, expect, it } from 'vitest';
import { fromRows } from '../../src/linalg/dense.js';
import { linkage, type Linkage } from '../../src/taxonomy/cluster.js';
import { runCli } from '../helpers/cli.js';

interface TieCase {
  d: number[][];
  taskmap: [number, number, number][];
  scipy: [number, number, number][];
}

/** d12 = d23 = 1 (the Ward and average cases). */
const TIED_12_23 = [
  [0, 3, 3, 2],
  [3, 0, 1, 3],
  [3, 1, 0, 1],
  [2, 3, 1, 0],
];

const CASES: Record<Linkage, TieCase> = {
  // d01 = d03 = 1: both merge {0,1} first (lowest ids). Then {0,1}–3 = 2 = d23: taskmap joins 2 and 3, scipy joins 3 and {0,1}.
  complete: {
    d: [
      [0, 1, 2, 1],
      [1, 0, 3, 2],
      [2, 3, 0, 2],
      [1, 2, 2, 0],
    ],
    taskmap: [
      [0, 1, 1],
      [2, 3, 2],
      [4, 5, 3],
    ],
    scipy: [
      [0, 1, 1],
      [3, 4, 2],
      [2, 5, 3],
    ],
  },
  // d12 = d23 = 1: taskmap merges {1,2}, scipy {2,3}; the heights that follow differ too.
  ward: {
    d: TIED_12_23,
    taskmap: [
      [1, 2, 1],
      [0, 3, 2],
      [4, 5, 3.391164991562634],
    ],
    scipy: [
      [2, 3, 1],
      [1, 4, 2.516611478423583],
      [0, 5, 3.0276503540974917],
    ],
  },
  average: {
    d: TIED_12_23,
    taskmap: [
      [1, 2, 1],
      [0, 3, 2],
      [4, 5, 2.5],
    ],
    scipy: [
      [2, 3, 1],
      [1, 4, 2],
      [0, 5, 2.6666666666666665],
    ],
  },
  // Every merge at height 2: the same single cluster in the end, the order in between differs.
  single: {
    d: [
      [0, 3, 3, 2],
      [3, 0, 2, 2],
      [3, 2, 0, 3],
      [2, 2, 3, 0],
    ],
    taskmap: [
      [0, 3, 2],
      [1, 2, 2],
      [4, 5, 2],
    ],
    scipy: [
      [0, 3, 2],
      [1, 4, 2],
      [2, 5, 2],
    ],
  },
};

describe('taxonomy ties: lowest cluster ids first', () => {
  for (const [method, c] of Object.entries(CASES) as [Linkage, TieCase][]) {
    it(`${method}: taskmap's merges, and where scipy differs`, () => {
      const merges = linkage(fromRows(c.d), method).merges.map((m) => [m.a, m.b, m.distance]);
      merges.forEach((m, i) => {
        expect(m.slice(0, 2)).toEqual(c.taskmap[i].slice(0, 2));
        expect(m[2]).toBeCloseTo(c.taskmap[i][2], 12);
      });
      expect(c.taskmap.map((r) => r.slice(0, 2))).not.toEqual(c.scipy.map((r) => r.slice(0, 2)));
    });
  }

  it('--help states the rule and where scipy can differ', async () => {
    const r = await runCli('taxonomy', '--help');
    const text = r.out.replace(/\s+/g, ' ');
    expect(text).toContain('the pair with the lowest cluster ids merges first');
    expect(text).toContain('with complete, average and Ward linkage the tree itself can differ');
  });
});
