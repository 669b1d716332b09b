import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskbankEvaluation } from '../../src/benchmark/taskbankEval.js';
import { seedStat, summariseTaskbankSeeds } from '../../src/benchmark/taskbankSeeds.js';
import { taskbankSeedsMarkdown, writeTaskbankSeedsReport } from '../../src/report/taskbankSeedsReport.js';
import { familyBankEvaluation, familyTasks } from '../helpers/familyBank.js';
import { runCli } from '../helpers/cli.js';
import { stripedPhotos } from '../helpers/stripedPhotos.js';

/** 6 tasks in 3 families; `noise` decides how clearly the family shows in the losses and the probe features. */
const tasks = familyTasks(['a', 'b', 'c']);

function evaluation(seed: number, noise: number): Promise<TaskbankEvaluation> {
  return familyBankEvaluation(seed, {
    families: ['a', 'b', 'c'],
    images: 16,
    lossNoise: noise,
    probe: { n: 30, latent: 2, d: 5, noise },
    evaluate: { measures: ['rsa', 'cka'], budgets: [1], permutations: 20, imageDraws: 0 },
  });
}

const close = (a: number | null, b: number) => expect(a).toBeCloseTo(b, 12);

describe('seedStat', () => {
  it('is the mean and sample SD of the defined values (hand-worked), with the undefined ones kept in place', () => {
    const s = seedStat([0.459, 0.266, null, Number.NaN]);
    expect(s.perSeed).toEqual([0.459, 0.266, null, null]);
    close(s.mean, 0.3625);
    close(s.sd, 0.193 / Math.SQRT2); // two values: |a − b| / √2
    expect([s.min, s.max]).toEqual([0.266, 0.459]);
    const t = seedStat([1, 2, 6]);
    close(t.mean, 3);
    close(t.sd, Math.sqrt((4 + 1 + 9) / 2));
  });
  it('has no SD for one value and nothing for none', () => {
    expect(seedStat([0.5, null])).toMatchObject({ mean: 0.5, sd: null, min: 0.5, max: 0.5 });
    expect(seedStat([null, undefined])).toMatchObject({ mean: null, sd: null, min: null, max: null });
  });
});

describe('summariseTaskbankSeeds', () => {
  let runs: { seed: number; evaluation: TaskbankEvaluation }[];
  beforeAll(async () => {
    runs = [
      { seed: 0, evaluation: await evaluation(1, 0.3) },
      { seed: 1, evaluation: await evaluation(2, 1.5) },
      { seed: 5, evaluation: await evaluation(3, 0.8) },
    ];
  });

  it("collects each seed's statistics in seed order and summarises them", () => {
    const s = summariseTaskbankSeeds(runs);
    expect(s.seeds).toEqual([0, 1, 5]);
    expect(s.tasks).toEqual(tasks.map((t) => t.id));
    expect(s.families).toEqual(['family-a', 'family-b', 'family-c']);
    expect(s.measures.map((m) => m.measure)).toEqual(['rsa', 'cka']);
    s.measures.forEach((m, k) => {
      const own = runs.map((r) => r.evaluation.measures[k]);
      expect(m.spearman.perSeed).toEqual(own.map((x) => x.spearman!.mean));
      expect(m.adjustedRandIndex.perSeed).toEqual(own.map((x) => x.taxonomy!.recovery.adjustedRandIndex));
      expect(m.null95.perSeed).toEqual(own.map((x) => x.spearmanNull!.q95));
      expect(m.viaTransfers.perSeed).toEqual(own.map((x) => x.viaTransfers!.mean));
      const v = own.map((x) => x.spearman!.mean!);
      const mean = (v[0] + v[1] + v[2]) / 3;
      close(m.spearman.mean, mean);
      close(m.spearman.sd, Math.sqrt(v.reduce((a, x) => a + (x - mean) ** 2, 0) / 2));
      for (const t of s.tasks) expect(m.perTarget[t].perSeed).toEqual(own.map((x) => x.spearman!.perTarget[t]));
    });
    expect(s.tree.adjustedRandIndex.perSeed).toEqual(runs.map((r) => r.evaluation.tree.recovery.adjustedRandIndex));
    // Each seed's reliability of each target's truth, its count of reliable targets, and the measures on those.
    for (const t of s.tasks) expect(s.reliability.perTarget[t].perSeed).toEqual(runs.map((r) => r.evaluation.reliability!.perTarget[t]));
    expect(s.reliability.reliableTargets.perSeed).toEqual(runs.map((r) => r.evaluation.reliability!.reliable.length));
    s.measures.forEach((m, k) => expect(m.spearmanReliable.perSeed).toEqual(runs.map((r) => r.evaluation.measures[k].spearmanReliable)));
    expect(s.sourcePrior.spearman.perSeed).toEqual(runs.map((r) => r.evaluation.sourcePrior.mean));
    for (const t of s.tasks) expect(s.sourcePrior.perTarget[t].perSeed).toEqual(runs.map((r) => r.evaluation.sourcePrior.perTarget[t]));
    // No readout repeats: no readout reliability, and no column for it.
    expect(s.reliability.readouts[s.tasks[0]].mean).toBeNull();
    const md = taskbankSeedsMarkdown(s, { command: 'x', seedReports: { 0: 'seed-0', 1: 'seed-1', 5: 'seed-5' } });
    expect(md).toContain('reliability over test photographs');
    expect(md).toContain(`| rsa similarity | ${s.measures[0].spearman.mean!.toFixed(3)} ± ${s.measures[0].spearman.sd!.toFixed(3)} |`);
    expect(md).not.toContain('reliability over readout seeds');
    // The noisier seed recovers the families worse: the summary does not just repeat one run.
    expect(new Set(s.measures[0].spearman.perSeed).size).toBeGreaterThan(1);
  });

  it('refuses one seed, a repeated seed, and runs of other tasks or measures', () => {
    expect(() => summariseTaskbankSeeds(runs.slice(0, 1))).toThrow(/at least two seeds/);
    expect(() => summariseTaskbankSeeds([runs[0], { ...runs[1], seed: 0 }])).toThrow(/seed 0 is listed twice/);
    const fewer = { ...runs[1].evaluation, tasks: runs[1].evaluation.tasks.slice(1) };
    expect(() => summariseTaskbankSeeds([runs[0], { seed: 1, evaluation: fewer }])).toThrow(/seed 1 has tasks a2, b1/);
    const other = { ...runs[1].evaluation, measures: runs[1].evaluation.measures.slice(0, 1) };
    expect(() => summariseTaskbankSeeds([runs[0], { seed: 1, evaluation: other }])).toThrow(/seed 1 has measures rsa; seed 0 has rsa, cka/);
  });

  it('summarises the label scores over the seeds, and refuses seeds that judged different ones', () => {
    const stat = (mean: number) => ({ mean, perTarget: { a1: mean }, undefinedTargets: [] });
    const label = (mean: number, labelled = 250, score = 'logme') => ({
      score,
      againstLabels: score !== 'logme',
      name: score,
      labelled,
      targets: ['a1'],
      values: {},
      spearman: stat(mean),
      spearmanWithSelf: stat(mean / 2),
      spearmanNull: { draws: 10, seed: 0, q95: 0.1, p: 0.5 },
      spearmanReliable: null,
      withSimilarity: [{ measure: 'rsa', spearman: stat(mean + 0.1) }],
      withLabelScores: score === 'logme' ? [{ score: 'cka', againstLabels: true, spearman: stat(mean + 0.05) }] : [],
    });
    const withLabels = runs.map((r, i) => ({
      ...r,
      evaluation: { ...r.evaluation, labelScores: [label([0.2, 0.4, 0.9][i]), label([0.1, 0.3, 0.2][i], 250, 'cka')] },
    }));
    const [s, c] = summariseTaskbankSeeds(withLabels).labelScores!;
    expect(s).toMatchObject({ score: 'logme', againstLabels: false, labelled: 250 });
    expect(s.spearman.perSeed).toEqual([0.2, 0.4, 0.9]);
    close(s.spearman.mean, 0.5);
    close(s.spearman.sd, Math.sqrt((0.09 + 0.01 + 0.16) / 2));
    close(s.spearmanWithSelf.mean, 0.25);
    expect(s.perTarget.a1.perSeed).toEqual([0.2, 0.4, 0.9]);
    expect(s.perTarget.a2).toBeUndefined();
    expect(s.withSimilarity.map((x) => x.measure)).toEqual(['rsa']);
    close(s.withSimilarity[0].spearman.mean, 0.6);
    expect(s.withLabelScores.map((x) => x.score)).toEqual(['cka']);
    close(s.withLabelScores[0].spearman.mean, 0.55);
    expect(c).toMatchObject({ score: 'cka', againstLabels: true, withLabelScores: [] });
    close(c.spearman.mean, 0.2);
    expect(summariseTaskbankSeeds(runs).labelScores).toBeUndefined();
    const other = [withLabels[0], { ...withLabels[1], evaluation: { ...withLabels[1].evaluation, labelScores: [label(0.4, 1000)] } }];
    expect(() => summariseTaskbankSeeds(other)).toThrow(/seed 1 judged the label scores logme on 1000 crops; seed 0 logme; cka on 250 crops/);
    expect(() => summariseTaskbankSeeds([withLabels[0], runs[1]])).toThrow(/seed 1 judged the label scores none/);
  });

  describe('report', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'taskbank-seeds-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });
    it('writes the summary as JSON and Markdown: per-seed values, mean ± SD, links to each seed', async () => {
      const s = summariseTaskbankSeeds(runs);
      const files = await writeTaskbankSeedsReport(dir, s, {
        command: 'taskmap benchmark taskbank --seeds 0,1,5',
        seedReports: { 0: 'seed-0', 1: 'seed-1', 5: 'seed-5' },
      });
      expect(files.sort()).toEqual(['report.md', 'seeds.json']);
      const json = JSON.parse(await readFile(join(dir, 'seeds.json'), 'utf8'));
      expect(json.summary).toEqual(JSON.parse(JSON.stringify(s)));
      const md = await readFile(join(dir, 'report.md'), 'utf8');
      const rsa = s.measures[0];
      expect(md).toContain(
        `| rsa | ${rsa.spearman.perSeed.map((v) => v!.toFixed(3)).join(' / ')} | ${rsa.spearman.mean!.toFixed(3)} ± ${rsa.spearman.sd!.toFixed(3)} |`,
      );
      expect(md).toContain('ARI of the 3-cluster cut (seeds 0 / 1 / 5)');
      expect(md).toContain('[seed 5](seed-5/report.md)');
      expect(md).toContain('`taskmap benchmark taskbank --seeds 0,1,5`');
      expect(taskbankSeedsMarkdown(s, { command: 'x', created: 'then', seedReports: {} })).toContain('(written then)');
    });
  });
});

describe('taskmap benchmark taskbank --seeds: what it refuses before any work', () => {
  it.each([
    [['--seed', '1', '--seeds', '0,1'], /--seed and --seeds: give one/],
    [['--seeds', '0'], /at least two seeds/],
    [['--seeds', '0,2,0'], /seed 0 is listed twice/],
    [['--seeds', '0,x'], /--seeds/],
    [['--seeds', '0,1', '--ship'], /ship with --seed, not --seeds/],
    [['--label-score', 'hscore'], /--label-score: hscore cannot read the bank's map targets/],
    [['--label-crops', '0'], /--label-crops/],
  ])('%j', async (args, message) => {
    const r = await runCli('benchmark', 'taskbank', '--out', join(tmpdir(), 'never-written'), ...args);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(message);
  });
});

describe('taskmap benchmark taskbank --seeds end to end (tiny folder pool, four pixel tasks, in this thread)', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'taskbank-seeds-e2e-'));
    await stripedPhotos(join(root, 'photos'), 8);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });
  it('writes a full report per seed and a summary whose per-seed values are those reports’', async () => {
    const out = join(root, 'out');
    const saved = process.env.TASKMAP_CACHE;
    process.env.TASKMAP_CACHE = join(root, 'cache');
    try {
      const r = await runCli(
        'benchmark',
        'taskbank',
        '--out',
        out,
        '--seeds',
        '3,1',
        '--folders',
        join(root, 'photos'),
        '--resolution',
        '16',
        '--crops',
        'train=48',
        '--crops',
        'transfer=24',
        '--crops',
        'test=24',
        '--crops',
        'probe=16',
        '--tasks',
        'autoencoding,denoising,edges,rotation',
        '--epochs',
        '1',
        '--workers',
        '0',
        '--measures',
        'rsa;cka',
        '--no-png',
      );
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/over seeds 3, 1 \(mean ± SD\)/);
    } finally {
      if (saved === undefined) delete process.env.TASKMAP_CACHE;
      else process.env.TASKMAP_CACHE = saved;
    }
    const summary = JSON.parse(await readFile(join(out, 'seeds.json'), 'utf8')).summary;
    expect(summary.seeds).toEqual([3, 1]);
    const perSeed = await Promise.all(['seed-3', 'seed-1'].map(async (d) => JSON.parse(await readFile(join(out, d, 'taskbank.json'), 'utf8')).evaluation));
    expect(summary.measures[1].spearman.perSeed).toEqual(perSeed.map((e) => e.measures[1].spearman.mean));
    expect(summary.tree.adjustedRandIndex.perSeed).toEqual(perSeed.map((e) => e.tree.recovery.adjustedRandIndex));
    // Two seeds are two pools: other crops, so other losses.
    expect(perSeed[0].tournaments).not.toEqual(perSeed[1].tournaments);
    expect(await readFile(join(out, 'seed-1', 'report.md'), 'utf8')).toContain("Seed 1 of the command's 2");
    expect(await readFile(join(out, 'report.md'), 'utf8')).toContain('[seed 3](seed-3/report.md)');
  }, 120_000);
});
