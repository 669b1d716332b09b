import { describe, expect, it } from 'vitest';
import { fromRows } from '../../src/linalg/dense.js';
import {
  clusterFeatures,
  cutTree,
  leafOrder,
  linkage,
  pairwiseDistances,
  similarityToDistance,
  toNewick,
  toTree,
  type Linkage,
  type Merge,
} from '../../src/taxonomy/cluster.js';

const rows = (merges: Merge[]) => merges.map((m) => [m.a, m.b, m.distance, m.size]);

describe('linkage on a hand-worked distance matrix', () => {
  // Points on a line at 0, 1, 3, 7 (labels p, q, r, s): d = |x − y|.
  const x = [0, 1, 3, 7];
  const D = fromRows(x.map((a) => x.map((b) => Math.abs(a - b))));
  const labels = ['p', 'q', 'r', 's'];

  it('single: merge heights 1, 2 (q–r), 4 (r–s)', () => {
    expect(rows(linkage(D, 'single', labels).merges)).toEqual([
      [0, 1, 1, 2],
      [2, 4, 2, 3],
      [3, 5, 4, 4],
    ]);
  });

  it('complete: {p,q}–r = max(3, 2) = 3; {p,q,r}–s = 7', () => {
    expect(rows(linkage(D, 'complete', labels).merges)).toEqual([
      [0, 1, 1, 2],
      [2, 4, 3, 3],
      [3, 5, 7, 4],
    ]);
  });

  it('average: {p,q}–r = (3 + 2)/2 = 2.5; {p,q,r}–s = (7 + 6 + 4)/3', () => {
    expect(rows(linkage(D, 'average', labels).merges)).toEqual([
      [0, 1, 1, 2],
      [2, 4, 2.5, 3],
      [3, 5, 17 / 3, 4],
    ]);
  });

  it('ward: heights √(2·SSE increase), e.g. {p,q}+r: √(2·(2·1·(3−0.5)²/3)) = √(25/3)', () => {
    // Ward's distance between clusters A, B = √(2 |A||B|/(|A|+|B|)) · ‖mean A − mean B‖ (scipy's convention).
    const ward = (na: number, ma: number, nb: number, mb: number) => Math.sqrt((2 * na * nb) / (na + nb)) * Math.abs(ma - mb);
    const m = linkage(D, 'ward', labels).merges;
    expect(m.map((r) => [r.a, r.b, r.size])).toEqual([
      [0, 1, 2],
      [2, 4, 3],
      [3, 5, 4],
    ]);
    expect(m[0].distance).toBeCloseTo(ward(1, 0, 1, 1), 14);
    expect(m[1].distance).toBeCloseTo(ward(2, 0.5, 1, 3), 14);
    expect(m[2].distance).toBeCloseTo(ward(3, 4 / 3, 1, 7), 14);
  });

  it('tree JSON, Newick, leaf order and flat clusters', () => {
    const d = linkage(D, 'average', labels);
    expect(toNewick(d)).toBe(`(s:${17 / 3},(r:2.5,(p:1,q:1):1.5):${17 / 3 - 2.5});`);
    expect(leafOrder(d)).toEqual([3, 2, 0, 1]);
    const tree = toTree(d);
    expect(tree.size).toBe(4);
    expect(tree.children![0].name).toBe('s');
    expect(tree.children![1].children![1].children!.map((c) => c.name)).toEqual(['p', 'q']);
    expect(cutTree(d, 1)).toEqual([0, 0, 0, 0]);
    expect(cutTree(d, 2)).toEqual([0, 0, 0, 1]);
    expect(cutTree(d, 3)).toEqual([0, 0, 1, 2]);
    expect(cutTree(d, 4)).toEqual([0, 1, 2, 3]);
  });

  it('quotes Newick names that need it', () => {
    const d = linkage(
      fromRows([
        [0, 1],
        [1, 0],
      ]),
      'single',
      ["it's", 'a b'],
    );
    expect(toNewick(d)).toBe("('it''s':1,'a b':1);");
  });
});

// scipy 1.17 reference: linkage(pdist(X, metric), method), leaves_list, cut_tree(Z, n_clusters=3), on
// X[i][j] = ((37 i + 91 j + 17 i² j + 11) mod 101) / 10, 8 items × 5 features (no near-tied distances).
const SCIPY: Record<string, { Z: number[][]; leaves: number[]; cut3: number[] }> = {
  'single/euclidean': {
    Z: [
      [1, 4, 5.707889277132134, 2],
      [2, 7, 6.45600495662759, 2],
      [3, 8, 6.949820141557622, 3],
      [5, 6, 7.2263407060558675, 2],
      [0, 10, 7.3280283842245035, 4],
      [9, 12, 8.348652585896719, 6],
      [11, 13, 8.84024886527523, 8],
    ],
    leaves: [5, 6, 2, 7, 0, 3, 1, 4],
    cut3: [0, 0, 1, 0, 0, 2, 2, 1],
  },
  'complete/euclidean': {
    Z: [
      [1, 4, 5.707889277132134, 2],
      [2, 7, 6.45600495662759, 2],
      [5, 6, 7.2263407060558675, 2],
      [0, 8, 7.336211556382489, 3],
      [3, 10, 10.883473710171767, 3],
      [9, 11, 13.013070352534024, 5],
      [12, 13, 13.910427743243556, 8],
    ],
    leaves: [3, 5, 6, 2, 7, 0, 1, 4],
    cut3: [0, 0, 1, 2, 0, 2, 2, 1],
  },
  'average/euclidean': {
    Z: [
      [1, 4, 5.707889277132134, 2],
      [2, 7, 6.45600495662759, 2],
      [5, 6, 7.2263407060558675, 2],
      [0, 8, 7.332119970303497, 3],
      [3, 11, 9.310523633457127, 4],
      [10, 12, 10.401714723953068, 6],
      [9, 13, 10.789859018711661, 8],
    ],
    leaves: [2, 7, 5, 6, 3, 0, 1, 4],
    cut3: [0, 0, 1, 0, 0, 2, 2, 1],
  },
  'ward/euclidean': {
    Z: [
      [1, 4, 5.707889277132134, 2],
      [2, 7, 6.45600495662759, 2],
      [5, 6, 7.2263407060558675, 2],
      [0, 8, 7.798717843338094, 3],
      [3, 11, 10.577806956075536, 4],
      [9, 10, 13.291350570954028, 4],
      [12, 13, 15.07431590487608, 8],
    ],
    leaves: [3, 0, 1, 4, 2, 7, 5, 6],
    cut3: [0, 0, 1, 0, 0, 2, 2, 1],
  },
  'single/correlation': {
    Z: [
      [0, 1, 0.24247402893617997, 2],
      [6, 7, 0.34166597530636633, 2],
      [2, 9, 0.41019472622788977, 3],
      [3, 8, 0.4440660249045735, 3],
      [4, 11, 0.4472658815990168, 4],
      [5, 10, 0.5855182995948167, 4],
      [12, 13, 0.7360695528455081, 8],
    ],
    leaves: [4, 3, 0, 1, 5, 2, 6, 7],
    cut3: [0, 0, 1, 0, 0, 2, 1, 1],
  },
  'complete/correlation': {
    Z: [
      [0, 1, 0.24247402893617997, 2],
      [6, 7, 0.34166597530636633, 2],
      [2, 9, 0.41251533207889657, 3],
      [4, 8, 0.5227757235922148, 3],
      [3, 11, 1.1214943823636756, 4],
      [5, 10, 1.1226313732800686, 4],
      [12, 13, 2.0, 8],
    ],
    leaves: [3, 4, 0, 1, 5, 2, 6, 7],
    cut3: [0, 0, 1, 0, 0, 2, 1, 1],
  },
  'average/correlation': {
    Z: [
      [0, 1, 0.24247402893617997, 2],
      [6, 7, 0.34166597530636633, 2],
      [2, 9, 0.41135502915339317, 3],
      [4, 8, 0.4850208025956158, 3],
      [5, 10, 0.8215493429176574, 4],
      [3, 11, 0.847914679383559, 4],
      [12, 13, 1.4183711660459275, 8],
    ],
    leaves: [5, 2, 6, 7, 3, 4, 0, 1],
    cut3: [0, 0, 1, 2, 0, 1, 1, 1],
  },
  'ward/correlation': {
    Z: [
      [0, 1, 0.24247402893617997, 2],
      [6, 7, 0.34166597530636633, 2],
      [2, 9, 0.43209628038537157, 3],
      [4, 8, 0.5440247535211596, 3],
      [5, 10, 1.0059078548199343, 4],
      [3, 11, 1.056978998442734, 4],
      [12, 13, 2.671800523717195, 8],
    ],
    leaves: [5, 2, 6, 7, 3, 4, 0, 1],
    cut3: [0, 0, 1, 2, 0, 1, 1, 1],
  },
  'single/cosine': {
    Z: [
      [2, 6, 0.07194006870282965, 2],
      [7, 8, 0.07866088203407606, 3],
      [1, 9, 0.0787429453324513, 4],
      [4, 10, 0.08180834127003966, 5],
      [3, 11, 0.13094304257044498, 6],
      [0, 12, 0.13255864317251964, 7],
      [5, 13, 0.2014987479645438, 8],
    ],
    leaves: [5, 0, 3, 4, 1, 7, 2, 6],
    cut3: [0, 1, 1, 1, 1, 2, 1, 1],
  },
  'complete/cosine': {
    Z: [
      [2, 6, 0.07194006870282965, 2],
      [1, 4, 0.08180834127003966, 2],
      [7, 8, 0.09377789536265013, 3],
      [0, 9, 0.13340401264777513, 3],
      [3, 11, 0.37057061453829143, 4],
      [5, 10, 0.3836163476667479, 4],
      [12, 13, 0.5148666373391805, 8],
    ],
    leaves: [3, 0, 1, 4, 5, 7, 2, 6],
    cut3: [0, 0, 1, 0, 0, 2, 1, 1],
  },
  'average/cosine': {
    Z: [
      [2, 6, 0.07194006870282965, 2],
      [1, 4, 0.08180834127003966, 2],
      [7, 8, 0.0862193886983631, 3],
      [0, 9, 0.13298132791014738, 3],
      [10, 11, 0.22819094703452883, 6],
      [5, 12, 0.31599205794611196, 7],
      [3, 13, 0.3468101664809443, 8],
    ],
    leaves: [3, 5, 7, 2, 6, 0, 1, 4],
    cut3: [0, 0, 0, 1, 0, 2, 0, 0],
  },
  'ward/cosine': {
    Z: [
      [2, 6, 0.07194006870282965, 2],
      [1, 4, 0.08180834127003966, 2],
      [7, 8, 0.09089972966055532, 3],
      [0, 9, 0.14610982654517, 3],
      [3, 11, 0.3186937005039573, 4],
      [5, 10, 0.3507477497422357, 4],
      [12, 13, 0.5370921733167587, 8],
    ],
    leaves: [3, 0, 1, 4, 5, 7, 2, 6],
    cut3: [0, 0, 1, 0, 0, 2, 1, 1],
  },
};

describe('agreement with scipy.cluster.hierarchy', () => {
  const X = fromRows(Array.from({ length: 8 }, (_, i) => Array.from({ length: 5 }, (_, j) => ((37 * i + 91 * j + 17 * i * i * j + 11) % 101) / 10)));
  for (const [name, ref] of Object.entries(SCIPY)) {
    it(name, () => {
      const [method, metric] = name.split('/') as [Linkage, 'euclidean' | 'correlation' | 'cosine'];
      const d = clusterFeatures(X, { linkage: method, distance: metric });
      expect(d.merges.map((m) => [m.a, m.b, m.size])).toEqual(ref.Z.map((r) => [r[0], r[1], r[3]]));
      d.merges.forEach((m, i) => expect(Math.abs(m.distance - ref.Z[i][2])).toBeLessThan(1e-12));
      expect(leafOrder(d)).toEqual(ref.leaves);
      expect(cutTree(d, 3)).toEqual(ref.cut3);
    });
  }
});

describe('distances and bad input', () => {
  it('correlation and cosine distances, with the offending item named', () => {
    const X = fromRows([
      [1, 2, 3],
      [2, 4, 6.5],
      [3, 3, 3],
      [0, 0, 0],
    ]);
    const labels = ['a', 'b', 'const', 'zero'];
    expect(() => pairwiseDistances(X, 'correlation', labels)).toThrow(/feature vector of "const" is constant/);
    expect(() => pairwiseDistances(X, 'cosine', labels)).toThrow(/feature vector of "zero" is all zeros/);
    const e = pairwiseDistances(X, 'euclidean', labels);
    expect(e.data[1]).toBeCloseTo(Math.sqrt(1 + 4 + 12.25), 14);
  });

  it('rejects malformed distance matrices and k out of range', () => {
    expect(() =>
      linkage(
        fromRows([
          [0, 1],
          [2, 0],
        ]),
        'single',
        ['a', 'b'],
      ),
    ).toThrow(/not symmetric at "a", "b"/);
    expect(() =>
      linkage(
        fromRows([
          [0, -1],
          [-1, 0],
        ]),
        'single',
      ),
    ).toThrow(/distance between "0" and "1" is -1/);
    expect(() =>
      linkage(
        fromRows([
          [0, 1, 2],
          [1, 0, 3],
        ]),
        'single',
      ),
    ).toThrow(/not square/);
    expect(() =>
      linkage(
        fromRows([
          [0, 1],
          [1, 0],
        ]),
        'median' as Linkage,
      ),
    ).toThrow(/unknown method "median"/);
    expect(() =>
      cutTree(
        linkage(
          fromRows([
            [0, 1],
            [1, 0],
          ]),
          'single',
        ),
        3,
      ),
    ).toThrow(/k must be an integer in 1…2/);
  });

  it('similarity → distance is 1 − s and refuses s > 1', () => {
    const d = similarityToDistance(
      fromRows([
        [1, 0.25],
        [0.25, 1],
      ]),
      ['a', 'b'],
    );
    expect(Array.from(d.data)).toEqual([0, 0.75, 0.75, 0]);
    expect(() =>
      similarityToDistance(
        fromRows([
          [1, 1.5],
          [1.5, 1],
        ]),
        ['a', 'b'],
      ),
    ).toThrow(/between "a" and "b" is 1.5 > 1/);
  });

  it('a single item is a tree of one leaf', () => {
    const d = linkage(fromRows([[0]]), 'average', ['only']);
    expect(d.merges).toEqual([]);
    expect(toNewick(d)).toBe('only;');
    expect(leafOrder(d)).toEqual([0]);
    expect(cutTree(d, 1)).toEqual([0]);
  });
});
