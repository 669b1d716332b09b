import { describe, expect, it } from 'vitest';
import { evaluateTaskbank, type ProbeFeatures, type TaskbankEvalInput, type TaskbankTaskInfo } from '../../src/benchmark/taskbankEval.js';
import { mulberry32 } from '../../src/linalg/resample.js';
import type { LossRecord } from '../../src/taskonomy/winrates.js';

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
  return { tasks: TASKS, losses: bankLosses(TASKS, 30, seed), probeFeatures: bankFeatures(TASKS, 60, seed + 100), budgets: [1, 4], permutations: 0, ...extra };
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
    // Every encoder reads its own latent: the similarities carry no family information.
    const own = Object.fromEntries(TASKS.map((t) => [t.id, t.id]));
    // Under the null p is uniform, so each seed's p only has to stay clear of the family bank's 1/101.
    for (const seed of [106, 107, 108]) {
      const flat = await evaluateTaskbank({ ...input(6), probeFeatures: bankFeatures(TASKS, 60, seed, own), measures: ['rsa'], permutations: 100, seed: 3 });
      expect(flat.measures[0].spearmanNull!.p).toBeGreaterThan(0.01);
    }
    await expect(evaluateTaskbank({ ...input(6), permutations: -1 })).rejects.toThrow('permutations must be a whole number ≥ 0, got -1');
    expect((await evaluateTaskbank({ ...input(6), measures: ['rsa'] })).measures[0].spearmanNull).toBeNull();
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
  it('an unknown measure id', async () => {
    await expect(run({ measures: ['cka', 'no-such-measure'] })).rejects.toThrow(/no-such-measure/);
  });
});
