import { describe, expect, it } from 'vitest';
import {
  evaluateTaskbank,
  measureViaTransfersScore,
  sourcePriorScore,
  spearmanBrown,
  type ProbeFeatures,
  type TaskbankEvalInput,
  type TaskbankTaskInfo,
} from '../../src/benchmark/taskbankEval.js';
import { spearman } from '../../src/linalg/correlation.js';
import { mulberry32 } from '../../src/linalg/resample.js';
import { ahpAffinities } from '../../src/taskonomy/ahp.js';
import type { ResultDict } from '../../src/taskonomy/results.js';
import { lossTables, tournamentOf, type LossRecord } from '../../src/taskonomy/winrates.js';

/**
 * A synthetic bank of 12 tasks in 4 families of 3, built so the answers are known by construction:
 * - losses: on every test image the fully trained network (`self`) beats the task's own encoder, which beats every
 *   other encoder of its family, which beats every encoder of another family, which beats `random` and `pixels`
 *   (the noise, 0.3 wide, never crosses a gap of ≥ 0.1 + 0.3);
 * - probe features: an encoder of family f is a random linear map of f's own latent factors plus small noise, so
 *   encoders of one family share their representational geometry and encoders of different families share none.
 */
const FAMILIES = ['low-level', '2d', 'global', 'semantic'];
const TASKS: TaskbankTaskInfo[] = FAMILIES.flatMap((f, k) => [0, 1, 2].map((i) => ({ id: `${f}-${i}`, family: FAMILIES[k] })));

function randn(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

function bankLosses(tasks: TaskbankTaskInfo[], images: number, seed: number): LossRecord[] {
  const r = mulberry32(seed);
  const family = new Map(tasks.map((t) => [t.id, t.family]));
  const out: LossRecord[] = [];
  for (const { id: t } of tasks) {
    const level = (s: string) => (s === 'self' ? 0.5 : s === t ? 0.9 : s === 'pixels' ? 3 : s === 'random' ? 3.5 : family.get(s) === family.get(t) ? 1.3 : 2);
    for (const s of [...tasks.map((x) => x.id), 'pixels', 'random', 'self'])
      for (let i = 0; i < images; i++) out.push({ target: t, source: s, image: `img${i}`, loss: level(s) + 0.3 * r() });
  }
  return out;
}

/** Encoder features from family latents; `latentOf` overrides which latent (a family's, or a new one by name) a task's encoder reads. */
function bankFeatures(tasks: TaskbankTaskInfo[], n: number, seed: number, latentOf: Record<string, string> = {}): Map<string, ProbeFeatures> {
  const r = mulberry32(seed);
  const q = 5;
  const d = 16;
  const latent = new Map(FAMILIES.map((f) => [f, Float64Array.from({ length: n * q }, () => randn(r))]));
  const out = new Map<string, ProbeFeatures>();
  for (const t of tasks) {
    const key = latentOf[t.id] ?? t.family;
    if (!latent.has(key))
      latent.set(
        key,
        Float64Array.from({ length: n * q }, () => randn(r)),
      );
    const z = latent.get(key)!;
    const w = Float64Array.from({ length: q * d }, () => randn(r));
    const data = new Float32Array(n * d);
    for (let i = 0; i < n; i++)
      for (let c = 0; c < d; c++) {
        let v = 0.1 * randn(r);
        for (let k = 0; k < q; k++) v += z[i * q + k] * w[k * d + c];
        data[i * d + c] = v;
      }
    out.set(t.id, { data, n, d });
  }
  return out;
}

function input(seed = 1, extra: Partial<TaskbankEvalInput> = {}): TaskbankEvalInput {
  // No reliability halvings unless a test asks (each is two more Taskonomy evaluations).
  return {
    tasks: TASKS,
    losses: bankLosses(TASKS, 30, seed),
    probeFeatures: bankFeatures(TASKS, 60, seed + 100),
    budgets: [1, 4],
    permutations: 0,
    reliabilitySplits: 0,
    ...extra,
  };
}

describe('evaluateTaskbank on a bank with known families', () => {
  it('recovers the families from the measured affinities and from every measure', async () => {
    const e = await evaluateTaskbank(input());
    expect(e.families).toEqual(FAMILIES);
    expect(e.images).toBe(30);
    expect(e.probeImages).toBe(60);
    expect(e.sources).toEqual([...TASKS.map((t) => t.id), 'pixels', 'random', 'self']);
    // Measured tree: transfer-out patterns are family blocks, so the cut into 4 is the families.
    expect(e.tree.from).toBe('affinities');
    expect(e.tree.recovery.adjustedRandIndex).toBe(1);
    expect(e.tree.recovery.nearestNeighbourAgreement).toBe(1);
    expect(e.tree.recovery.k).toBe(4);
    // (3 − 1)/(12 − 1): each task's 2 family mates among 11 others.
    expect(e.tree.recovery.chance).toBeCloseTo(2 / 11, 12);
    expect(e.chance.nearestNeighbourAgreement).toBeCloseTo(2 / 11, 12);
    for (const m of e.measures) {
      expect(m.error).toBeUndefined();
      expect(m.taxonomy!.recovery.adjustedRandIndex).toBe(1);
      expect(m.taxonomy!.recovery.nearestNeighbourAgreement).toBe(1);
      // Same-family sources have both the larger similarity and the larger affinity, and the other 8 sources are in
      // no order on either side: over 10 ranks that split 2 / 8 carries 40 of the 82.5 rank sum of squares, so the
      // expected Spearman is ≈ 0.48 — clearly positive, well short of 1.
      expect(m.spearman!.mean!).toBeGreaterThan(0.3);
      // The self entry (similarity 1, and t's own encoder is its best task source) only adds concordant pairs.
      expect(m.spearmanWithSelf!.mean!).toBeGreaterThan(m.spearman!.mean!);
      expect(Object.keys(m.spearman!.perTarget)).toEqual(TASKS.map((t) => t.id));
      expect(m.members).toEqual(TASKS.map((t) => t.id));
    }
    expect(e.measures.map((m) => m.measure)).toEqual(['rsa', 'dds:norm=znorm,kernel=cosine', 'cka']);
  });

  it('reads Gain, Quality and the best source as the losses were built', async () => {
    const e = await evaluateTaskbank(input(2));
    for (const t of e.targets) {
      // Every task encoder beats pixels on every image; none beats self; self beats pixels everywhere.
      expect(t.best.gain).toBe(1);
      expect(t.best.quality).toBe(0);
      expect(t.own.quality).toBe(0);
      expect(t.self.gain).toBe(1);
      expect(t.random!.gain).toBe(0);
      expect(TASKS.find((x) => x.id === t.best.source)!.family).toBe(t.family);
      expect(t.best.source).not.toBe(t.target);
      expect(t.meanLoss.self).toBeGreaterThan(0.5);
      expect(t.meanLoss.self).toBeLessThan(0.8);
      // AHP affinities of one target sum to 1 over the candidates (pixels left out).
      const sum = [...TASKS.map((x) => x.id), 'random', 'self'].reduce((a, s) => a + e.affinities[`${s}__${t.target}`], 0);
      expect(sum).toBeCloseTo(1, 10);
      expect(e.affinities[`pixels__${t.target}`]).toBeUndefined();
    }
    // Budgets as asked; the full policy within budget 4 supervises at most 4 tasks.
    expect(e.policy.budgets).toEqual([1, 4]);
    expect(e.policy.rows.map((r) => r.budget)).toEqual([1, 4]);
    expect(e.policy.rows[1].supervised.length).toBeLessThanOrEqual(4);
    expect(e.policy.rows[1].objective!).toBeGreaterThanOrEqual(e.policy.rows[0].objective!);
  });

  it('sweeps every budget 1 … tasks by default, all supervised at the top', async () => {
    const e = await evaluateTaskbank({ ...input(3), budgets: undefined, measures: ['cka'] });
    expect(e.policy.budgets).toEqual(TASKS.map((_, i) => i + 1));
    const top = e.policy.rows[e.policy.rows.length - 1];
    expect(top.supervised.length).toBe(12);
    // A supervised task's Quality is 0.5 by definition.
    expect(top.meanQuality).toBe(0.5);
  });

  it('gives the ARI of a hand-worked partition when one encoder reads another family', async () => {
    // low-level-2's encoder reads the 2d latent: the cut is {ll0, ll1}, {2d ×3, ll2}, global, semantic.
    // Contingency (rows clusters, cols families): [2,0,0,0],[1,3,0,0],[0,0,3,0],[0,0,0,3]; Σ C(n_ij,2) = 1+3+3+3 = 10,
    // clusters Σ C(a,2) = 1+6+3+3 = 13, families Σ C(b,2) = 12, C(12,2) = 66, E = 13·12/66 = 26/11;
    // ARI = (10 − 26/11) / (25/2 − 26/11) = (84/11) / (223/22) = 168/223.
    const e = await evaluateTaskbank({ ...input(4), probeFeatures: bankFeatures(TASKS, 60, 104, { 'low-level-2': '2d' }), measures: ['rsa', 'cka'] });
    for (const m of e.measures) {
      expect(m.taxonomy!.recovery.adjustedRandIndex).toBeCloseTo(168 / 223, 12);
      expect(m.taxonomy!.recovery.nearestNeighbourAgreement).toBeLessThan(1);
    }
    // The measured side did not change.
    expect(e.tree.recovery.adjustedRandIndex).toBe(1);
  });

  it('puts the family bank far above its permutation null, and a bank without shared structure inside it', async () => {
    const e = await evaluateTaskbank({ ...input(6), measures: ['rsa'], permutations: 100, seed: 3 });
    const n = e.measures[0].spearmanNull!;
    expect(n.draws).toBe(100);
    expect(n.seed).toBe(3);
    expect(n.q95).toBeLessThan(e.measures[0].spearman!.mean!);
    expect(n.p).toBeCloseTo(1 / 101, 12);
    // Through the other targets' transfers, the family-aligned weights beat the same weights on shuffled targets.
    const via = e.measures[0].viaTransfersNull!;
    expect(via.draws).toBe(100);
    expect(via.q95).toBeLessThan(e.measures[0].viaTransfers!.mean!);
    expect(via.p).toBeCloseTo(1 / 101, 12);
    // Every encoder reads its own latent: the similarities carry no family information.
    const own = Object.fromEntries(TASKS.map((t) => [t.id, t.id]));
    // Under the null p is uniform, so each seed's p only has to stay clear of the family bank's 1/101.
    for (const seed of [106, 107, 108]) {
      const flat = await evaluateTaskbank({ ...input(6), probeFeatures: bankFeatures(TASKS, 60, seed, own), measures: ['rsa'], permutations: 100, seed: 3 });
      expect(flat.measures[0].spearmanNull!.p).toBeGreaterThan(0.01);
      expect(flat.measures[0].viaTransfersNull!.p).toBeGreaterThan(0.01);
    }
    await expect(evaluateTaskbank({ ...input(6), permutations: -1 })).rejects.toThrow('permutations must be a whole number ≥ 0, got -1');
    const none = (await evaluateTaskbank({ ...input(6), measures: ['rsa'] })).measures[0];
    expect(none.spearmanNull).toBeNull();
    expect(none.viaTransfersNull).toBeNull();
  });

  it('bounds each mean Spearman by resampling the test images: no interval when every image ranks the sources alike, a seeded one otherwise', async () => {
    // Losses that do not depend on the image: every draw rebuilds the same tournaments, so the interval is the point.
    const base = bankLosses(TASKS, 30, 7);
    const first = new Map(base.filter((l) => l.image === 'img0').map((l) => [`${l.target}|${l.source}`, l.loss]));
    const sameEverywhere = base.map((l) => ({ ...l, loss: first.get(`${l.target}|${l.source}`)! }));
    const still = await evaluateTaskbank({ ...input(7), losses: sameEverywhere, measures: ['rsa'], imageDraws: 25 });
    const point = still.measures[0].spearman!.mean!;
    expect(still.measures[0].spearmanInterval).toEqual({ draws: 25, seed: 0, unit: 'image', low: point, high: point });
    // Noisy losses: the interval has width, holds the point, and is the same for the same seed.
    const a = await evaluateTaskbank({ ...input(8), measures: ['rsa', 'cka'], imageDraws: 40, seed: 5 });
    const b = await evaluateTaskbank({ ...input(8), measures: ['rsa', 'cka'], imageDraws: 40, seed: 5 });
    for (const [i, m] of a.measures.entries()) {
      const iv = m.spearmanInterval!;
      expect(iv.draws).toBe(40);
      expect(iv.high).toBeGreaterThan(iv.low);
      expect(iv.low).toBeLessThanOrEqual(m.spearman!.mean! + 1e-12);
      expect(iv.high).toBeGreaterThanOrEqual(m.spearman!.mean! - 1e-12);
      expect(b.measures[i].spearmanInterval).toEqual(iv);
    }
    expect((await evaluateTaskbank({ ...input(8), measures: ['rsa'], imageDraws: 0 })).measures[0].spearmanInterval).toBeNull();
    // A target scored on other images than the rest draws its own: one image of its own, every other target none of it.
    const odd = bankLosses(TASKS, 30, 8).map((l) => (l.target === TASKS[0].id && l.image === 'img0' ? { ...l, image: 'only-here' } : l));
    const own = (await evaluateTaskbank({ ...input(8), losses: odd, measures: ['rsa'], imageDraws: 30 })).measures[0].spearmanInterval!;
    expect(own.draws).toBe(30);
    expect(Number.isFinite(own.low) && Number.isFinite(own.high)).toBe(true);
    await expect(evaluateTaskbank({ ...input(8), imageDraws: 1.5 })).rejects.toThrow('imageDraws must be a whole number ≥ 0, got 1.5');
  });

  it('judges a label score like a measure: the affinities themselves score 1, reversed −1, a target without scores is left out', async () => {
    const ids = TASKS.map((t) => t.id);
    const aff = (await evaluateTaskbank({ ...input(10), measures: ['rsa'], imageDraws: 0 })).affinities;
    const scored = ids.slice(1);
    const flipped = scored[0];
    const values = Object.fromEntries(scored.map((t) => [t, Object.fromEntries(ids.map((s) => [s, (t === flipped ? -1 : 1) * aff[`${s}__${t}`]]))]));
    const e = await evaluateTaskbank({
      ...input(10),
      measures: ['rsa'],
      imageDraws: 12,
      permutations: 200,
      labelScores: [{ score: 'logme', labelled: 30, values }],
    });
    const l = e.labelScores![0];
    expect(e.labelScores).toHaveLength(1);
    expect(l).toMatchObject({ score: 'logme', againstLabels: false, name: expect.stringContaining('LogME'), labelled: 30, targets: scored });
    for (const t of scored) {
      expect(l.spearman.perTarget[t]).toBeCloseTo(t === flipped ? -1 : 1, 12);
      expect(l.spearmanWithSelf.perTarget[t]).toBeCloseTo(t === flipped ? -1 : 1, 12);
    }
    expect(l.spearman.perTarget[ids[0]]).toBeUndefined();
    expect(l.spearman.mean).toBeCloseTo((scored.length - 2) / scored.length, 12);
    // Scores shuffled over the sources within each target: far below.
    expect(l.spearmanNull!.draws).toBe(200);
    expect(l.spearmanNull!.p).toBeCloseTo(1 / 201, 12);
    expect(l.spearmanNull!.q95).toBeLessThan(0.5);
    // The test-image bootstrap draws it with the measures.
    expect(l.spearmanInterval!.draws).toBe(12);
    expect(l.spearmanInterval!.low).toBeLessThanOrEqual(l.spearmanInterval!.high);
    // Bad input names what is wrong.
    await expect(
      evaluateTaskbank({ ...input(10), measures: ['rsa'], imageDraws: 0, labelScores: [{ score: 'logme', labelled: 30, values: { ...values, nowhere: {} } }] }),
    ).rejects.toThrow('label scores: "nowhere" is not a task of the bank');
    const { [ids[2]]: _gone, ...missing } = values[flipped];
    await expect(
      evaluateTaskbank({
        ...input(10),
        measures: ['rsa'],
        imageDraws: 0,
        labelScores: [{ score: 'logme', labelled: 30, values: { ...values, [flipped]: missing } }],
      }),
    ).rejects.toThrow(`label scores: source ${ids[2]} on target ${flipped} has no finite score (got undefined)`);
    expect((await evaluateTaskbank({ ...input(10), measures: ['rsa'], imageDraws: 0 })).labelScores).toBeUndefined();
  });

  it('sums the label score’s and each similarity’s ranks: the similarity itself gives the similarity’s scores, its reverse a tie', async () => {
    const ids = TASKS.map((t) => t.id);
    const first = await evaluateTaskbank({ ...input(11), measures: ['rsa'], imageDraws: 0 });
    const m = first.measures[0];
    const sim = (s: string, t: string) => m.similarity[m.members.indexOf(s)][m.members.indexOf(t)];
    const scored = ids.slice(2);
    const values = (sign: number) => Object.fromEntries(scored.map((t) => [t, Object.fromEntries(ids.map((s) => [s, sign * sim(s, t)]))]));
    const same = await evaluateTaskbank({ ...input(11), measures: ['rsa'], imageDraws: 0, labelScores: [{ score: 'logme', labelled: 30, values: values(1) }] });
    const combined = same.labelScores![0].withSimilarity!;
    expect(combined.map((c) => c.measure)).toEqual(['rsa']);
    for (const t of scored) expect(combined[0].spearman.perTarget[t]).toBeCloseTo(m.spearman!.perTarget[t]!, 12);
    expect(combined[0].spearman.perTarget[ids[0]]).toBeUndefined();
    // Reversed, every source's two ranks sum to the same number: no ranking, so no Spearman for any target.
    const reversed = await evaluateTaskbank({
      ...input(11),
      measures: ['rsa'],
      imageDraws: 0,
      labelScores: [{ score: 'logme', labelled: 30, values: values(-1) }],
    });
    const tie = reversed.labelScores![0].withSimilarity![0].spearman;
    expect(tie.mean).toBeNull();
    expect(tie.undefinedTargets).toEqual(scored);
  });

  it('judges several label scores: a measure on the labels by its id (a distance turned around), each pair with ranks summed', async () => {
    const ids = TASKS.map((t) => t.id);
    const aff = (await evaluateTaskbank({ ...input(12), measures: ['rsa'], imageDraws: 0 })).affinities;
    const scored = ids.slice(1);
    // A transferability score that is the affinities, a similarity that is too, and a distance that is their negative.
    const values = (sign: number) => Object.fromEntries(scored.map((t) => [t, Object.fromEntries(ids.map((s) => [s, sign * aff[`${s}__${t}`]]))]));
    const e = await evaluateTaskbank({
      ...input(12),
      measures: ['rsa'],
      imageDraws: 0,
      permutations: 50,
      labelScores: [
        { score: 'logme', labelled: 30, values: values(1) },
        { score: 'cka', labelled: 30, values: values(1) },
        { score: 'procrustes', labelled: 30, values: values(-1) },
      ],
    });
    const [logme, cka, procrustes] = e.labelScores!;
    expect([logme, cka, procrustes].map((l) => [l.score, l.againstLabels])).toEqual([
      ['logme', false],
      ['cka', true],
      ['procrustes', true],
    ]);
    expect(cka.name).toBe('Centred kernel alignment');
    // The distance is read nearest-first: it predicts as well as the affinities themselves.
    for (const l of [logme, cka, procrustes]) expect(l.spearman.mean).toBeCloseTo(1, 12);
    // Every later score with every earlier one; two perfect rankings summed stay perfect.
    expect(logme.withLabelScores!.map((c) => [c.score, c.againstLabels])).toEqual([
      ['cka', true],
      ['procrustes', true],
    ]);
    expect(cka.withLabelScores!.map((c) => c.score)).toEqual(['procrustes']);
    expect(procrustes.withLabelScores).toEqual([]);
    for (const c of [...logme.withLabelScores!, ...cka.withLabelScores!]) expect(c.spearman.mean).toBeCloseTo(1, 12);
    // The first score's chance level is that of a run with it alone; the others draw their own.
    const alone = await evaluateTaskbank({
      ...input(12),
      measures: ['rsa'],
      imageDraws: 0,
      permutations: 50,
      labelScores: [{ score: 'logme', labelled: 30, values: values(1) }],
    });
    expect(logme.spearmanNull).toEqual(alone.labelScores![0].spearmanNull);
    expect(cka.spearmanNull!.q95).not.toBe(logme.spearmanNull!.q95);
  });

  it('resamples photographs when the images are grouped: singleton groups are the image bootstrap, one group has no spread', async () => {
    const plain = await evaluateTaskbank({ ...input(8), measures: ['rsa'], imageDraws: 30, seed: 2, reliabilitySplits: 0 });
    const singletons = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`img${i}`, `photo${i}`]));
    const grouped = await evaluateTaskbank({ ...input(8), measures: ['rsa'], imageDraws: 30, seed: 2, reliabilitySplits: 0, imageGroups: singletons });
    expect(grouped.measures[0].spearmanInterval).toEqual({ ...plain.measures[0].spearmanInterval, unit: 'photograph' });
    // Every crop from one photograph: each draw takes that photograph as many times as there are units (once), so
    // every draw is the data itself.
    const one = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`img${i}`, 'the-photo']));
    const single = await evaluateTaskbank({ ...input(8), measures: ['rsa'], imageDraws: 10, reliabilitySplits: 0, imageGroups: one });
    const point = single.measures[0].spearman!.mean!;
    expect(single.measures[0].spearmanInterval).toMatchObject({ unit: 'photograph', low: point, high: point });
    // Five photographs of six crops: a seeded interval around the point.
    const five = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`img${i}`, `photo${i % 5}`]));
    const fiveDraws = (await evaluateTaskbank({ ...input(8), measures: ['rsa'], imageDraws: 30, seed: 2, imageGroups: five })).measures[0];
    expect(fiveDraws.spearmanInterval!.low).toBeLessThanOrEqual(fiveDraws.spearman!.mean! + 1e-12);
    expect(fiveDraws.spearmanInterval!.high).toBeGreaterThanOrEqual(fiveDraws.spearman!.mean! - 1e-12);
  });

  it("measures each target's reliability over halves of the test photographs and over readout seeds", async () => {
    const affinityOf = (losses: LossRecord[]): ResultDict => ahpAffinities(lossTables(losses, 'test').map((t) => tournamentOf(t))).affinities;
    const ids = TASKS.map((t) => t.id);
    const column = (a: ResultDict, t: string) => ids.filter((x) => x !== t).map((x) => a[`${x}__${t}`]);
    expect(spearmanBrown(0.5, 2)).toBeCloseTo(2 / 3, 15);
    expect(spearmanBrown(0.2, 3)).toBeCloseTo(0.6 / 1.4, 15);
    expect(spearmanBrown(-0.1, 2)).toBe(0);

    // Two photographs: every halving is one photograph against the other, whatever the draw — so the value is the
    // Spearman between the affinities of the two photographs' images, computed here by filtering the losses instead.
    const losses = bankLosses(TASKS, 30, 9);
    const groups = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`img${i}`, i < 14 ? 'left' : 'right']));
    const e = await evaluateTaskbank({ ...input(9), losses, measures: ['rsa'], imageDraws: 0, reliabilitySplits: 3, imageGroups: groups });
    const r = e.reliability!;
    expect(r).toMatchObject({ splits: 3, unit: 'photograph', units: 2, threshold: 0.5 });
    const left = affinityOf(losses.filter((l) => Number(l.image.slice(3)) < 14));
    const right = affinityOf(losses.filter((l) => Number(l.image.slice(3)) >= 14));
    for (const t of ids) {
      const expected = spearman(column(left, t), column(right, t));
      expect(r.half[t]).toBeCloseTo(expected, 12);
      expect(r.perTarget[t]).toBeCloseTo(spearmanBrown(expected, 2), 12);
    }
    expect(r.reliable).toEqual(ids.filter((t) => r.perTarget[t]! >= 0.5));
    expect(r.readouts).toBeUndefined();
    const kept = r.reliable.map((t) => e.measures[0].spearman!.perTarget[t]!);
    expect(e.measures[0].spearmanReliable).toBeCloseTo(kept.reduce((a, b) => a + b, 0) / kept.length, 12);

    // Losses that do not depend on the image: any two halves agree exactly.
    const first = new Map(losses.filter((l) => l.image === 'img0').map((l) => [`${l.target}|${l.source}`, l.loss]));
    const flat = losses.map((l) => ({ ...l, loss: first.get(`${l.target}|${l.source}`)! }));
    const still = (await evaluateTaskbank({ ...input(9), losses: flat, measures: ['rsa'], imageDraws: 0, reliabilitySplits: 4 })).reliability!;
    expect(still.unit).toBe('image');
    expect(still.units).toBe(30);
    for (const t of ids) expect(still.perTarget[t]).toBeCloseTo(1, 12);
    expect(still.reliable).toEqual(ids);

    // Three readout repeats: the mean over their pairs, stepped up to the mean of three; an identical repeat agrees fully.
    const repeats = [bankLosses(TASKS, 30, 11), bankLosses(TASKS, 30, 12), bankLosses(TASKS, 30, 13)];
    const withRepeats = (await evaluateTaskbank({ ...input(9), measures: ['rsa'], imageDraws: 0, reliabilitySplits: 2, repeatLosses: repeats })).reliability!;
    const aff = repeats.map(affinityOf);
    for (const t of ids) {
      const pairs = [
        spearman(column(aff[0], t), column(aff[1], t)),
        spearman(column(aff[0], t), column(aff[2], t)),
        spearman(column(aff[1], t), column(aff[2], t)),
      ];
      const mean = pairs.reduce((a, b) => a + b, 0) / 3;
      expect(withRepeats.readouts!.pairwise[t]).toBeCloseTo(mean, 12);
      expect(withRepeats.readouts!.perTarget[t]).toBeCloseTo(spearmanBrown(mean, 3), 12);
    }
    expect(withRepeats.readouts!.repeats).toBe(3);
    const ok = (x: number | null | undefined) => x !== null && x !== undefined && x >= 0.5;
    expect(withRepeats.reliable).toEqual(ids.filter((t) => ok(withRepeats.perTarget[t]) && ok(withRepeats.readouts!.perTarget[t])));
    const same = (await evaluateTaskbank({ ...input(9), measures: ['rsa'], imageDraws: 0, reliabilitySplits: 1, repeatLosses: [repeats[0], repeats[0]] }))
      .reliability!;
    for (const t of ids) expect(same.readouts!.pairwise[t]).toBeCloseTo(1, 12);

    expect((await evaluateTaskbank({ ...input(9), measures: ['rsa'], imageDraws: 0 })).reliability).toBeNull();
    // Nothing to halve (one photograph) but repeated readouts: the readouts alone decide which targets are reliable.
    const onePhoto = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`img${i}`, 'p']));
    const readoutsOnly = (
      await evaluateTaskbank({ ...input(9), measures: ['rsa'], imageDraws: 0, reliabilitySplits: 5, imageGroups: onePhoto, repeatLosses: repeats })
    ).reliability!;
    expect(readoutsOnly).toMatchObject({ splits: 0, units: 1 });
    for (const t of ids) expect(readoutsOnly.perTarget[t]).toBeNull();
    expect(readoutsOnly.readouts).toEqual(withRepeats.readouts);
    expect(readoutsOnly.reliable).toEqual(ids.filter((t) => ok(withRepeats.readouts!.perTarget[t])));
    await expect(evaluateTaskbank({ ...input(9), imageDraws: 0, reliabilitySplits: -1 })).rejects.toThrow(
      'reliabilitySplits must be a whole number ≥ 0, got -1',
    );
    const short = repeats[1].filter((l) => !(l.target === ids[0] && l.source === 'self' && l.image === 'img3'));
    await expect(evaluateTaskbank({ ...input(9), imageDraws: 0, reliabilitySplits: 1, repeatLosses: [repeats[0], short] })).rejects.toThrow(/img3/);
  });

  it('scores the source prior: 1 where every target ranks the sources alike, undefined where a target ranks them all equal', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const quality = { a: 5, b: 4, c: 3, d: 2, e: 1 };
    // Every target prefers the generically better source: the other targets' mean affinity ranks them exactly.
    const generic = Object.fromEntries(ids.flatMap((t) => ids.map((s) => [`${s}__${t}`, quality[s as keyof typeof quality] + (s === t ? 10 : 0)])));
    const g = sourcePriorScore(generic, ids);
    for (const t of ids) expect(g.perTarget[t]).toBeCloseTo(1, 12);
    expect(g.mean).toBeCloseTo(1, 12);
    // Target a ranks its sources in the reverse order: −1 there.
    const reversed = { ...generic, ...Object.fromEntries(ids.filter((s) => s !== 'a').map((s) => [`${s}__a`, -quality[s as keyof typeof quality]])) };
    expect(sourcePriorScore(reversed, ids).perTarget.a).toBeCloseTo(-1, 12);
    // A target whose sources tie has no Spearman, and is left out of the mean.
    const tied = { ...generic, ...Object.fromEntries(ids.filter((s) => s !== 'b').map((s) => [`${s}__b`, 0.2])) };
    const t = sourcePriorScore(tied, ids);
    expect(t.perTarget.b).toBeNull();
    expect(t.undefinedTargets).toEqual(['b']);
    const defined = ids.filter((x) => x !== 'b').map((x) => t.perTarget[x]!);
    expect(t.mean).toBeCloseTo(defined.reduce((a, v) => a + v, 0) / 4, 12);
  });

  it('scores a measure through the other targets’ transfers: equal similarities give the source prior, family weights pick the family', () => {
    const ids = ['a1', 'a2', 'b1', 'b2', 'c1'];
    const fam = (x: string) => x[0];
    // Each family has its own best sources: a-targets read a-encoders best, b-targets b-encoders; c1 is generic.
    const aff = Object.fromEntries(ids.flatMap((t) => ids.map((s) => [`${s}__${t}`, (s === t ? 10 : 0) + (fam(s) === fam(t) ? 5 : 0) + ids.indexOf(s) / 10])));
    const labelled = (f: (i: number, j: number) => number) => ({
      rows: ids,
      cols: ids,
      matrix: { rows: 5, cols: 5, data: Float64Array.from({ length: 25 }, (_, k) => f(Math.floor(k / 5), k % 5)) },
    });
    const equal = measureViaTransfersScore(
      labelled(() => 0.4),
      aff,
      ids,
    );
    expect(equal).toEqual(sourcePriorScore(aff, ids));
    // Weight only on the same family: each target is predicted from its family-mate's column alone, which ranks the
    // mate's own encoder first and the rest by index — the truth's order exactly.
    const family = measureViaTransfersScore(
      labelled((i, j) => (fam(ids[i]) === fam(ids[j]) ? 1 : 0)),
      aff,
      ids,
    );
    for (const t of ['a1', 'a2', 'b1', 'b2']) expect(family.perTarget[t]).toBeCloseTo(1, 12);
    // c1 has no family-mate: nothing weighs, so its Spearman is undefined.
    expect(family.perTarget.c1).toBeNull();
    expect(family.undefinedTargets).toEqual(['c1']);
  });

  it('accepts probe features of the baselines and keeps them out of the scores and taxonomies', async () => {
    const probe = bankFeatures(TASKS, 60, 105);
    const r = mulberry32(9);
    probe.set('random', { data: Float32Array.from({ length: 60 * 8 }, () => randn(r)), n: 60, d: 8 });
    const without = await evaluateTaskbank({ ...input(5), measures: ['rsa'] });
    const withRandom = await evaluateTaskbank({ ...input(5), probeFeatures: probe, measures: ['rsa'] });
    expect(withRandom.measures[0].members).toEqual([...TASKS.map((t) => t.id), 'random']);
    expect(withRandom.measures[0].similarity.length).toBe(13);
    expect(withRandom.measures[0].taxonomy!.labels).toEqual(TASKS.map((t) => t.id));
    expect(Object.keys(withRandom.measures[0].spearman!.perTarget)).toEqual(TASKS.map((t) => t.id));
    expect(without.measures[0].taxonomy!.labels).toEqual(TASKS.map((t) => t.id));
  });
});

describe('evaluateTaskbank against an independent reference', () => {
  /**
   * Inputs from integer formulas (exact in float64 in both languages) and the values computed from the definitions
   * with numpy/scipy by test/reference/taskbank_eval_reference.py (see there for the formulas): tournaments with ties ½,
   * AHP by numpy.linalg.eig, linear CKA, scipy's spearmanr, scipy's average linkage and maxclust cut, the ARI from its
   * contingency table.
   */
  const ids = ['t0', 't1', 't2', 't3', 't4', 't5'];
  const family = ['a', 'a', 'b', 'b', 'c', 'c'];
  const sources = [...ids, 'pixels', 'random', 'self'];
  const level = (s: string, t: string) =>
    s === 'self' ? 0 : s === t ? 0.4 : s === 'random' ? 1.4 : s === 'pixels' ? 1.5 : family[ids.indexOf(s)] === family[ids.indexOf(t)] ? 0.7 : 1.1;
  const losses: LossRecord[] = [];
  for (const t of ids)
    for (const s of sources)
      for (let i = 0; i < 12; i++) {
        const hs = sources.indexOf(s);
        const ht = sources.indexOf(t);
        const loss = level(s, t) + (((7 * i * (ht + 1) + 13 * hs * (hs + 1)) % 17) / 17) * 0.9 + (((3 * i * hs + ht) % 5) / 5) * 0.2;
        losses.push({ target: t, source: s, image: String(i), loss });
      }
  const probe = new Map<string, ProbeFeatures>(
    ids.map((id, k) => {
      const f = 'abc'.indexOf(family[k]);
      const data = new Float64Array(15 * 4);
      for (let i = 0; i < 15; i++)
        for (let c = 0; c < 4; c++) data[i * 4 + c] = ((13 * i * (f + 3) + 7 * c) % 23) / 23 + (0.3 * ((31 * i + 17 * c + 7 * k) % 11)) / 11;
      return [id, { data, n: 15, d: 4 }];
    }),
  );
  const golden = {
    affinities: {
      t0__t0: 0.03255333964818909,
      t1__t0: 0.003486448672638686,
      t2__t0: 9.331889405314536e-5,
      t3__t0: 5.365219632759186e-5,
      t4__t0: 4.500098141893573e-5,
      t5__t0: 0.0010286715929566485,
      random__t0: 3.6064213778926275e-5,
      self__t0: 0.9627035038006372,
      t0__t1: 0.03261057858938412,
      t1__t1: 0.05933687108202224,
      t2__t1: 0.00031560759753882227,
      t3__t1: 0.0002623930612411456,
      t4__t1: 0.00034191406028264966,
      t5__t1: 0.00114643245403834,
      random__t1: 4.1454547504940785e-5,
      self__t1: 0.9059447486079877,
      t0__t2: 0.003226647124292983,
      t1__t2: 0.0032596040732070296,
      t2__t2: 0.3381388516703199,
      t3__t2: 0.21400768425722339,
      t4__t2: 0.0009233013140461592,
      t5__t2: 0.004150598692890904,
      random__t2: 0.0001088682305782264,
      self__t2: 0.4361844446374415,
      t0__t3: 0.0018447117820086162,
      t1__t3: 0.0006232064300434451,
      t2__t3: 0.02222618185655724,
      t3__t3: 0.13863744828004995,
      t4__t3: 0.0002527618642906837,
      t5__t3: 0.0022904384440512763,
      random__t3: 4.359144113902515e-5,
      self__t3: 0.8340816599018597,
      t0__t4: 0.0001365566097182824,
      t1__t4: 0.000203127001470471,
      t2__t4: 0.0001724925152216037,
      t3__t4: 0.00010170902656985666,
      t4__t4: 0.01588082285391198,
      t5__t4: 0.0035629034728363223,
      random__t4: 6.490885347556166e-5,
      self__t4: 0.979877479666796,
      t0__t5: 0.0020105502814740505,
      t1__t5: 0.00018255402938234858,
      t2__t5: 0.0002571100449194943,
      t3__t5: 0.00010355989736277795,
      t4__t5: 0.014550490827943118,
      t5__t5: 0.023289540068413644,
      random__t5: 4.9322696877597044e-5,
      self__t5: 0.9595568721536268,
    },
    gainOfSelf: { t0: 1.0, t1: 1.0, t2: 1.0, t3: 1.0, t4: 1.0, t5: 1.0 },
    qualityOfOwn: { t0: 0.0, t1: 0.3333333333333333, t2: 0.16666666666666666, t3: 0.16666666666666666, t4: 0.0, t5: 0.0 },
    gainOfRandom: { t0: 0.6666666666666666, t1: 0.6666666666666666, t2: 0.6666666666666666, t3: 0.6666666666666666, t4: 0.75, t5: 0.75 },
    cka: [
      [1.0, 0.8790919291001785, 0.0914710042299827, 0.09898565266547626, 0.3219594950637873, 0.2943273307258844],
      [0.8790919291001785, 1.0, 0.06748952670801828, 0.10293398169402586, 0.26840832006634907, 0.22424087817416455],
      [0.09147100422998271, 0.06748952670801826, 1.0, 0.8673138226283158, 0.14063154015307663, 0.15119632985497103],
      [0.09898565266547626, 0.10293398169402586, 0.8673138226283158, 1.0, 0.153653102286004, 0.16880789408438793],
      [0.3219594950637873, 0.26840832006634907, 0.1406315401530767, 0.1536531022860041, 1.0, 0.8451552929440797],
      [0.2943273307258843, 0.22424087817416455, 0.15119632985497103, 0.16880789408438793, 0.8451552929440797, 1.0],
    ],
    spearman: { t0: 0.3, t1: 0.7999999999999999, t2: 0.6, t3: 0.6, t4: 0.49999999999999994, t5: 0.7 },
    spearmanWithSelf: { t0: 0.6, t1: 0.8857142857142858, t2: 0.7714285714285715, t3: 0.7714285714285715, t4: 0.7142857142857143, t5: 0.8285714285714287 },
    tree: { ari: 1.0, nn: 1.0, merge_heights: [0.15556657159577358, 0.3352079982745608, 0.3603406565004942, 1.273612547182253, 1.3553056820225722] },
    ckaTree: { ari: 1.0, nn: 1.0, merge_heights: [0.12090807089982147, 0.1326861773716842, 0.15484470705592035, 0.7227659939924537, 0.8781038710405071] },
    halfReliability: { t0: 0.7, t1: 0.6, t2: 0.8999999999999998, t3: 0.7, t4: 0.19999999999999998, t5: 0.7 },
    sourcePrior: { t0: 0.4103913408340617, t1: 0.3, t2: -0.09999999999999999, t3: -0.09999999999999999, t4: 0.6668859288553503, t5: -0.39999999999999997 },
    ckaViaTransfers: { t0: 0.6, t1: 0.7999999999999999, t2: 0.7999999999999999, t3: 0.8999999999999998, t4: 0.39999999999999997, t5: 0.39999999999999997 },
  } as {
    affinities: Record<string, number>;
    gainOfSelf: Record<string, number>;
    qualityOfOwn: Record<string, number>;
    gainOfRandom: Record<string, number>;
    cka: number[][];
    spearman: Record<string, number>;
    spearmanWithSelf: Record<string, number>;
    tree: { ari: number; nn: number; merge_heights: number[] };
    ckaTree: { ari: number; nn: number; merge_heights: number[] };
    halfReliability: Record<string, number>;
    sourcePrior: Record<string, number>;
    ckaViaTransfers: Record<string, number>;
  };

  it('matches the reference: affinities, Gain/Quality, CKA, DDS-protocol Spearman, trees and family recovery', async () => {
    const e = await evaluateTaskbank({
      tasks: ids.map((id, k) => ({ id, family: family[k] })),
      losses,
      probeFeatures: probe,
      measures: ['cka'],
      budgets: [1],
      permutations: 0,
      imageDraws: 0,
      // Two photographs (images 0–4, 5–11): every halving is the one against the other.
      imageGroups: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [String(i), i < 5 ? 'p0' : 'p1'])),
      reliabilitySplits: 2,
    });
    for (const t of ids) expect(e.sourcePrior.perTarget[t]).toBeCloseTo(golden.sourcePrior[t], 12);
    expect(e.sourcePrior.mean).toBeCloseTo(Object.values(golden.sourcePrior).reduce((a, b) => a + b, 0) / 6, 12);
    for (const t of ids) expect(e.measures[0].viaTransfers!.perTarget[t]).toBeCloseTo(golden.ckaViaTransfers[t], 12);
    for (const t of ids) {
      expect(e.reliability!.half[t]).toBeCloseTo(golden.halfReliability[t], 12);
      expect(e.reliability!.perTarget[t]).toBeCloseTo((2 * golden.halfReliability[t]) / (1 + golden.halfReliability[t]), 12);
    }
    expect(Object.keys(e.affinities).sort()).toEqual(Object.keys(golden.affinities).sort());
    for (const [k, v] of Object.entries(golden.affinities)) expect(e.affinities[k]).toBeCloseTo(v, 10);
    for (const t of ids) {
      expect(e.winsVsPixels[`self__${t}`]).toBe(golden.gainOfSelf[t]);
      expect(e.winsVsTask[`${t}__${t}`]).toBe(golden.qualityOfOwn[t]);
      expect(e.winsVsPixels[`random__${t}`]).toBe(golden.gainOfRandom[t]);
    }
    const m = e.measures[0];
    m.similarity.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(golden.cka[i][j], 12)));
    for (const t of ids) {
      expect(m.spearman!.perTarget[t]!).toBeCloseTo(golden.spearman[t], 12);
      expect(m.spearmanWithSelf!.perTarget[t]!).toBeCloseTo(golden.spearmanWithSelf[t], 12);
    }
    for (const [tree, ref] of [
      [e.tree, golden.tree],
      [m.taxonomy!, golden.ckaTree],
    ] as const) {
      expect(tree.recovery.adjustedRandIndex).toBeCloseTo(ref.ari, 12);
      expect(tree.recovery.nearestNeighbourAgreement).toBeCloseTo(ref.nn, 12);
      const heights = tree.merges.map((x) => x.distance).sort((a, b) => a - b);
      heights.forEach((h, i) => expect(h).toBeCloseTo(ref.merge_heights[i], 10));
    }
  });
});

describe('evaluateTaskbank invariances', () => {
  /** The evaluation with tasks, losses and probe features given in another order and with other names. */
  async function relabelled(seed: number) {
    const r = mulberry32(seed);
    const perm = TASKS.map((_, i) => i).sort(() => r() - 0.5);
    const name = (id: string) => `t${TASKS.findIndex((t) => t.id === id)}x`;
    const rename = (s: string) => (TASKS.some((t) => t.id === s) ? name(s) : s);
    const base = input(seed, { measures: ['rsa', 'cka'] });
    const tasks = perm.map((i) => ({ id: name(TASKS[i].id), family: TASKS[i].family }));
    const losses = [...base.losses].reverse().map((x) => ({ ...x, target: rename(x.target), source: rename(x.source) }));
    const probe = new Map(perm.map((i) => [name(TASKS[i].id), (base.probeFeatures as Map<string, ProbeFeatures>).get(TASKS[i].id)!]));
    return { base: await evaluateTaskbank(base), moved: await evaluateTaskbank({ ...base, tasks, losses, probeFeatures: probe }), name };
  }

  for (const seed of [11, 12, 13]) {
    it(`relabelling and reordering the tasks permutes the results (seed ${seed})`, async () => {
      const { base, moved, name } = await relabelled(seed);
      for (const [k, v] of Object.entries(base.affinities)) {
        const [s, t] = k.split('__');
        const key = `${TASKS.some((x) => x.id === s) ? name(s) : s}__${name(t)}`;
        expect(moved.affinities[key]).toBeCloseTo(v, 12);
      }
      expect(moved.tree.recovery.adjustedRandIndex).toBeCloseTo(base.tree.recovery.adjustedRandIndex, 12);
      base.measures.forEach((m, i) => {
        const n = moved.measures[i];
        expect(n.spearman!.mean!).toBeCloseTo(m.spearman!.mean!, 10);
        expect(n.spearmanWithSelf!.mean!).toBeCloseTo(m.spearmanWithSelf!.mean!, 10);
        for (const t of TASKS) expect(n.spearman!.perTarget[name(t.id)]!).toBeCloseTo(m.spearman!.perTarget[t.id]!, 10);
        expect(n.taxonomy!.recovery.adjustedRandIndex).toBeCloseTo(m.taxonomy!.recovery.adjustedRandIndex, 12);
        expect(n.taxonomy!.recovery.nearestNeighbourAgreement).toBeCloseTo(m.taxonomy!.recovery.nearestNeighbourAgreement, 12);
      });
      for (const t of base.targets) {
        const u = moved.targets.find((x) => x.target === name(t.target))!;
        // (the two family mates can tie, so the best one's affinity is compared, not its name)
        expect(u.best.affinity!).toBeCloseTo(t.best.affinity!, 10);
        expect(u.best.gain).toBe(t.best.gain);
        expect(u.consistencyRatio).toBeCloseTo(t.consistencyRatio, 10);
      }
    });
  }

  it('swapping two encoders of different families changes the scores (outside the invariance)', async () => {
    const base = input(21, { measures: ['rsa'] });
    const probe = new Map(base.probeFeatures as Map<string, ProbeFeatures>);
    probe.set('low-level-0', (base.probeFeatures as Map<string, ProbeFeatures>).get('semantic-0')!);
    probe.set('semantic-0', (base.probeFeatures as Map<string, ProbeFeatures>).get('low-level-0')!);
    const a = await evaluateTaskbank(base);
    const b = await evaluateTaskbank({ ...base, probeFeatures: probe });
    expect(b.measures[0].spearman!.mean!).toBeLessThan(a.measures[0].spearman!.mean! - 0.1);
    expect(b.measures[0].taxonomy!.recovery.adjustedRandIndex).toBeLessThan(1);
  });
});

describe('evaluateTaskbank refuses bad input', () => {
  const base = input(31, { measures: ['cka'] });
  const run = (patch: Partial<TaskbankEvalInput>) => evaluateTaskbank({ ...base, ...patch });

  it('a target with no losses', async () => {
    await expect(run({ losses: base.losses.filter((r) => r.target !== 'global-1') })).rejects.toThrow('target "global-1" has no losses');
  });
  it('a target without a baseline', async () => {
    await expect(run({ losses: base.losses.filter((r) => !(r.target === '2d-0' && r.source === 'pixels')) })).rejects.toThrow(
      'target "2d-0" has no losses from "pixels"',
    );
  });
  it('an unknown source or target', async () => {
    await expect(run({ losses: [...base.losses, { target: '2d-0', source: 'imagenet', image: 'img0', loss: 1 }] })).rejects.toThrow(
      'unknown source "imagenet"',
    );
    await expect(run({ losses: [...base.losses, { target: 'depth', source: '2d-0', image: 'img0', loss: 1 }] })).rejects.toThrow('unknown target "depth"');
  });
  it('a NaN loss', async () => {
    const losses = base.losses.map((r, i) => (i === 7 ? { ...r, loss: Number.NaN } : r));
    await expect(run({ losses })).rejects.toThrow(/loss of source "low-level-0" on target "low-level-0", image "img7" is NaN, not a finite number/);
  });
  it('a missing per-image loss', async () => {
    await expect(run({ losses: base.losses.filter((r) => !(r.target === '2d-1' && r.source === 'global-0' && r.image === 'img3')) })).rejects.toThrow(
      'source "global-0" has no loss for image "img3"',
    );
  });
  it('probe features of another crop count, missing, unknown, ragged or non-finite', async () => {
    const probe = new Map(base.probeFeatures as Map<string, ProbeFeatures>);
    probe.set('2d-2', { data: new Float32Array(59 * 16).fill(1), n: 59, d: 16 });
    await expect(run({ probeFeatures: probe })).rejects.toThrow('probe features of "2d-2" have 59 crops, those of "low-level-0" 60');
    const missing = new Map(probe);
    missing.delete('2d-2');
    await expect(run({ probeFeatures: missing })).rejects.toThrow('no probe features for "2d-2"');
    const unknown = new Map(base.probeFeatures as Map<string, ProbeFeatures>);
    unknown.set('imagenet', { data: new Float32Array(60), n: 60, d: 1 });
    await expect(run({ probeFeatures: unknown })).rejects.toThrow('probe features of unknown source "imagenet"');
    const ragged = new Map(base.probeFeatures as Map<string, ProbeFeatures>);
    ragged.set('2d-2', { data: new Float32Array(60 * 16 - 1), n: 60, d: 16 });
    await expect(run({ probeFeatures: ragged })).rejects.toThrow('hold 959 values, not 60 × 16');
    const nan = new Map(base.probeFeatures as Map<string, ProbeFeatures>);
    const data = new Float32Array(60 * 16).fill(1);
    data[16 * 5 + 3] = Number.NaN;
    nan.set('2d-2', { data, n: 60, d: 16 });
    await expect(run({ probeFeatures: nan })).rejects.toThrow('probe features of "2d-2" have NaN at crop 5, feature 3');
  });
  it('too few tasks, duplicates, baseline names, one family', async () => {
    await expect(run({ tasks: TASKS.slice(0, 3) })).rejects.toThrow('3 tasks; at least 4');
    await expect(run({ tasks: [...TASKS, TASKS[0]] })).rejects.toThrow('task "low-level-0" is listed twice');
    await expect(run({ tasks: [...TASKS, { id: 'self', family: '2d' }] })).rejects.toThrow('task id "self" is a baseline name');
    await expect(run({ tasks: TASKS.map((t) => ({ ...t, family: 'x' })) })).rejects.toThrow('every task has the same family');
  });
  it('a measure that cannot apply to the features is reported in its row, the rest goes on', async () => {
    const probe = new Map(base.probeFeatures as Map<string, ProbeFeatures>);
    probe.set('2d-1', { data: new Float32Array(60 * 16).fill(0.25), n: 60, d: 16 });
    const e = await run({ probeFeatures: probe, measures: ['cka', 'rsa'] });
    expect(e.measures[0].error).toMatch(/2d-1.*no variance/);
    expect(e.measures[1].error).toMatch(/2d-1.*constant features/);
    for (const m of e.measures) expect([m.spearman, m.spearmanWithSelf, m.spearmanNull, m.taxonomy]).toEqual([null, null, null, null]);
    expect(e.tree.recovery.adjustedRandIndex).toBe(1);
  });
  it('a measure that is not symmetric (CKNNA) gets its tree from both directions’ mean distance', async () => {
    const e = await run({ measures: ['cknna'] });
    const m = e.measures[0];
    expect(m.error).toBeUndefined();
    // The matrix really is asymmetric, so a tree from it alone would be refused.
    const asymmetric = m.similarity.some((row, i) => row.some((v, j) => Math.abs(v - m.similarity[j][i]) > 1e-9));
    expect(asymmetric).toBe(true);
    expect(m.taxonomy!.distance).toBe('1 − cknna, both directions averaged');
    // The first merge is the pair closest under the averaged distance.
    const ids = m.taxonomy!.labels;
    const at = (a: string, b: string) => m.similarity[m.members.indexOf(a)][m.members.indexOf(b)];
    let best = Number.POSITIVE_INFINITY;
    for (const a of ids) for (const b of ids) if (a < b) best = Math.min(best, 1 - (at(a, b) + at(b, a)) / 2);
    expect(m.taxonomy!.merges[0].distance).toBeCloseTo(best, 12);
  });
  it('an unknown measure id', async () => {
    await expect(run({ measures: ['cka', 'no-such-measure'] })).rejects.toThrow(/no-such-measure/);
  });
});
