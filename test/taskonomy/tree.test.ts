import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { taskFeatures, taskTree } from '../../src/taskonomy/tree.js';
import { leafOrder, type Dendrogram } from '../../src/taxonomy/cluster.js';
import type { ResultDict } from '../../src/taskonomy/results.js';
import { skipWithoutSharedData } from '../helpers/sharedData.js';

const FILE = '../shared/data/taskonomy/results/affinities/all_affinities.json';

/** The leaf set of every cluster the dendrogram forms. */
function clusters(d: Dendrogram): Set<string>[] {
  const n = d.labels.length;
  const members: Set<string>[] = d.labels.map((l) => new Set([l]));
  d.merges.forEach((m) => members.push(new Set([...members[m.a], ...members[m.b]])));
  return members.slice(n);
}

describe('task tree features', () => {
  const dict: ResultDict = { a__x: 0.1, a__y: 0.2, b__x: 0.3, b__y: 0.1, self__x: 0.6, self__y: 0.7, c__x: 0.2 };

  it('describes each non-pseudo task by its affinities to every target', () => {
    expect(() => taskFeatures(dict)).toThrow(/no "c__y" entry/);
    const f = taskFeatures(dict, { tasks: ['a', 'b'] });
    expect(f.rows).toEqual(['a', 'b']);
    expect(f.cols).toEqual(['x', 'y']);
    expect(Array.from(f.matrix.data)).toEqual([0.1, 0.2, 0.3, 0.1]);
    expect(() => taskFeatures(dict, { tasks: ['a', 'q'] })).toThrow(/task "q" has no first-order transfer/);
  });
});

describe.skipIf(skipWithoutSharedData)('Taskonomy task tree on all_affinities', () => {
  const dict = existsSync(FILE) ? (JSON.parse(readFileSync(FILE, 'utf8')) as ResultDict) : {};
  const D3 = new Set(['rgb2sfnorm', 'segment25d', 'curvature', 'keypoint3d', 'rgb2depth', 'rgb2mist', 'edge3d', 'reshade']);

  it('average/correlation equals scipy (linkage(X, "average", metric="correlation"), 25 tasks × 22 targets)', () => {
    const d = taskTree(dict);
    expect(d.labels.length).toBe(25);
    const ref = [
      [8, 9, 0.005425889556385233, 2],
      [1, 2, 0.01665868069276011, 2],
      [11, 14, 0.020509524831201165, 2],
      [17, 18, 0.028486406164840106, 2],
      [0, 22, 0.029132812410756492, 2],
      [25, 27, 0.03214473598896361, 4],
      [4, 13, 0.039505853598409635, 2],
      [16, 28, 0.0755974254166108, 3],
      [3, 10, 0.08382754320319208, 2],
      [15, 30, 0.11269828822351599, 5],
      [29, 33, 0.13819214289585094, 4],
      [21, 31, 0.14721666575152542, 3],
      [7, 32, 0.18000863173465867, 4],
      [20, 34, 0.21174062200379798, 6],
      [36, 37, 0.31949130263258485, 7],
      [26, 38, 0.340464469149463, 8],
      [35, 40, 0.36599539785035495, 12],
      [23, 41, 0.5466167537860033, 13],
      [19, 39, 0.5641102003642265, 8],
      [24, 42, 0.6453021596407713, 14],
      [6, 44, 0.6670041105779931, 15],
      [43, 45, 0.6859024809390862, 23],
      [12, 46, 0.8043135788951826, 24],
      [5, 47, 1.171887014877121, 25],
    ];
    expect(d.merges.map((m) => [m.a, m.b, m.size])).toEqual(ref.map((r) => [r[0], r[1], r[3]]));
    d.merges.forEach((m, i) => expect(Math.abs(m.distance - ref[i][2])).toBeLessThan(1e-12));
    expect(leafOrder(d).map((i) => d.labels[i])).toEqual([
      'denoise',
      'keypoint2d',
      'rgb2sfnorm',
      'segment25d',
      'curvature',
      'keypoint3d',
      'edge3d',
      'reshade',
      'rgb2depth',
      'rgb2mist',
      'edge2d',
      'vanishing_point_well_defined',
      'segmentsemantic_rb',
      'autoencoder',
      'segment2d',
      'colorization',
      'impainting_whole',
      'class_1000',
      'class_selected',
      'room_layout',
      'point_match',
      'ego_motion',
      'fix_pose',
      'jigsaw',
      'non_fixated_pose',
    ]);
  });

  for (const [linkage, distance] of [
    ['average', 'correlation'],
    ['ward', 'euclidean'],
  ] as const) {
    it(`${linkage}/${distance} reproduces the paper figure's top structure (denoise last, the 3D cluster)`, () => {
      const d = taskTree(dict, { linkage, distance });
      const last = d.merges[d.merges.length - 1];
      expect([last.a, last.b].some((id) => d.labels[id] === 'denoise')).toBe(true);
      expect(clusters(d).some((c) => c.size === D3.size && [...D3].every((t) => c.has(t)))).toBe(true);
    });
  }
});
