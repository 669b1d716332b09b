/**
 * Ranking against labels with a pairwise family (src/taxonomy/rank.ts, pairwiseLabelTarget): the labels become their
 * one-hot encoding (regression: the values as one feature), and every candidate is compared with it through the
 * family itself — so each score must equal the family computed directly against an explicit one-hot matrix.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { saveFeatureSet } from '../../src/features/featureSet.js';
import type { Representation } from '../../src/features/types.js';
import { describeMeasure } from '../../src/measures/registry.js';
import { pairSimilarity } from '../../src/measures/similarity.js';
import { bootstrapSubsets, rankSources, subsetImages, type Target } from '../../src/taxonomy/rank.js';
import { runCli } from '../helpers/cli.js';
import { randomOrthogonal, randomRep } from '../helpers/random.js';

const n = 15;
// Unequal classes (6, 5, 4), in an order that is not sorted, so that the encoding's column order matters not.
const labels = ['b', 'a', 'c', 'a', 'b', 'a', 'c', 'b', 'a', 'c', 'a', 'b', 'c', 'a', 'b'];
const classes = ['a', 'b', 'c'];
const target: Target = { kind: 'labels', labels, labelKind: 'class', label: 'task' };

function rep(label: string, p: number, data: Float64Array): Representation {
  return { label, n: data.length / p, p, shape: [p], data, source: 'test' };
}

/** The explicit n × C one-hot matrix of `ls` (columns in the order of `classes`). */
function oneHot(ls: readonly string[]): Representation {
  const present = classes.filter((c) => ls.includes(c));
  const data = new Float64Array(ls.length * present.length);
  ls.forEach((l, i) => (data[i * present.length + present.indexOf(l)] = 1));
  return rep('one-hot', present.length, data);
}

/** The one-hot labels zero-padded to 5 features, rotated by a random orthogonal Q, scaled by 2.5 and shifted by 7. */
function rotatedLabels(seed: number): Representation {
  const p = 5;
  const q = randomOrthogonal(p, seed);
  const x = oneHot(labels);
  const data = new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) {
      let s = 0;
      for (let k = 0; k < x.p; k++) s += x.data[i * x.p + k] * q[k * p + j];
      data[i * p + j] = 2.5 * s + 7;
    }
  }
  return rep('labels-rotated', p, data);
}

// Random candidates, and one that separates the classes partly (class mean shifts on top of noise).
const noise = randomRep('noise', n, [4], 11);
const partial = randomRep('partial', n, [4], 12);
labels.forEach((l, i) => (partial.data[i * 4 + classes.indexOf(l)] += 2));
const wide = randomRep('wide', n, [13], 13);

describe('rank against labels with a pairwise family', () => {
  it.each(['procrustes', 'cca:ridge=0.1', 'dcor'])('%s: every score equals the family against the explicit one-hot matrix', async (measure) => {
    const cands = [noise, partial, rotatedLabels(3)];
    const r = await rankSources(cands, target, { measure });
    const y = oneHot(labels);
    for (const c of cands) {
      const got = r.ranking.find((e) => e.label === c.label)!.score;
      expect(got).toBe(await pairSimilarity(c, y, measure));
    }
    expect(r.target).toMatchObject({ kind: 'labels', label: 'task', features: 3, labels: { kind: 'class', encoding: 'one-hot', classes, counts: [6, 5, 4] } });
  });

  it('regression values are one feature per image', async () => {
    const values = labels.map((_, i) => Math.sin(i) * 3 + i);
    const r = await rankSources([noise, partial], { kind: 'labels', labels: values, labelKind: 'regression' }, { measure: 'procrustes' });
    const y = rep('values', 1, Float64Array.from(values));
    for (const c of [noise, partial]) expect(r.ranking.find((e) => e.label === c.label)!.score).toBe(await pairSimilarity(c, y, 'procrustes'));
    expect(r.target).toMatchObject({ features: 1, labels: { kind: 'regression', encoding: 'value' } });
  });

  it.each([3, 4, 5])('the rotated, scaled and shifted one-hot labels rank first with procrustes distance ≈ 0 (seed %i)', async (seed) => {
    const r = await rankSources([noise, rotatedLabels(seed), partial], target, { measure: 'procrustes' });
    expect(r.ranking[0].label).toBe('labels-rotated');
    expect(r.ranking[0].score).toBeLessThan(1e-6);
    // Outside the invariance group it is not zero.
    expect(r.ranking[1].score).toBeGreaterThan(0.1);
  });

  it.each([
    ['procrustes', false],
    ['shape:alpha=1', false],
    ['cca:ridge=0.1', true],
    ['dcor', true],
  ] as const)('%s keeps its direction: larger is more similar = %s', async (measure, larger) => {
    expect(describeMeasure(measure).largerIsMoreSimilar).toBe(larger);
    const r = await rankSources([noise, partial, rotatedLabels(4)], target, { measure });
    expect(r.largerIsMoreSimilar).toBe(larger);
    const scores = r.ranking.map((e) => e.score);
    const sorted = scores.slice().sort((a, b) => (larger ? b - a : a - b));
    expect(scores).toEqual(sorted);
    // The labels themselves are most similar, then the candidate that separates the classes, then noise.
    expect(r.ranking.map((e) => e.label)).toEqual(['labels-rotated', 'partial', 'noise']);
    expect(r.ranking.map((e) => e.rank)).toEqual([1, 2, 3]);
  });

  it('bootstrap draws recompute the one-hot target from each subset’s labels', async () => {
    const [draws, subset, seed] = [4, 9, 21];
    const r = await rankSources([noise, partial], target, { measure: 'procrustes', bootstrap: draws, subset, seed, keepDraws: true });
    const subsets = bootstrapSubsets(n, subset, draws, seed);
    for (let d = 0; d < draws; d++) {
      const idx = subsets[d];
      const y = oneHot(Array.from(idx, (i) => labels[i]));
      const want = await Promise.all([noise, partial].map((c) => pairSimilarity(subsetImages(c, idx), y, 'procrustes')));
      expect(r.draws!.scores[d]).toEqual(want);
    }
  });

  it('a family that cannot apply says why, naming the candidate', async () => {
    // 13 features on 15 images: rank 13 + the labels' centred rank 2 > 14, so unregularised CCA refuses.
    await expect(rankSources([partial, wide], target, { measure: 'cca' })).rejects.toThrow(
      /cca: wide has rank 13 and task rank 2 on 15 images; .*Regularise \(e\.g\. cca:ridge=0\.1\)/,
    );
    // Labels of a single class in all images are refused by name, as for every measure.
    await expect(rankSources([partial], { kind: 'labels', labels: labels.map(() => 'a'), labelKind: 'class' }, { measure: 'procrustes' })).rejects.toThrow(
      /labels: all 15 images have the same class \("a"\)/,
    );
  });

  it('taskmap rank --target labels.csv --measure procrustes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'taskmap-rank-pairwise-'));
    try {
      await saveFeatureSet(join(dir, 'set'), { n, members: [noise, partial, rotatedLabels(3)] });
      await writeFile(join(dir, 'labels.csv'), `${labels.join('\n')}\n`);
      const r = await runCli('rank', join(dir, 'set'), '--target', join(dir, 'labels.csv'), '--measure', 'procrustes');
      expect(r.code).toBe(0);
      expect(r.out.split('\n')[0]).toContain(`procrustes · target: class labels ${join(dir, 'labels.csv')} (3 classes; one-hot)`);
      const rows = r.out.split('\n').filter((l) => /labels-rotated|partial|noise/.test(l));
      expect(rows.map((l) => l.match(/labels-rotated|partial|noise/)![0])).toEqual(['labels-rotated', 'partial', 'noise']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
