/**
 * Taxonomy from a similarity matrix (`taskmap taxonomy --similarity`): distance d = 1 − s, then agglomerative
 * clustering — checked against merges worked out by hand for every linkage (scipy.cluster.hierarchy gives the same
 * rows, leaf orders and cuts on this input).
 *
 * Four tasks on a line, A = 0, B = 0.25, C = 0.5625, D = 0.9375, with s = 1 − 2·|x_i − x_j| (binary fractions, so
 * 1 − s is exact; similarities go negative as RSA and debiased CKA can):
 *
 *        A       B       C       D            d = 1 − s:  AB 0.5   AC 1.125  AD 1.875
 *   A    1     0.5   −0.125  −0.875                       BC 0.625 BD 1.375  CD 0.75
 *   B  0.5       1    0.375  −0.375
 *   C −0.125  0.375      1    0.25
 *   D −0.875 −0.375   0.25       1
 *
 * single:   AB 0.5 → {AB}; d({AB},C) = min(1.125, 0.625) = 0.625 < CD 0.75 → {ABC} at 0.625;
 *           d({ABC},D) = min(1.875, 1.375, 0.75) = 0.75.                        (chains: ((A,B),C),D)
 * complete: AB 0.5; d({AB},C) = max(1.125, 0.625) = 1.125 > CD 0.75 → {CD} at 0.75;
 *           d({AB},{CD}) = max(1.125, 1.875, 0.625, 1.375) = 1.875.
 * average:  AB 0.5; d({AB},C) = 0.875 > 0.75 → {CD} at 0.75; d = (1.125 + 1.875 + 0.625 + 1.375)/4 = 1.25.
 * ward:     AB 0.5; d({AB},C)² = (2·1.125² + 2·0.625² − 0.5²)/3 = 3.0625/3, d({AB},D)² = (2·1.875² + 2·1.375² − 0.25)/3
 *           = 10.5625/3; CD 0.75 is smaller → {CD}; d² = (3·3.0625/3 + 3·10.5625/3 − 2·0.75²)/4 = 12.5/4 → √3.125.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { fromRows } from '../../src/linalg/dense.js';
import { cutTree, leafOrder, linkage, similarityToDistance, type Linkage } from '../../src/taxonomy/cluster.js';

const labels = ['A', 'B', 'C', 'D'];
const S = [
  [1, 0.5, -0.125, -0.875],
  [0.5, 1, 0.375, -0.375],
  [-0.125, 0.375, 1, 0.25],
  [-0.875, -0.375, 0.25, 1],
];

const expected: Record<Linkage, { merges: [number, number, number, number][]; order: string[]; k2: number[] }> = {
  single: {
    merges: [
      [0, 1, 0.5, 2],
      [2, 4, 0.625, 3],
      [3, 5, 0.75, 4],
    ],
    order: ['D', 'C', 'A', 'B'],
    k2: [0, 0, 0, 1],
  },
  complete: {
    merges: [
      [0, 1, 0.5, 2],
      [2, 3, 0.75, 2],
      [4, 5, 1.875, 4],
    ],
    order: ['A', 'B', 'C', 'D'],
    k2: [0, 0, 1, 1],
  },
  average: {
    merges: [
      [0, 1, 0.5, 2],
      [2, 3, 0.75, 2],
      [4, 5, 1.25, 4],
    ],
    order: ['A', 'B', 'C', 'D'],
    k2: [0, 0, 1, 1],
  },
  ward: {
    merges: [
      [0, 1, 0.5, 2],
      [2, 3, 0.75, 2],
      [4, 5, Math.sqrt(3.125), 4],
    ],
    order: ['A', 'B', 'C', 'D'],
    k2: [0, 0, 1, 1],
  },
};

describe('similarityToDistance + linkage: hand-worked merges', () => {
  it('d = 1 − s off the diagonal (0 on it), negative similarities included', () => {
    const d = similarityToDistance(fromRows(S), labels);
    expect(Array.from(d.data)).toEqual(S.flat().map((s, k) => (k % 5 === 0 ? 0 : 1 - s)));
  });

  for (const method of Object.keys(expected) as Linkage[]) {
    it(method, () => {
      const tree = linkage(similarityToDistance(fromRows(S), labels), method, labels);
      const want = expected[method];
      expect(tree.merges.map((m) => [m.a, m.b, m.size])).toEqual(want.merges.map(([a, b, , size]) => [a, b, size]));
      tree.merges.forEach((m, i) => expect(m.distance).toBeCloseTo(want.merges[i][2], 14));
      expect(leafOrder(tree).map((i) => labels[i])).toEqual(want.order);
      expect(cutTree(tree, 2)).toEqual(want.k2);
    });
  }

  it('refuses similarities above 1 and asymmetric matrices', () => {
    const above = S.map((r) => [...r]);
    above[0][1] = above[1][0] = 1.5;
    expect(() => similarityToDistance(fromRows(above), labels)).toThrow(/"A" and "B" is 1.5 > 1/);
    const skew = S.map((r) => [...r]);
    skew[2][3] = 0.3;
    expect(() => linkage(similarityToDistance(fromRows(skew), labels), 'average', labels)).toThrow(/not symmetric at "C", "D"/);
  });
});

describe('taskmap taxonomy --similarity', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'taskmap-taxonomy-'));
    await writeFile(join(dir, 'sim.json'), JSON.stringify({ rows: labels, cols: labels, matrix: S, measure: 'rsa' }));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const method of Object.keys(expected) as Linkage[]) {
    it(`--linkage ${method} --k 2 writes the hand-worked tree`, async () => {
      const out = join(dir, `${method}.json`);
      const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      let code: number;
      try {
        code = await main(['node', 'taskmap', 'taxonomy', '--similarity', join(dir, 'sim.json'), '--linkage', method, '--k', '2', '--out', out]);
      } finally {
        write.mockRestore();
      }
      expect(code).toBe(0);
      const tree = JSON.parse(await readFile(out, 'utf8')) as {
        distance: string;
        merges: { a: number; b: number; distance: number; size: number }[];
        leafOrder: string[];
        clusters: Record<string, number>;
      };
      const want = expected[method];
      expect(tree.distance).toBe('1 - similarity');
      expect(tree.merges.map((m) => [m.a, m.b, m.size])).toEqual(want.merges.map(([a, b, , size]) => [a, b, size]));
      tree.merges.forEach((m, i) => expect(m.distance).toBeCloseTo(want.merges[i][2], 14));
      expect(tree.leafOrder).toEqual(want.order);
      expect(labels.map((l) => tree.clusters[l])).toEqual(want.k2);
    });
  }
});
