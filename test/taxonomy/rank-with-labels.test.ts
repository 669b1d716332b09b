/**
 * `taskmap rank --labels`: the candidates ranked by their similarity to the new task's trained network, by a score on
 * its labels, and by the two places summed — each place checked against a brute-force count, each value against a
 * separate run of the same measure or score.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveFeatureSet } from '../../src/features/featureSet.js';
import { writeNpy } from '../../src/io/npy.js';
import type { LabelsRanking } from '../../src/ops/rank.js';
import { runCli } from '../helpers/cli.js';
import { randomRep } from '../helpers/random.js';

const n = 48;
// The new task: 3 classes; its trained network's features carry the class and its own noise.
const classes = Array.from({ length: n }, (_, i) => ['p', 'q', 'r'][i % 3]);
const net = randomRep('net', n, [5], 31);
classes.forEach((c, i) => (net.data[i * 5] += 2 * ['p', 'q', 'r'].indexOf(c)));
// Candidates: one like the network (not the labels beyond it), one that separates the classes on another axis,
// two unrelated, and an exact copy of one of those (ties under every reading).
const like = randomRep('like', n, [5], 32);
like.data.forEach((v, i) => (like.data[i] = net.data[i] + 0.6 * v));
const sep = randomRep('sep', n, [5], 33);
classes.forEach((c, i) => (sep.data[i * 5 + 3] += c === 'q' ? 4 : 0));
const u1 = randomRep('u1', n, [5], 34);
const u2 = randomRep('u2', n, [5], 35);
const copy = { ...u2, label: 'u2-copy', data: Float64Array.from(u2.data) };

/** 1 = best; ties share the mean of their places (brute force). */
function places(values: number[], largerIsBetter: boolean): number[] {
  return values.map((v) => {
    const better = values.filter((w) => (largerIsBetter ? w > v : w < v)).length;
    const ties = values.filter((w) => w === v).length - 1;
    return 1 + better + ties / 2;
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taskmap-rank-labels-'));
  await saveFeatureSet(join(dir, 'set'), { n, members: [like, sep, u1, u2, copy] });
  await saveFeatureSet(join(dir, 'with-net'), { n, members: [net, like, sep, u1] });
  const layer = (label: string, from: typeof like) => ({ ...from, label, data: Float64Array.from(from.data) });
  await saveFeatureSet(join(dir, 'layers'), {
    n,
    members: [layer('m1/near', like), layer('m1/far', u1), layer('m2/sep', sep), layer('m2/a', u2), layer('m2/b', randomRep('b', n, [5], 36))],
  });
  await writeFile(join(dir, 'net.npy'), writeNpy({ dtype: 'float64', shape: [n, 5], data: net.data }));
  await writeFile(join(dir, 'labels.csv'), `label\n${classes.join('\n')}\n`);
  // One image alone in its class: most small bootstrap draws miss it, which a score on draws would have to skip.
  await writeFile(join(dir, 'odd.csv'), classes.map((c, i) => (i === 0 ? 's' : c)).join('\n'));
  await writeFile(join(dir, 'short.csv'), classes.slice(1).join('\n'));
  await writeFile(join(dir, 'values.csv'), classes.map((c, i) => String(['p', 'q', 'r'].indexOf(c) + 0.01 * i)).join('\n'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function ranked(...args: string[]): Promise<Record<string, unknown>> {
  const out = join(dir, `r-${Math.random().toString(36).slice(2)}.json`);
  const r = await runCli('rank', ...args, '--out', out);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(await readFile(out, 'utf8'));
}

/** Every value and place of a LabelsRanking against separate runs of its measure and its score. */
async function checkAgainstSeparateRuns(set: string, target: string, l: LabelsRanking, measureArgs: string[], largerIsMoreSimilar: boolean) {
  const alone = await ranked(set, '--target', target, ...measureArgs);
  const scored = await ranked(
    set,
    '--target',
    join(dir, l.labelKind === 'class' ? 'labels.csv' : 'values.csv'),
    '--measure',
    l.score,
    '--target-kind',
    l.labelKind,
  );
  const simOf = new Map((alone.ranking as { label: string; score: number }[]).map((e) => [e.label, e.score]));
  const scoreOf = new Map((scored.ranking as { label: string; score: number }[]).map((e) => [e.label, e.score]));
  const labels = [...simOf.keys()];
  expect(l.ranking.map((e) => e.label).sort()).toEqual([...labels].sort());
  const sim = labels.map((x) => simOf.get(x)!);
  const score = labels.map((x) => scoreOf.get(x)!);
  const simPlace = places(sim, largerIsMoreSimilar);
  const scorePlace = places(score, true);
  labels.forEach((x, i) => {
    const e = l.ranking.find((r) => r.label === x)!;
    expect(e.similarity).toBe(sim[i]);
    expect(e.score).toBe(score[i]);
    expect(e.similarityPlace).toBe(simPlace[i]);
    expect(e.scorePlace).toBe(scorePlace[i]);
    expect(e.rankSum).toBe(simPlace[i] + scorePlace[i]);
  });
  // Best first by the sum; equal sums share the better rank.
  l.ranking.forEach((e, k) => {
    if (k > 0) expect(e.rankSum).toBeGreaterThanOrEqual(l.ranking[k - 1].rankSum);
    expect(e.rank).toBe(1 + l.ranking.filter((x) => x.rankSum < e.rankSum).length);
  });
}

describe('taskmap rank --labels', () => {
  it('ranks by RSA to the trained network, by LogME on the labels, and by both places summed', async () => {
    const r = await runCli('rank', join(dir, 'set'), '--target', join(dir, 'net.npy'), '--labels', join(dir, 'labels.csv'));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("with the new task's labels");
    expect(r.out).toMatch(/places summed +rsa +place +logme +place/);
    const json = await ranked(join(dir, 'set'), '--target', join(dir, 'net.npy'), '--labels', join(dir, 'labels.csv'));
    const l = json.with_labels as LabelsRanking;
    expect(l.measure).toBe('rsa');
    expect(l.score).toBe('logme');
    expect(l.labelKind).toBe('class');
    expect(l.labels).toBe(join(dir, 'labels.csv'));
    await checkAgainstSeparateRuns(join(dir, 'set'), join(dir, 'net.npy'), l, [], true);
    // The network-like candidate leads RSA, the class-separating one LogME; u2 and its copy tie under both.
    const at = (x: string) => l.ranking.find((e) => e.label === x)!;
    expect(at('like').similarityPlace).toBe(1);
    expect(at('sep').scorePlace).toBe(1);
    expect(at('u2').rankSum).toBe(at('u2-copy').rankSum);
    expect(at('u2').rank).toBe(at('u2-copy').rank);
    expect(at('u2').similarityPlace % 1).toBe(0.5);
    // The similarity ranking itself is unchanged by --labels.
    const alone = await ranked(join(dir, 'set'), '--target', join(dir, 'net.npy'));
    expect(json.ranking).toEqual(alone.ranking);
    // With bootstrap draws the places are still those on all images.
    const drawn = await ranked(join(dir, 'set'), '--target', join(dir, 'net.npy'), '--labels', join(dir, 'labels.csv'), '--bootstrap', '5', '--subset', '24');
    expect((drawn.bootstrap as { draws: number }).draws).toBe(5);
    expect(drawn.with_labels).toEqual(l);
    // …and the score is not drawn at all: with a class of one image, every draw of 4 images that misses it would be
    // skipped by a score on draws (all of them here, an error); on all images it is scored.
    const odd = await ranked(join(dir, 'set'), '--target', join(dir, 'net.npy'), '--labels', join(dir, 'odd.csv'), '--bootstrap', '3', '--subset', '4');
    const oddAlone = await ranked(join(dir, 'set'), '--target', join(dir, 'odd.csv'), '--measure', 'logme');
    for (const e of (odd.with_labels as LabelsRanking).ranking)
      expect(e.score).toBe((oddAlone.ranking as { label: string; score: number }[]).find((x) => x.label === e.label)!.score);
  });

  it('leaves a member target out of every ranking; takes another score, a distance measure and regression labels', async () => {
    const member = (await ranked(join(dir, 'with-net'), '--target', 'net', '--labels', join(dir, 'labels.csv'), '--label-score', 'knn:k=5'))
      .with_labels as LabelsRanking;
    expect(member.score).toBe('knn:k=5');
    expect(member.ranking.map((e) => e.label)).not.toContain('net');
    await checkAgainstSeparateRuns(join(dir, 'with-net'), 'net', member, [], true);
    // Procrustes is a distance: the nearest candidate is placed first.
    const dist = (await ranked(join(dir, 'set'), '--target', join(dir, 'net.npy'), '--measure', 'procrustes', '--labels', join(dir, 'labels.csv')))
      .with_labels as LabelsRanking;
    await checkAgainstSeparateRuns(join(dir, 'set'), join(dir, 'net.npy'), dist, ['--measure', 'procrustes'], false);
    expect(dist.ranking.find((e) => e.label === 'like')!.similarityPlace).toBe(1);
    const reg = (await ranked(join(dir, 'set'), '--target', join(dir, 'net.npy'), '--labels', join(dir, 'values.csv'), '--target-kind', 'regression'))
      .with_labels as LabelsRanking;
    expect(reg.labelKind).toBe('regression');
    await checkAgainstSeparateRuns(join(dir, 'set'), join(dir, 'net.npy'), reg, [], true);
  });

  it('groups model/layer members by model: each model by its layer with the smallest sum of places', async () => {
    const json = await ranked(join(dir, 'layers'), '--target', join(dir, 'net.npy'), '--labels', join(dir, 'labels.csv'), '--group-by', 'model');
    const l = json.with_labels as LabelsRanking;
    // The places are over every layer, as without grouping.
    const plain = (await ranked(join(dir, 'layers'), '--target', join(dir, 'net.npy'), '--labels', join(dir, 'labels.csv'))).with_labels as LabelsRanking;
    expect(l.ranking).toEqual(plain.ranking);
    const best = (model: string) =>
      l.ranking
        .filter((e) => e.label.startsWith(`${model}/`))
        .reduce((a, e) => (e.rankSum < a.rankSum || (e.rankSum === a.rankSum && e.score > a.score) ? e : a));
    const groups = l.groups!;
    expect(groups.map((g) => g.model).sort()).toEqual(['m1', 'm2']);
    for (const g of groups) {
      const b = best(g.model);
      expect(g).toMatchObject({ label: b.label, bestLayer: b.label.split('/')[1], rankSum: b.rankSum, layers: g.model === 'm1' ? 2 : 3 });
      expect(g.rank).toBe(1 + groups.filter((x) => x.rankSum < g.rankSum).length);
    }
    // m1's "near" layer is the network-like one and the class-separating one is m2's: m1/near leads m1.
    expect(groups.find((g) => g.model === 'm1')!.bestLayer).toBe('near');
  });

  it('refuses what it cannot combine, before any work', async () => {
    const set = join(dir, 'set');
    const labels = join(dir, 'labels.csv');
    const cases: [string[], RegExp][] = [
      [['--target', 'like', '--label-score', 'logme'], /--label-score scores the --labels file/],
      [['--target', 'like', '--labels', labels, '--label-score', 'rsa'], /--label-score: "rsa" is not a label-based score/],
      [['--target', 'like', '--labels', labels, '--label-score', 'nonesuch'], /not a label-based score/],
      [['--target', labels, '--labels', labels], /not beside a labels target/],
      [['--target', 'like', '--labels', labels, '--measure', 'all'], /not with a score or "all"/],
      [['--target', 'like', '--labels', join(dir, 'short.csv')], /47 rows, but the feature set has 48 images/],
      [['--target', 'like', '--labels', join(dir, 'values.csv'), '--target-kind', 'regression', '--label-score', 'knn'], /scores classification targets only/],
      [['--target', 'like', '--labels', join(dir, 'net.npy')], /a \.npy holds labels only as regression values/],
      [['--target', 'like', '--labels', join(dir, 'set', 'like.npy').replace(/\.npy$/, '.json')], /a labels file is \.csv or \.txt/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli('rank', set, ...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.err, args.join(' ')).toMatch(message);
    }
  });
});
