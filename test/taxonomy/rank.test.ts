/**
 * Source ranking (src/taxonomy/rank.ts): against the independent Python reference of the bootstrap protocol,
 * against targets whose true order is known by construction, and against hand-worked label-RDM cases.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadFeatureSet } from '../../src/features/featureSet.js';
import type { Representation } from '../../src/features/types.js';
import { rdmMatrix } from '../../src/measures/kernels.js';
import { normalizeFeatures } from '../../src/measures/normalize.js';
import { bootstrapSubsets, rankSources, targetFromLabels, type RankResult, type Target } from '../../src/taxonomy/rank.js';
import { closeMatches } from '../../src/util/names.js';
import { randomRep } from '../helpers/random.js';

interface GoldenCase {
  name: string;
  measure: string;
  target: { kind: 'member'; label: string } | { kind: 'labels'; labels: string[] };
  candidates: string[];
  draws: number;
  subset: number;
  seed: number;
  subsets: number[][];
  full: number[];
  scores: number[][];
  mean: number[];
  ci95: [number, number][];
  pBest: number[];
  ranking: string[];
}
const goldens = JSON.parse(readFileSync(new URL('../fixtures/rank/rank_goldens.json', import.meta.url), 'utf8')) as {
  cases: GoldenCase[];
};
const FIXTURE = new URL('../fixtures/reference/', import.meta.url).pathname;

function rep(label: string, rows: number[][]): Representation {
  const p = rows[0].length;
  return { label, n: rows.length, p, shape: [p], data: Float64Array.from(rows.flat()), source: 'test' };
}

const labelsOf = (r: RankResult) => r.ranking.map((e) => e.label);
const scoreOf = (r: RankResult, label: string) => r.ranking.find((e) => e.label === label)!.score;

describe('rankSources vs the Python reference (test/reference/rank_reference.py)', async () => {
  const set = await loadFeatureSet(FIXTURE);
  for (const c of goldens.cases) {
    it(c.name, async () => {
      const target: Target = c.target.kind === 'member' ? c.target : { kind: 'labels', labels: c.target.labels, labelKind: 'class' };
      const r = await rankSources(set.members, target, {
        measure: c.measure,
        bootstrap: c.draws,
        subset: c.subset,
        seed: c.seed,
        keepDraws: true,
      });
      expect(r.bootstrap).toMatchObject({ draws: c.draws, subset: c.subset, seed: c.seed });
      expect(bootstrapSubsets(set.n, c.subset, c.draws, c.seed).map((s) => Array.from(s))).toEqual(c.subsets);
      expect(labelsOf(r)).toEqual(c.ranking);
      expect(r.draws!.labels).toEqual(c.candidates);
      c.scores.forEach((row, d) => row.forEach((want, k) => expect(Math.abs(r.draws!.scores[d][k] - want)).toBeLessThan(1e-9)));
      c.candidates.forEach((label, k) => {
        const e = r.ranking.find((x) => x.label === label)!;
        expect(Math.abs(e.score - c.full[k])).toBeLessThan(1e-9);
        expect(Math.abs(e.mean! - c.mean[k])).toBeLessThan(1e-9);
        expect(Math.abs(e.ci95![0] - c.ci95[k][0])).toBeLessThan(1e-9);
        expect(Math.abs(e.ci95![1] - c.ci95[k][1])).toBeLessThan(1e-9);
        expect(Math.abs(e.pBest! - c.pBest[k])).toBeLessThan(1e-12);
      });
      // Ranks follow the full-data scores; P(best) is a distribution over the candidates.
      expect(r.ranking.map((e) => e.rank)).toEqual(c.ranking.map((_, i) => i + 1));
      expect(r.ranking.reduce((a, e) => a + e.pBest!, 0)).toBeCloseTo(1, 12);
    });
  }
});

describe('a target built from a known mix of sources ranks them in that order', () => {
  // T = 1·S0 + 0.7·S1 + 0.45·S2 + 0.25·S3 + 0·S4 + 0.2·noise, sources independent Gaussian n × p. Every measure
  // below must rank S0 > S1 > S2 > S3 > S4 (S4 unrelated). Checked over 6 seeds while designing the test: the
  // smallest gap between neighbours was 0.013 (the biased-CKA floor is high, but the order holds).
  const n = 160;
  const p = 16;
  const weights = [1, 0.7, 0.45, 0.25, 0];
  const sources = weights.map((_, k) => randomRep(`s${k}`, n, [p], k));
  const noise = randomRep('noise', n, [p], 999);
  const target: Representation = { ...noise, label: 'target', data: new Float64Array(n * p) };
  for (let i = 0; i < n * p; i++) target.data[i] = 0.2 * noise.data[i] + weights.reduce((s, w, k) => s + w * sources[k].data[i], 0);
  const measures = ['rsa', 'rsa:compare=kendall', 'dds', 'dds:kernel=lap', 'dds:norm=none,kernel=rbf', 'cka', 'cka:debiased', 'cka:kernel=rbf'];

  for (const measure of measures) {
    it(measure, async () => {
      // Candidates in scrambled order so that input order cannot pass for the ranking.
      const shuffled = [sources[3], sources[0], sources[4], sources[2], sources[1]];
      const r = await rankSources(shuffled, { kind: 'representation', representation: target }, { measure });
      expect(labelsOf(r)).toEqual(['s0', 's1', 's2', 's3', 's4']);
      expect(r.ranking.map((e) => e.rank)).toEqual([1, 2, 3, 4, 5]);
      expect(r.bootstrap).toBeNull();
      expect(r.ranking.every((e) => e.mean === null && e.ci95 === null && e.pBest === null)).toBe(true);
    });
  }

  it('with a bootstrap, the dominant source is best in every draw and the intervals are ordered', async () => {
    const r = await rankSources(sources, { kind: 'representation', representation: target }, { measure: 'dds', bootstrap: 20, subset: 80, seed: 3 });
    expect(r.ranking[0]).toMatchObject({ label: 's0', pBest: 1 });
    for (const e of r.ranking) {
      expect(e.ci95![0]).toBeLessThanOrEqual(e.mean!);
      expect(e.mean!).toBeLessThanOrEqual(e.ci95![1]);
    }
    // s0 and s1 are far apart: their intervals do not overlap.
    expect(r.ranking[0].ci95![0]).toBeGreaterThan(r.ranking[1].ci95![1]);
  });
});

describe('bootstrap reproducibility', () => {
  const n = 60;
  const cands = [0, 1, 2].map((k) => randomRep(`c${k}`, n, [10], 50 + k));
  const target: Target = { kind: 'representation', representation: randomRep('t', n, [10], 60) };
  const opts = { measure: 'rsa', bootstrap: 15, subset: 30 };

  it('same seed → identical output; another seed → other draws', async () => {
    const a = await rankSources(cands, target, { ...opts, seed: 11, keepDraws: true });
    const b = await rankSources(cands, target, { ...opts, seed: 11, keepDraws: true });
    const c = await rankSources(cands, target, { ...opts, seed: 12, keepDraws: true });
    expect(b).toEqual(a);
    expect(c.ranking.map((e) => e.score)).toEqual(a.ranking.map((e) => e.score)); // full-data scores do not depend on the seed
    expect(c.draws!.scores).not.toEqual(a.draws!.scores);
    expect(c.ranking.map((e) => e.mean)).not.toEqual(a.ranking.map((e) => e.mean));
  });

  it('defaults: seed 1993, subset min(200, n/2)', async () => {
    const r = await rankSources(cands, target, { measure: 'rsa', bootstrap: 2 });
    expect(r.bootstrap).toMatchObject({ draws: 2, subset: 30, seed: 1993 });
  });

  it('exact ties share P(best) and the rank', async () => {
    const twin = { ...cands[0], label: 'twin' };
    const strong: Target = {
      kind: 'representation',
      representation: { ...cands[0], label: 'near', data: cands[0].data.map((x, i) => x + 0.3 * cands[1].data[i]) },
    };
    const r = await rankSources([cands[0], twin, cands[2]], strong, { measure: 'cka', bootstrap: 10, subset: 30, seed: 1 });
    const [first, second] = r.ranking;
    expect(new Set([first.label, second.label])).toEqual(new Set(['c0', 'twin']));
    expect([first.rank, second.rank, r.ranking[2].rank]).toEqual([1, 1, 3]);
    expect(first.pBest).toBe(0.5);
    expect(second.pBest).toBe(0.5);
  });
});

describe('class labels as the target: the label RDM (hand-worked)', () => {
  // Six images, classes a a b a b a. Candidates are ±v or −2v rows with v = (1, −1, 0): every column already sums
  // to zero and every row has mean zero, so RSA's correlation RDM is 0 within a group and 2 across groups. The
  // Spearman (and Kendall τ-b) of two two-valued vectors is their phi coefficient, from the 2×2 table of the 15
  // image pairs (label: same/different × candidate: same/different):
  //   classes  (a → v, b → −2v): the label RDM itself                                  → 1
  //   evens    ({0,2,4} vs {1,3,5}): both differ 6, label only 2, candidate only 3, neither 4
  //            → (6·4 − 2·3)/√(8·7·9·6) = 18/(12√21) = 3/(2√21) ≈ 0.3273
  //   halves   ({0,1,2} vs {3,4,5}): both 4, label only 4, candidate only 5, neither 2
  //            → (4·2 − 4·5)/(12√21) = −1/√21 ≈ −0.2182
  const labels = ['a', 'a', 'b', 'a', 'b', 'a'];
  const v = [1, -1, 0];
  const neg = (k: number) => v.map((x) => -k * x);
  const classes = rep(
    'classes',
    labels.map((l) => (l === 'a' ? v : neg(2))),
  );
  const halves = rep('halves', [v, v, v, neg(1), neg(1), neg(1)]);
  const evens = rep('evens', [v, neg(1), v, neg(1), v, neg(1)]);
  const target: Target = { kind: 'labels', labels, labelKind: 'class' };

  for (const measure of ['rsa', 'rsa:compare=kendall']) {
    it(measure, async () => {
      const r = await rankSources([halves, evens, classes], target, { measure });
      expect(labelsOf(r)).toEqual(['classes', 'evens', 'halves']);
      expect(scoreOf(r, 'classes')).toBeCloseTo(1, 12);
      expect(scoreOf(r, 'evens')).toBeCloseTo(3 / (2 * Math.sqrt(21)), 12);
      expect(scoreOf(r, 'halves')).toBeCloseTo(-1 / Math.sqrt(21), 12);
      expect(r.target.labels).toMatchObject({ kind: 'class', encoding: 'label-matrix', classes: ['a', 'b'], counts: [4, 2] });
    });
  }

  it('rsa:rdm=euclidean with one feature per image: an ordinal candidate', async () => {
    // x = 0…5: RDM |i − j|. Same-class pairs (7) have distances 1,3,5,2,4,2,2; different-class pairs (8) 2,4,1,3,1,3,1,1.
    // Average ranks of the 15 distances: 1 → 3, 2 → 7.5, 3 → 11, 4 → 13.5, 5 → 15; sums 65 (same) and 55 (different).
    // Label ranks 4 (same) and 11.5 (different). Σ(r_d − 8)(r_L − 8) = −4·(65 − 56) + 3.5·(55 − 64) = −67.5,
    // Σ(r_L − 8)² = 210, Σ(r_d − 8)² = 262.5 → ρ = −67.5/√55125 = −9/(14√5) ≈ −0.2875.
    const ordinal = rep('ordinal', [[0], [1], [2], [3], [4], [5]]);
    const indicator = rep(
      'indicator',
      labels.map((l) => [l === 'b' ? 1 : 0]),
    );
    const r = await rankSources([ordinal, indicator], target, { measure: 'rsa:rdm=euclidean' });
    expect(labelsOf(r)).toEqual(['indicator', 'ordinal']);
    expect(scoreOf(r, 'indicator')).toBeCloseTo(1, 12);
    expect(scoreOf(r, 'ordinal')).toBeCloseTo(-9 / (14 * Math.sqrt(5)), 12);
  });
});

describe('targetFromLabels: encodings and their exactness', () => {
  async function rsaRdm(r: Representation): Promise<number[]> {
    const x = { label: r.label, n: r.n, p: r.p, data: normalizeFeatures(r, 'centering') };
    return Array.from((await rdmMatrix(x, 'correlation')).data);
  }
  /** The distinct RDM values over image pairs i < j, rounded to 1e-9, for each (class, class) pair. */
  async function valuesByClassPair(r: Representation, labels: string[]): Promise<Map<string, Set<number>>> {
    const d = await rsaRdm(r);
    const out = new Map<string, Set<number>>();
    for (let i = 0; i < r.n; i++)
      for (let j = i + 1; j < r.n; j++) {
        const key = [labels[i], labels[j]].sort().join('');
        if (!out.has(key)) out.set(key, new Set());
        out.get(key)!.add(Math.round(d[i * r.n + j] * 1e9) / 1e9);
      }
    return out;
  }

  it('equal class sizes: one-hot, whose centred correlation RDM is 0 / 1 + 1/(C−1) (PARC)', async () => {
    const labels = ['x', 'y', 'z', 'x', 'y', 'z', 'z', 'y', 'x'];
    const t = await targetFromLabels(labels, 'class', { measure: 'rsa' });
    expect(t.labelTarget).toMatchObject({ encoding: 'one-hot', exact: true, classes: ['x', 'y', 'z'], counts: [3, 3, 3] });
    const v = await valuesByClassPair(t, labels);
    for (const [pair, values] of v) expect([...values], pair).toEqual([pair[0] === pair[1] ? 0 : 1.5]);
  });

  it('unequal class sizes: one-hot is NOT two-valued under RSA, the class-weighted simplex is 0 / C/(C−1)', async () => {
    const labels = ['x', 'x', 'x', 'x', 'y', 'y', 'z', 'x', 'y', 'x']; // 6 / 3 / 1
    const onehot = await targetFromLabels(labels, 'class', { measure: 'cka' }); // one-hot is exact for CKA
    expect(onehot.labelTarget).toMatchObject({ encoding: 'one-hot', exact: true });
    const oh = await valuesByClassPair(onehot, labels);
    const between = new Set([...oh].filter(([k]) => k[0] !== k[1]).flatMap(([, s]) => [...s]));
    expect(between.size).toBeGreaterThan(1); // x–y, x–z and y–z differ: PARC's 1 + 1/(C−1) needs equal sizes

    const t = await targetFromLabels(labels, 'class', { measure: 'rsa' });
    expect(t.labelTarget).toMatchObject({ encoding: 'class-weighted-simplex', exact: true, counts: [6, 3, 1] });
    const v = await valuesByClassPair(t, labels);
    for (const [pair, values] of v) expect([...values], pair).toEqual([pair[0] === pair[1] ? 0 : 1.5]);
  });

  it('reports which measures an encoding cannot reproduce', async () => {
    const labels = ['x', 'x', 'x', 'x', 'y', 'y', 'z', 'x', 'y', 'x'];
    const exact = async (measure: string) => (await targetFromLabels(labels, 'class', { measure })).labelTarget.exact;
    expect(await exact('rsa:rdm=euclidean')).toBe(true);
    expect(await exact('rsa:compare=kendall')).toBe(true);
    expect(await exact('dds:norm=none,kernel=rbf')).toBe(true);
    expect(await exact('cka:debiased')).toBe(true);
    // z-scored features with unequal class sizes: no encoding can be exact (see targetFromLabels).
    expect(await exact('dds')).toBe(false);
    expect(await exact('dds:kernel=lap')).toBe(false);
  });

  it('regression: one value per image; refused where only directions count', async () => {
    const t = await targetFromLabels(['1.5', '2', '-3', '0.25', '7'], 'regression', { measure: 'rsa:rdm=euclidean' });
    expect(Array.from(t.data)).toEqual([1.5, 2, -3, 0.25, 7]);
    expect(t.labelTarget).toEqual({ kind: 'regression', encoding: 'value' });
    await expect(targetFromLabels([1, 2, 3, 4], 'regression')).rejects.toThrow(/measure "rsa" cannot use.*only a sign.*rsa:rdm=euclidean/);
    await expect(targetFromLabels([1, 2, 3, 4], 'regression', { measure: 'dds:norm=layer_norm,kernel=linear' })).rejects.toThrow(/turns a single value into 0/);
    await expect(targetFromLabels([1, 2, 'abc', 4], 'regression', { measure: 'cka' })).rejects.toThrow(/image 2 is "abc", not a finite number/);
    await expect(targetFromLabels(['0x1f', 2, 3, 4], 'regression', { measure: 'cka' })).rejects.toThrow(/not a finite number/);
  });

  it('a regression target equal to a candidate scores 1 and ranks first', async () => {
    const y = Array.from({ length: 30 }, (_, i) => Math.sin(i) * 3 + i / 10);
    const same = rep(
      'same',
      y.map((v) => [v]),
    );
    const other = randomRep('other', 30, [4], 8);
    const r = await rankSources([other, same], { kind: 'labels', labels: y, labelKind: 'regression' }, { measure: 'rsa:rdm=euclidean' });
    expect(labelsOf(r)).toEqual(['same', 'other']);
    expect(scoreOf(r, 'same')).toBeCloseTo(1, 12);
  });
});

describe('layer selection (groupBy model)', () => {
  // Target mostly A/l2, then B/l1; A/l1 and B/l2 are weaker mixes; C has no layer part.
  const n = 100;
  const p = 12;
  const base = [0, 1, 2, 3].map((k) => randomRep(`b${k}`, n, [p], 200 + k));
  const mix = (label: string, w: number[]) => ({
    ...base[0],
    label,
    data: base[0].data.map((_, i) => w.reduce((s, wk, k) => s + wk * base[k].data[i], 0)),
  });
  const members = [mix('A/l1', [0.3, 0, 0, 1]), mix('A/l2', [1, 0, 0, 0.2]), mix('B/l1', [0, 1, 0, 0.3]), mix('B/l2', [0, 0.2, 0, 1]), mix('C', [0, 0, 1, 0])];
  const target: Target = { kind: 'representation', representation: mix('new task', [1, 0.6, 0.2, 0]) };

  it("reports each model's best layer and ranks models by it", async () => {
    const r = await rankSources(members, target, { measure: 'cka:debiased', groupBy: 'model', bootstrap: 20, subset: 50, seed: 9 });
    expect(r.groups!.map((g) => [g.model, g.bestLayer, g.layers, g.rank])).toEqual([
      ['A', 'l2', 2, 1],
      ['B', 'l1', 2, 2],
      ['C', '', 1, 3],
    ]);
    for (const g of r.groups!) {
      const best = r.ranking.find((e) => e.label === g.label)!;
      expect([g.score, g.mean, g.ci95]).toEqual([best.score, best.mean, best.ci95]);
      const layers = r.ranking.filter((e) => e.label === g.model || e.label.startsWith(`${g.model}/`));
      expect(g.pBest).toBeCloseTo(
        layers.reduce((a, e) => a + e.pBest!, 0),
        12,
      );
      expect(g.pBestLayer).toBeGreaterThan(0.5);
      expect(g.pBestLayer).toBeLessThanOrEqual(1);
    }
    expect(r.groups![2].pBestLayer).toBe(1); // a single layer is always its model's best
  });

  it('a custom separator; no bootstrap → no intervals', async () => {
    const dotted = members.map((m) => ({ ...m, label: m.label.replace('/', '.') }));
    const r = await rankSources(dotted, target, { measure: 'cka:debiased', groupBy: 'model', separator: '.' });
    expect(r.groups!.map((g) => g.label)).toEqual(['A.l2', 'B.l1', 'C']);
    expect(r.groups![0]).toMatchObject({ mean: null, ci95: null, pBest: null, pBestLayer: null });
  });
});

describe('targets and errors', () => {
  const n = 40;
  const cands = ['alpha', 'beta', 'gamma'].map((l, k) => randomRep(l, n, [8], 300 + k));

  it('a member target is excluded from its candidates; an identical copy given as features is too', async () => {
    const r = await rankSources(cands, { kind: 'member', label: 'beta' }, { measure: 'rsa' });
    expect(labelsOf(r).sort()).toEqual(['alpha', 'gamma']);
    expect(r.target).toMatchObject({ kind: 'member', label: 'beta', excluded: 'beta', features: 8 });
    const copy = { ...cands[1], data: Float64Array.from(cands[1].data) };
    const r2 = await rankSources(cands, { kind: 'representation', representation: copy }, { measure: 'rsa' });
    expect(r2.target.excluded).toBe('beta');
    expect(r2.ranking.map((e) => e.score)).toEqual(r.ranking.map((e) => e.score));
  });

  it('unknown member: lists close matches', async () => {
    await expect(rankSources(cands, { kind: 'member', label: 'gama' }, { measure: 'rsa' })).rejects.toThrow(
      /unknown target "gama" — did you mean "gamma"\? \(members: alpha, beta, gamma\)/,
    );
    expect(closeMatches('Resnet50', ['resnet50/layer1', 'vgg16', 'resnet18'])).toEqual(['resnet50/layer1', 'resnet18']);
    expect(closeMatches('zzz', ['alpha', 'beta'])).toEqual([]);
  });

  it("target image count differs from the candidates'", async () => {
    const t: Target = { kind: 'representation', representation: randomRep('small', 30, [8], 1) };
    await expect(rankSources(cands, t, { measure: 'rsa' })).rejects.toThrow(
      /target small has 30 images but the candidates have 40: the target must be computed on the same probe images/,
    );
    await expect(rankSources(cands, { kind: 'labels', labels: ['a', 'b', 'a'], labelKind: 'class' }, { measure: 'rsa' })).rejects.toThrow(
      /3 labels but the candidates have 40 images/,
    );
  });

  it('constant targets', async () => {
    const flat = { ...cands[0], label: 'flat', data: new Float64Array(n * 8).map((_, i) => i % 8) };
    await expect(rankSources(cands, { kind: 'representation', representation: flat }, { measure: 'rsa' })).rejects.toThrow(
      /target flat is constant: every image has the same features/,
    );
    const one = new Array<string>(n).fill('cat');
    await expect(rankSources(cands, { kind: 'labels', labels: one, labelKind: 'class' }, { measure: 'rsa' })).rejects.toThrow(
      /all 40 images have the same class \("cat"\); a class target needs at least two classes/,
    );
    await expect(rankSources(cands, { kind: 'labels', labels: new Array(n).fill(2.5), labelKind: 'regression' }, { measure: 'cka' })).rejects.toThrow(
      /all 40 regression values are equal \(2.5\)/,
    );
  });

  it('bad bootstrap options fail before any work', async () => {
    const t: Target = { kind: 'member', label: 'alpha' };
    await expect(rankSources(cands, t, { measure: 'rsa', bootstrap: 5, subset: 40 })).rejects.toThrow(/subset must be a whole number from 4 to 39/);
    await expect(rankSources(cands, t, { measure: 'rsa', bootstrap: 5, subset: 3 })).rejects.toThrow(/from 4 to 39/);
    await expect(rankSources(cands, t, { measure: 'rsa', bootstrap: 1.5 })).rejects.toThrow(/whole number/);
    await expect(rankSources(cands, t, { measure: 'rsa', seed: 4 })).rejects.toThrow(/only apply with bootstrap/);
    await expect(rankSources(cands, t, { measure: 'rsa', bootstrap: 2, seed: -1 })).rejects.toThrow(/seed must be an integer/);
    await expect(rankSources(cands, { kind: 'member', label: 'nope' }, { measure: 'rsa', bootstrap: 2, subset: 99 })).rejects.toThrow(/subset/);
  });

  it('a draw that cannot be scored names the draw', async () => {
    // Two images of class b among 40: some 8-image subsets hold only class a.
    const labels = Array.from({ length: n }, (_, i) => (i < 2 ? 'b' : 'a'));
    await expect(rankSources(cands, { kind: 'labels', labels, labelKind: 'class' }, { measure: 'rsa', bootstrap: 20, subset: 8, seed: 1 })).rejects.toThrow(
      /bootstrap draw \d+ of 20 \(seed 1, 8 images\): labels: all 8 images have the same class \("a"\)/,
    );
  });

  it('duplicate candidate labels and an empty candidate list', async () => {
    await expect(rankSources([cands[0], { ...cands[1], label: 'alpha' }], { kind: 'member', label: 'alpha' }, { measure: 'rsa' })).rejects.toThrow(
      /two candidates are labelled "alpha"/,
    );
    await expect(rankSources([], { kind: 'member', label: 'alpha' }, { measure: 'rsa' })).rejects.toThrow(/no candidate sources/);
    await expect(rankSources([cands[0]], { kind: 'member', label: 'alpha' }, { measure: 'rsa' })).rejects.toThrow(/no candidate sources left/);
  });
});
