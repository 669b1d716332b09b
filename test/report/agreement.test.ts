import { describe, expect, it } from 'vitest';
import { fromRows } from '../../src/linalg/dense.js';
import { adjustedRandIndex, familyCountCut, nearestNeighbourAgreement } from '../../src/taxonomy/agreement.js';
import { linkage } from '../../src/taxonomy/cluster.js';
import { classicalMds } from '../../src/taxonomy/mds.js';

describe('adjusted Rand index', () => {
  it('matches hand-worked contingency tables', () => {
    // a = [0,0,1,1], b = [0,0,1,2]: Σ C(n_ij,2) = 1, Σ C(a_i,2) = 2, Σ C(b_j,2) = 1, C(4,2) = 6;
    // E = 2·1/6 = 1/3, max = 3/2 → (1 − 1/3)/(3/2 − 1/3) = 4/7.
    expect(adjustedRandIndex([0, 0, 1, 1], [0, 0, 1, 2])).toBeCloseTo(4 / 7, 12);
    // a = [0,0,0,1,1,1], b = [0,0,1,1,2,2]: Σ C(n_ij,2) = 2, Σ C(a_i,2) = 6, Σ C(b_j,2) = 3, C(6,2) = 15;
    // E = 18/15 = 1.2, max = 4.5 → 0.8/3.3 = 8/33.
    expect(adjustedRandIndex([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2])).toBeCloseTo(8 / 33, 12);
    // Complementary split: a = [0,0,1,1], b = [0,1,0,1]: Σ C(n_ij,2) = 0, sums 2 and 2, E = 4/6 → (0 − 2/3)/(2 − 2/3) = −1/2.
    expect(adjustedRandIndex([0, 0, 1, 1], [0, 1, 0, 1])).toBeCloseTo(-0.5, 12);
  });

  it('is 1 for the same partition under any renaming, symmetric, and 1 for identical trivial partitions', () => {
    expect(adjustedRandIndex(['pose', 'pose', 'face', 'text', 'face'], [2, 2, 0, 1, 0])).toBe(1);
    const a = [0, 1, 1, 2, 2, 2, 0, 1];
    const b = [1, 1, 0, 2, 2, 0, 0, 1];
    expect(adjustedRandIndex(a, b)).toBeCloseTo(adjustedRandIndex(b, a), 14);
    expect(adjustedRandIndex([0, 0, 0], [1, 1, 1])).toBe(1);
    expect(adjustedRandIndex([0, 1, 2], [5, 4, 3])).toBe(1);
    expect(() => adjustedRandIndex([0, 1], [0])).toThrow(/2 and 1 items/);
  });
});

describe('nearest-neighbour family agreement', () => {
  it('credits ties fractionally and reports the chance level', () => {
    // Families a a b b. NN: 0→1 (same), 1→2 (different), 2→3 (same), 3→{0,2} tied (half credit).
    const s = fromRows([
      [1, 0.9, 0.1, 0.2],
      [0.9, 1, 0.95, 0.3],
      [0.1, 0.95, 1, 0.97],
      [0.2, 0.3, 0.97, 1],
    ]);
    // Make row 3's tie exact: s[3][0] = s[3][2].
    s.data[3 * 4 + 0] = 0.97;
    const r = nearestNeighbourAgreement(s, ['m0', 'm1', 'm2', 'm3'], ['a', 'a', 'b', 'b']);
    expect(r.items.map((i) => i.nearest)).toEqual([['m1'], ['m2'], ['m3'], ['m0', 'm2']]);
    expect(r.items.map((i) => i.credit)).toEqual([1, 0, 1, 0.5]);
    expect(r.agreement).toBeCloseTo(2.5 / 4, 14);
    expect(r.chance).toBeCloseTo(1 / 3, 14);
  });

  it('cuts the tree into as many clusters as families', () => {
    // Two tight pairs far apart: the 2-cluster cut is exactly the families.
    const d = fromRows([
      [0, 0.1, 0.9, 0.8],
      [0.1, 0, 0.85, 0.9],
      [0.9, 0.85, 0, 0.2],
      [0.8, 0.9, 0.2, 0],
    ]);
    const cut = familyCountCut(linkage(d, 'average', ['p', 'q', 'r', 's']), ['x', 'x', 'y', 'y']);
    expect(cut.k).toBe(2);
    expect(cut.clusters).toEqual([0, 0, 1, 1]);
    expect(cut.ari).toBe(1);
  });
});

describe('classical MDS', () => {
  it('recovers Euclidean configurations exactly (up to rotation)', () => {
    const pts = [
      [0, 0],
      [3, 0],
      [0, 4],
      [1, 1],
      [-2, 1.5],
    ];
    const d = fromRows(pts.map((p) => pts.map((q) => Math.hypot(p[0] - q[0], p[1] - q[1]))));
    const r = classicalMds(d, 2);
    const c = (i: number) => [r.coords.data[2 * i], r.coords.data[2 * i + 1]];
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) expect(Math.hypot(c(i)[0] - c(j)[0], c(i)[1] - c(j)[1])).toBeCloseTo(d.data[i * 5 + j], 9);
    expect(r.explained[0] + r.explained[1]).toBeCloseTo(1, 9);
  });
});
