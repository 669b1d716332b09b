/**
 * Ranking by label-based scores (src/taxonomy/rank.ts, scoreColumns.ts) and the score table (rankTable.ts).
 *
 * The values themselves are the scorers' (tested in test/transferability/); here each number the ranking reports
 * is checked against a direct computeScore call on the same rows, the bootstrap against draws rebuilt in the test
 * from bootstrapSubsets, skipped draws against class counts taken independently from those subsets, and 1-NN
 * leave-one-out accuracy against a brute-force count written here.
 */
import { describe, expect, it } from 'vitest';
import type { Representation } from '../../src/features/types.js';
import type { Matrix } from '../../src/linalg/dense.js';
import { oneBlasThreadEach } from '../../src/linalg/lapack.js';
import { percentile } from '../../src/linalg/resample.js';
import { standardScoreIds } from '../../src/measures/scoreFamilies.js';
import { bootstrapSubsets, rankSources, type RankResult, type Target } from '../../src/taxonomy/rank.js';
import { rankTable, standardRankMeasures } from '../../src/taxonomy/rankTable.js';
import { matchProbabilities } from '../../src/taxonomy/scoreColumns.js';
import { classTarget, computeScore, regressionTarget } from '../../src/transferability/index.js';
import { gaussian } from '../helpers/random.js';

const n = 36;
const CLASSES = ['a', 'b', 'c'];
const labels = Array.from({ length: n }, (_, i) => CLASSES[i % 3]);
const target: Target = { kind: 'labels', labels, labelKind: 'class', label: 'labels.csv' };

/** Features whose first column separates the classes by `sep` (noise elsewhere); seeded. */
function candidate(label: string, p: number, sep: number, seed: number, ys: readonly string[] = labels): Representation {
  const g = gaussian(seed);
  const data = new Float64Array(ys.length * p);
  for (let i = 0; i < ys.length; i++) for (let j = 0; j < p; j++) data[i * p + j] = g() + (j === 0 ? sep * CLASSES.indexOf(ys[i]) : 0);
  return { label, n: ys.length, p, shape: [p], data, source: `test:${label}` };
}

const cands = [candidate('weak', 5, 0.2, 1), candidate('strong', 5, 3, 2), candidate('mid', 7, 1, 3), candidate('none', 4, 0, 4)];

/** Softmax rows from seeded logits that lean towards the true class by `lean`. */
function probabilities(label: string, cs: number, lean: number, seed: number, ys: readonly string[] = labels): Representation {
  const g = gaussian(seed);
  const data = new Float64Array(ys.length * cs);
  for (let i = 0; i < ys.length; i++) {
    let sum = 0;
    for (let z = 0; z < cs; z++) sum += data[i * cs + z] = Math.exp(g() + (z === CLASSES.indexOf(ys[i]) ? lean : 0));
    for (let z = 0; z < cs; z++) data[i * cs + z] /= sum;
  }
  return { label, n: ys.length, p: cs, shape: [cs], data, source: `probs:${label}` };
}

function rows(rep: Representation, idx?: ArrayLike<number>): Matrix {
  const at = idx ?? Array.from({ length: rep.n }, (_, i) => i);
  const data = new Float64Array(at.length * rep.p);
  for (let k = 0; k < at.length; k++) for (let j = 0; j < rep.p; j++) data[k * rep.p + j] = rep.data[at[k] * rep.p + j];
  return { rows: at.length, cols: rep.p, data };
}

/** Brute-force 1-NN leave-one-out accuracy × 100 (Euclidean; inputs here have no tied distances). */
function oneNnAccuracy(rep: Representation, ys: readonly string[]): number {
  let hits = 0;
  for (let i = 0; i < rep.n; i++) {
    let best = Infinity;
    let at = -1;
    for (let j = 0; j < rep.n; j++) {
      if (j === i) continue;
      let d = 0;
      for (let f = 0; f < rep.p; f++) d += (rep.data[i * rep.p + f] - rep.data[j * rep.p + f]) ** 2;
      if (d < best) [best, at] = [d, j];
    }
    if (ys[at] === ys[i]) hits++;
  }
  return (100 * hits) / rep.n;
}

const byLabel = (r: RankResult) => new Map(r.ranking.map((e) => [e.label, e]));

describe('rankSources with a score id', () => {
  it('each candidate is scored by computeScore on its features and the class codes; ranked largest first', async () => {
    for (const id of ['logme', 'hscore', 'logme:solver=icml']) {
      const r = await rankSources(cands, target, { measure: id });
      expect(r.measure).toBe(id);
      expect(r.largerIsMoreSimilar).toBe(true);
      expect(r.target).toMatchObject({
        kind: 'labels',
        label: 'labels.csv',
        features: 3,
        labels: { kind: 'class', encoding: 'codes', classes: CLASSES, counts: [12, 12, 12] },
      });
      const want = await Promise.all(cands.map(async (c) => (await computeScore(id, { features: rows(c), target: classTarget(labels) })).value));
      for (const [k, c] of cands.entries()) expect(byLabel(r).get(c.label)!.score).toBe(want[k]);
      const order = cands.map((c, k) => ({ label: c.label, v: want[k] })).sort((a, b) => b.v - a.v);
      expect(r.ranking.map((e) => e.label)).toEqual(order.map((o) => o.label));
      expect(r.ranking.map((e) => e.rank)).toEqual([1, 2, 3, 4]);
    }
  });

  it('canonicalises the id (defaults left out) and 1-NN accuracy matches a brute-force count', async () => {
    const r = await rankSources(cands, target, { measure: 'knn:k=1' });
    expect(r.measure).toBe('knn');
    for (const c of cands) expect(byLabel(r).get(c.label)!.score).toBeCloseTo(oneNnAccuracy(c, labels), 10);
    // The separating candidate's neighbours share its class more often than the noise candidate's.
    expect(r.ranking[0].label).toBe('strong');
    expect(byLabel(r).get('strong')!.score).toBeGreaterThan(byLabel(r).get('none')!.score + 20);
  });

  it('a regression target: logme ranks by the values; classification-only scores are refused by name', async () => {
    const values = Array.from({ length: n }, (_, i) => String(cands[1].data[i * 5] + 0.1 * Math.sin(i)));
    const reg: Target = { kind: 'labels', labels: values, labelKind: 'regression', label: 'y.csv' };
    const r = await rankSources(cands, reg, { measure: 'logme' });
    expect(r.target.labels).toEqual({ kind: 'regression', encoding: 'value' });
    const want = (await computeScore('logme', { features: rows(cands[1]), target: regressionTarget(values.map(Number)) })).value;
    expect(byLabel(r).get('strong')!.score).toBe(want);
    expect(r.ranking[0].label).toBe('strong');
    await expect(rankSources(cands, reg, { measure: 'hscore' })).rejects.toThrow(
      'hscore: y.csv is a regression target, but H-score scores classification targets only (scores for regression: logme)',
    );
    await expect(rankSources(cands, { ...reg, labels: values.map(() => '2') }, { measure: 'logme' })).rejects.toThrow(
      'y.csv: all 36 regression values are equal (2), so the target has no structure to rank sources by',
    );
    await expect(rankSources(cands, { ...reg, labels: ['x', ...values.slice(1)] }, { measure: 'logme' })).rejects.toThrow(
      'y.csv: regression target of image 0 is "x", not a finite number',
    );
  });

  it('needs a labels target, one label per image, and two classes', async () => {
    await expect(rankSources(cands, { kind: 'member', label: 'mid' }, { measure: 'logme' })).rejects.toThrow(
      'logme is a label-based score: it needs the new task\'s labels as the target (one label per probe image), not a member ("mid")',
    );
    await expect(rankSources(cands, { kind: 'representation', representation: cands[0] }, { measure: 'knn:k=5' })).rejects.toThrow(
      /knn:k=5 is a label-based score: .* not features \(weak\)/,
    );
    await expect(rankSources(cands, { ...target, labels: labels.slice(1) }, { measure: 'logme' })).rejects.toThrow(
      'labels.csv: 35 labels but the candidates have 36 images',
    );
    await expect(rankSources(cands, { ...target, labels: labels.map(() => 'a') }, { measure: 'logme' })).rejects.toThrow(
      'labels.csv: all 36 images have the same class ("a"); a class target needs at least two classes',
    );
    await expect(rankSources(cands, target, { measure: 'logme:solver=newton' })).rejects.toThrow('solver="newton" is not one of fixed-point, icml');
  });

  it('a class too small for the score on all images is an error naming the class; bad features name the candidate', async () => {
    const ys = labels.map((l, i) => (i === 0 ? 'd' : l));
    await expect(rankSources(cands, { ...target, labels: ys }, { measure: 'knn' })).rejects.toThrow(
      'knn: labels.csv: class "d" has 1 image(s); kNN leave-one-out accuracy needs at least 2 per class',
    );
    const bad = { ...cands[2], data: Float64Array.from(cands[2].data, (x, i) => (i === 8 ? Number.NaN : x)) };
    await expect(rankSources([cands[0], bad], target, { measure: 'hscore' })).rejects.toThrow(
      'hscore: mid: value at image 2, column 2 is NaN; inputs must be finite',
    );
  });

  it("--group-by model: each model's best layer by the score", async () => {
    const layered = [
      { ...cands[0], label: 'resnet/block1' },
      { ...cands[1], label: 'resnet/block2' },
      { ...cands[2], label: 'vit/early' },
      { ...cands[3], label: 'vit/late' },
    ];
    const r = await rankSources(layered, target, { measure: 'hscore', groupBy: 'model' });
    const score = (l: string) => byLabel(r).get(l)!.score;
    const bestOf = (a: string, b: string) => (score(a) >= score(b) ? a : b);
    expect(r.groups!.map((g) => g.label).sort()).toEqual([bestOf('resnet/block1', 'resnet/block2'), bestOf('vit/early', 'vit/late')].sort());
    expect(r.groups![0].score).toBe(Math.max(...r.ranking.map((e) => e.score)));
    expect(r.groups!.map((g) => g.model)).toEqual(r.groups![0].model === 'resnet' ? ['resnet', 'vit'] : ['vit', 'resnet']);
  });
});

describe('bootstrap with scores', () => {
  it('the draws are bootstrapSubsets, each scored on its own rows and labels; mean, interval and P(best) over them', async () => {
    const opts = { measure: 'logme', bootstrap: 6, subset: 18, seed: 7, keepDraws: true };
    const r = await rankSources(cands, target, opts);
    expect(r.bootstrap).toMatchObject({ draws: 6, subset: 18, seed: 7, skipped: 0 });
    const subsets = bootstrapSubsets(n, 18, 6, 7);
    for (const [d, idx] of subsets.entries()) {
      const ys = Array.from(idx, (i) => labels[i]);
      for (const [k, c] of cands.entries()) {
        const want = await computeScore('logme', { features: rows(c, idx), target: classTarget(ys) });
        expect(r.draws!.scores[d][k]).toBe(want.value);
      }
    }
    for (const [k, c] of cands.entries()) {
      const v = r.draws!.scores.map((row) => row[k]);
      const e = byLabel(r).get(c.label)!;
      expect(e.mean).toBeCloseTo(v.reduce((a, b) => a + b, 0) / v.length, 14);
      expect(e.ci95).toEqual([percentile(v, 2.5), percentile(v, 97.5)]);
    }
    expect(r.ranking.reduce((a, e) => a + e.pBest!, 0)).toBeCloseTo(1, 12);
    // Same seed, same everything.
    expect(await rankSources(cands, target, opts)).toEqual(r);
  });

  it('a draw in which a class falls below the score’s minimum is skipped for that score and counted', async () => {
    // Class "d" has 3 images: a 12-image draw often holds fewer than 2 of them (kNN needs 2), or none (LogME needs 1).
    const ys = labels.map((l, i) => (i < 3 ? 'd' : l));
    const t: Target = { ...target, labels: ys };
    const draws = 30;
    const subsets = bootstrapSubsets(n, 12, draws, 3);
    // The smallest class count of each draw, over every class of the full target.
    const smallest = subsets.map((idx) => Math.min(...['a', 'b', 'c', 'd'].map((c) => Array.from(idx).filter((i) => ys[i] === c).length)));
    const fewerThan = (min: number) => smallest.map((c, d) => (c < min ? d + 1 : 0)).filter((d) => d > 0);
    expect(fewerThan(2).length).toBeGreaterThan(fewerThan(1).length); // the fixture separates the two rules
    expect(fewerThan(1).length).toBeGreaterThan(0);
    expect(fewerThan(2).length).toBeLessThan(draws);
    for (const [id, min] of [
      ['knn', 2],
      ['logme', 1],
    ] as const) {
      const r = await rankSources(cands, t, { measure: id, bootstrap: draws, subset: 12, seed: 3, keepDraws: true });
      expect(r.bootstrap!.skipped).toBe(fewerThan(min).length);
      expect(r.draws!.skipped).toEqual(fewerThan(min));
      expect(r.draws!.scores.length).toBe(draws - fewerThan(min).length);
      expect(r.bootstrap!.skipReasons!.reduce((a, x) => a + x.draws, 0)).toBe(fewerThan(min).length);
      expect(r.bootstrap!.skipReasons!.map((x) => x.reason)).toContain(
        min === 1 ? 'class "d" has no image in the draw' : 'class "d" has fewer than 2 images in the draw (kNN leave-one-out accuracy needs 2 per class)',
      );
      const used = subsets.filter((_, d) => !fewerThan(min).includes(d + 1));
      // The first used draw is scored on its own rows.
      const want = await computeScore(id, { features: rows(cands[1], used[0]), target: classTarget(Array.from(used[0], (i) => ys[i])) });
      expect(r.draws!.scores[0][1]).toBe(want.value);
      const e = byLabel(r).get(cands[1].label)!;
      const v = r.draws!.scores.map((row) => row[1]);
      expect(e.mean).toBeCloseTo(v.reduce((a, b) => a + b, 0) / v.length, 14);
    }
  });

  it('every draw skipped is an error that says what to change', async () => {
    const ys = labels.map((l, i) => (i < 2 ? 'd' : l));
    await expect(rankSources(cands, { ...target, labels: ys }, { measure: 'knn', bootstrap: 5, subset: 4, seed: 1 })).rejects.toThrow(
      /^knn: all 5 bootstrap draws were skipped \(class "\w" has fewer than 2 images in the draw .*\); use more images per draw than 4, or fewer, larger classes$/,
    );
  });

  it('representation measures report no skipped draws', async () => {
    const r = await rankSources(cands, target, { measure: 'rsa', bootstrap: 3, subset: 12, seed: 1 });
    expect(r.bootstrap).toMatchObject({ skipped: 0 });
    expect(r.bootstrap!.skipReasons).toBeUndefined();
  });
});

describe('class probabilities for LEEP and NCE', () => {
  const layered = [
    { ...cands[1], label: 'resnet/block4' },
    { ...cands[2], label: 'resnet/block3' },
    { ...cands[0], label: 'vit' },
  ];
  const probs = [probabilities('resnet', 5, 2, 11), probabilities('vit', 4, 0.5, 12)];

  it('matching: the exact label, else the model part, else the one member of that model', () => {
    const m = matchProbabilities(layered, probs);
    expect([...m].map(([c, p]) => [c, p.label])).toEqual([
      ['resnet/block4', 'resnet'],
      ['resnet/block3', 'resnet'],
      ['vit', 'vit'],
    ]);
    const exact = probabilities('resnet/block3', 5, 1, 13);
    expect(matchProbabilities(layered, [...probs, exact]).get('resnet/block3')).toBe(exact);
    const own = [probabilities('resnet/softmax', 5, 1, 14)];
    expect(matchProbabilities(layered, own).get('resnet/block4')!.label).toBe('resnet/softmax');
    expect(matchProbabilities(layered, own).has('vit')).toBe(false);
    expect(() => matchProbabilities(layered, [...own, probabilities('resnet/logits', 5, 1, 15)])).toThrow(
      'probabilities: "resnet/softmax" and "resnet/logits" could both be the class probabilities of "resnet/block4"; name the member "resnet" or "resnet/block4"',
    );
    expect(matchProbabilities([{ label: 'a:b' }], [probabilities('a', 3, 1, 1)], ':').get('a:b')!.label).toBe('a');
  });

  it('leep and nce score the matched probabilities', async () => {
    for (const id of ['leep', 'nce']) {
      const r = await rankSources(layered, target, { measure: id, probabilities: probs });
      for (const c of layered) {
        const p = matchProbabilities(layered, probs).get(c.label)!;
        const want = await computeScore(id, { probabilities: rows(p), target: classTarget(labels) });
        expect(byLabel(r).get(c.label)!.score).toBe(want.value);
      }
    }
  });

  it('a candidate without probabilities is an error naming it; so are probabilities on other images', async () => {
    await expect(rankSources(layered, target, { measure: 'leep' })).rejects.toThrow(
      'leep: no class probabilities for candidate "resnet/block4": LEEP (log expected empirical prediction) scores the source model\'s softmax outputs',
    );
    await expect(rankSources(layered, target, { measure: 'nce', probabilities: [probs[0]] })).rejects.toThrow(
      'nce: no class probabilities for candidate "vit"',
    );
    const short = { ...probs[1], n: n - 1, data: probs[1].data.subarray(0, (n - 1) * 4) };
    await expect(rankSources(layered, target, { measure: 'leep', probabilities: [probs[0], short] })).rejects.toThrow(
      'probabilities probs:vit: 35 images, but candidate "vit" has 36; both must be on the target images, in order',
    );
    const logits = { ...probs[1], data: probs[1].data.map((x) => x * 3) };
    await expect(rankSources(layered, target, { measure: 'leep', probabilities: [probs[0], logits] })).rejects.toThrow(
      /leep: vit \(class probabilities probs:vit\): the probabilities of image 1 sum to .*, not 1; pass softmax outputs, not logits/,
    );
  });
});

describe('rankTable (--measure all)', () => {
  it('the standard columns: every standard score (regression: those that rate regression), then rsa and the default dds', () => {
    expect(standardRankMeasures()).toEqual([...standardScoreIds(), 'rsa', 'dds:norm=znorm,kernel=cosine']);
    expect(standardRankMeasures('regression')).toEqual(['logme', 'logme:solver=icml', 'rsa', 'dds:norm=znorm,kernel=cosine']);
  });

  it('each column is the single-measure ranking; rows follow the sort-by column; blank cells come with notes', async () => {
    const layered = cands.map((c, k) => ({ ...c, label: ['m1/a', 'm1/b', 'm2', 'm3'][k] }));
    const probs = [probabilities('m1', 4, 1.5, 21), probabilities('m2', 3, 0.2, 22)];
    const measures = ['knn', 'logme', 'leep', 'rsa', 'dds:kernel=lap'];
    const opts = { bootstrap: 4, subset: 18, seed: 5 };
    const t = await rankTable(layered, target, { ...opts, measures, sortBy: 'logme', probabilities: probs, groupBy: 'model' });
    expect(t.measures).toEqual(['knn', 'logme', 'leep', 'rsa', 'dds:norm=znorm,kernel=lap']);
    expect(t.sortBy).toBe('logme');
    expect(t.columns.map((c) => c.kind)).toEqual(['score', 'score', 'score', 'representation', 'representation']);
    for (const c of t.columns) {
      expect(c.ms).toBeGreaterThanOrEqual(0);
      const alone = await rankSources(c.id === 'leep' ? layered.slice(0, 3) : layered, target, {
        ...opts,
        measure: c.id,
        probabilities: probs,
        groupBy: 'model',
      });
      const { missing: _missing, ...column } = c.result!;
      expect(column).toEqual(alone);
    }
    // m3 has no probabilities: a blank LEEP cell, a note, and its row is kept.
    const logme = t.columns[1].result!.ranking;
    expect(t.rows.map((r) => r.label)).toEqual(logme.map((e) => e.label));
    expect(t.rows.map((r) => r.rank)).toEqual(logme.map((e) => e.rank));
    const m3 = t.rows.find((r) => r.label === 'm3')!;
    expect(m3.values[2]).toBeNull();
    expect(m3.values.filter((v) => v === null)).toHaveLength(1);
    expect(t.columns[2].result!.missing).toEqual([{ label: 'm3', reason: expect.stringContaining('no class probabilities') }]);
    expect(t.notes).toContain(
      "leep: no value for m3 — no class probabilities (the source model's softmax outputs on the target images; give them as a feature set with a member named like the candidate or its model)",
    );
    for (const r of t.rows)
      for (const [j, c] of t.columns.entries()) if (r.values[j] !== null) expect(r.values[j]).toBe(c.result!.ranking.find((e) => e.label === r.label)!.score);
    // Models: the sort-by column's order, each column's own best layer.
    expect(t.groups!.map((g) => g.model)).toEqual(t.columns[1].result!.groups!.map((g) => g.model));
    for (const g of t.groups!)
      for (const [j, c] of t.columns.entries()) expect(g.best[j]?.label ?? null).toBe(c.result!.groups!.find((x) => x.model === g.model)?.label ?? null);
  });

  it('the default table for a class target, and a bad candidate as a blank row with its reason', async () => {
    const bad = { ...cands[3], label: 'broken', data: cands[3].data.map((x, i) => (i === 0 ? Number.POSITIVE_INFINITY : x)) };
    const t = await rankTable([...cands.slice(0, 3), bad], target);
    expect(t.measures).toEqual(standardRankMeasures());
    expect(t.rows).toHaveLength(4);
    // Every blank cell is explained by a note that names its column and candidate.
    for (const r of t.rows) {
      for (const [j, v] of r.values.entries()) {
        if (v !== null) continue;
        const id = t.measures[j];
        expect(
          t.notes.some(
            (note) => (note.split(' — ')[0].split(': ')[0].split(', ').includes(id) && note.includes(r.label)) || note.startsWith(`${id}: not computed`),
          ),
        ).toBe(true);
      }
    }
    // LEEP / NCE without probabilities: blank for every candidate, one note for both.
    expect(t.notes.some((note) => note.startsWith('leep, nce: no value for weak, strong, mid, broken — no class probabilities'))).toBe(true);
    // The infinite feature: blank in every score column, with the input check's message.
    expect(t.notes.some((note) => note.includes('no value for broken') && note.includes('is Infinity; inputs must be finite'))).toBe(true);
  });

  it('a regression target: the regression scores, rsa/dds kept with why they cannot be computed', async () => {
    const values = Array.from({ length: n }, (_, i) => String(i + 0.5 * Math.cos(i)));
    const t = await rankTable(cands, { kind: 'labels', labels: values, labelKind: 'regression', label: 'y.csv' });
    expect(t.measures).toEqual(standardRankMeasures('regression'));
    expect(t.notes[0]).toBe(`classification-only scores left out for a regression target: ${standardScoreIds().slice(2).join(', ')}`);
    expect(t.columns[2].error).toMatch(/a regression target has one value per image, which measure "rsa" cannot use/);
    expect(t.rows.every((r) => r.values[2] === null && r.values[0] !== null)).toBe(true);
  });

  it('on worker threads (TASKMAP_THREADS=2): the same table, values, blank cells, notes and skipped draws as one thread', async () => {
    const layered = cands.map((c, k) => ({ ...c, label: ['m1/a', 'm1/b', 'm2', 'm3'][k] }));
    const bad = { ...cands[3], label: 'broken', data: cands[3].data.map((x, i) => (i === 0 ? Number.NaN : x)) };
    const probs = [probabilities('m1', 4, 1.5, 21), probabilities('m2', 3, 0.2, 22)];
    // 9 images of 3 classes per draw: some draws lack a class, so scores needing 2 per class skip them.
    const opts = { bootstrap: 6, subset: 9, seed: 2, probabilities: probs };
    const strip = (t: Awaited<ReturnType<typeof rankTable>>) => ({
      rows: t.rows,
      notes: t.notes,
      columns: t.columns.map((c) => ({ id: c.id, error: c.error, result: c.result && { ...c.result, timing: undefined } })),
    });
    const before = process.env.TASKMAP_THREADS;
    // Workers use one OpenBLAS thread each; LAPACK's results can differ in the last bit with the thread count, so
    // this thread uses one too while it computes the one-thread reference.
    const restoreBlas = oneBlasThreadEach();
    try {
      process.env.TASKMAP_THREADS = '1';
      const one = await rankTable([...layered, bad], target, opts);
      process.env.TASKMAP_THREADS = '2';
      const two = await rankTable([...layered, bad], target, opts);
      expect(one.rows.find((r) => r.label === 'broken')!.values.slice(0, 3)).toEqual([null, null, null]);
      expect(one.columns.some((c) => (c.result?.bootstrap?.skipped ?? 0) > 0)).toBe(true);
      for (const [j, c] of strip(two).columns.entries()) expect(c, c.id).toEqual(strip(one).columns[j]);
      expect(strip(two)).toEqual(strip(one));
      // A single score, strict: the same values, and the same error for the bad candidate.
      process.env.TASKMAP_THREADS = '2';
      const logme2 = await rankSources(layered, target, { ...opts, measure: 'logme' });
      await expect(rankSources([...layered, bad], target, { ...opts, measure: 'logme' })).rejects.toThrow(/broken.*NaN|NaN.*broken/);
      process.env.TASKMAP_THREADS = '1';
      const logme1 = await rankSources(layered, target, { ...opts, measure: 'logme' });
      expect({ ...logme2, timing: undefined }).toEqual({ ...logme1, timing: undefined });
    } finally {
      restoreBlas();
      if (before === undefined) delete process.env.TASKMAP_THREADS;
      else process.env.TASKMAP_THREADS = before;
    }
  }, 60_000);

  it('refusals: score columns without a labels target, an unknown sort-by, a repeated column', async () => {
    await expect(rankTable(cands, { kind: 'member', label: 'mid' })).rejects.toThrow(
      'the standard score table needs the new task\'s labels as the target (one label per probe image), not a member ("mid")',
    );
    await expect(rankTable(cands, { kind: 'member', label: 'mid' }, { measures: ['rsa', 'logme'] })).rejects.toThrow(
      "logme is a label-based score: it needs the new task's labels as the target",
    );
    await expect(rankTable(cands, target, { measures: ['rsa', 'logme'], sortBy: 'knn' })).rejects.toThrow(
      'sort by "knn": not one of the table\'s measures (rsa, logme)',
    );
    await expect(rankTable(cands, target, { measures: ['logme', 'logme:solver=fixed-point'] })).rejects.toThrow('measure "logme" is in the table twice');
    // Representation measures only: any target, the member left out of the rows.
    const t = await rankTable(cands, { kind: 'member', label: 'mid' }, { measures: ['rsa', 'cka'], sortBy: 'cka' });
    expect(t.rows.map((r) => r.label).sort()).toEqual(['none', 'strong', 'weak']);
    expect(t.target.excluded).toBe('mid');
  });
});
