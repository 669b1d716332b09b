/**
 * The prediction through the other targets' transfers on Taskonomy's published affinities, weighted by the DDS
 * authors' released similarity matrices: against test/reference/via_transfers_taskonomy.py (numpy/scipy, from the
 * definition), and the finding it documents — weighing every other task turns the prediction into the prior, the 3
 * most similar keep the similarity's own score (docs/taskbank.md).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { measureViaTransfersScore, transferPrediction } from '../../src/benchmark/taskbankEval.js';
import { fromRows } from '../../src/linalg/dense.js';
import type { LabelledMatrix } from '../../src/linalg/labelled.js';
import { runCli } from '../helpers/cli.js';
import { sharedDataDir, skipWithoutSharedData } from '../helpers/sharedData.js';

const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

// python3 test/reference/via_transfers_taskonomy.py ../shared
const GOLDEN: Record<string, { alone: number; viaAll: number; via3: number }> = {
  'rdm-cosine': { alone: 0.8365051903114187, viaAll: 0.5698961937716263, via3: 0.8280276816608997 },
  'kernel-lap': { alone: 0.8339100346020761, viaAll: 0.5638408304498269, via3: 0.8261245674740485 },
};
const EQUAL_WEIGHTS = 0.4703996913460943;

describe.skipIf(skipWithoutSharedData)('through the other targets’ transfers on Taskonomy (published affinities, DDS matrices)', () => {
  const dds = path.join(sharedDataDir, 'duality-diagram-similarity');
  const fixtures = () => readJson(path.join(dds, 'evaluation_fixtures.json'));
  const aliases: Record<string, string> = { vanishing_point: 'vanishing_point_well_defined', segmentsemantic: 'segmentsemantic_rb' };

  function inputs(which: string): { similarity: LabelledMatrix; affinities: Record<string, number>; ids: string[] } {
    const fx = fixtures();
    const names = (fx.dds_task_order_20 as string[]).map((t) => aliases[t] ?? t);
    const base = path.join(dds, 'CVPR2020_results', 'normcomparison_taskonomy_5000');
    const rows: number[][] =
      which === 'rdm-cosine'
        ? readJson(path.join(base, 'rdms.json')).cosine.cka.debiased_centered.znorm[0]
        : readJson(path.join(base, 'kernels.json')).lap.cka.debiased_centered.znorm[0];
    return {
      similarity: { rows: names, cols: names, matrix: fromRows(rows) },
      affinities: readJson(path.join(sharedDataDir, 'taskonomy', 'results', 'affinities', 'all_affinities.json')),
      ids: fx.taskonomy_affinity_keys_17,
    };
  }

  it('taskmap evaluate --via-transfers: the same numbers from the files, beside the similarity alone', async () => {
    const fx = fixtures();
    const dir = mkdtempSync(path.join(tmpdir(), 'taskmap-via-eval-'));
    try {
      const base = path.join(dds, 'CVPR2020_results', 'normcomparison_taskonomy_5000');
      const matrix = readJson(path.join(base, 'rdms.json')).cosine.cka.debiased_centered.znorm[0];
      writeFileSync(path.join(dir, 'dds.json'), JSON.stringify({ rows: fx.dds_task_order_20, cols: fx.dds_task_order_20, matrix }));
      const keys = (fx.taskonomy_affinity_keys_17 as string[]).join(',');
      const out = path.join(dir, 'out.json');
      const truth = path.join(sharedDataDir, 'taskonomy', 'results', 'affinities', 'all_affinities.json');
      const common = ['evaluate', '-p', path.join(dir, 'dds.json'), '-t', truth, '--sources', keys, '--targets', keys];
      const aliasArgs = Object.entries(aliases).flatMap(([a, b]) => ['--alias', `${a}=${b}`]);
      const r = await runCli(...common, ...aliasArgs, '--via-transfers', '--out', out);
      expect(r.code, r.err).toBe(0);
      const json = readJson(out);
      expect(json.mean).toBeCloseTo(GOLDEN['rdm-cosine'].alone, 12);
      expect(json.via_transfers.mean).toBeCloseTo(GOLDEN['rdm-cosine'].via3, 12);
      expect(json.via_transfers).toMatchObject({ neighbours: 3, undefined_targets: [] });
      expect(json.via_transfers.tasks).toHaveLength(17);
      expect(r.out).toContain("through the truth's other targets' transfers (3 most similar, self excluded): mean spearman over 17 targets: 0.8280");
      const all = await runCli(...common, ...aliasArgs, '--via-transfers', '--via-neighbours', 'all', '--out', out);
      expect(all.code, all.err).toBe(0);
      expect(readJson(out).via_transfers.mean).toBeCloseTo(GOLDEN['rdm-cosine'].viaAll, 12);
      // Refusals: another metric, --via-neighbours alone, and too few shared tasks (no aliases: two keys do not match).
      const kendall = await runCli(...common, ...aliasArgs, '--via-transfers', '--metric', 'kendall');
      expect(kendall.err).toContain('--via-transfers is scored by Spearman');
      const alone = await runCli(...common, ...aliasArgs, '--via-neighbours', '2');
      expect(alone.err).toContain('--via-neighbours applies to --via-transfers');
      const few = await runCli(
        'evaluate',
        '-p',
        path.join(dir, 'dds.json'),
        '-t',
        truth,
        '--sources',
        'autoencoder,denoise,edge2d,curvature',
        '--targets',
        'autoencoder,denoise',
        '--via-transfers',
      );
      expect(few.code).not.toBe(0);
      expect(few.err).toContain('2 task(s) are sources and targets of both matrices; at least 3 are needed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('equal weights (the source prior): mathematically tied sources tie, as the exact rational reference', () => {
    const { affinities, ids } = inputs('rdm-cosine');
    const ones: LabelledMatrix = { rows: ids, cols: ids, matrix: fromRows(ids.map(() => ids.map(() => 1))) };
    // Dividing rank by rank gave 0.4693 here: tied predictions ordered by rounding (docs/taskbank.md).
    expect(measureViaTransfersScore(ones, affinities, ids, Number.POSITIVE_INFINITY).mean).toBeCloseTo(EQUAL_WEIGHTS, 12);
  });

  for (const which of Object.keys(GOLDEN)) {
    it(`${which}: the similarity alone, through all other tasks and through the 3 most similar, as the reference`, () => {
      const { similarity, affinities, ids } = inputs(which);
      const p = transferPrediction(similarity, affinities, ids);
      expect(p.similarity.mean).toBeCloseTo(GOLDEN[which].alone, 12);
      expect(p.viaTransfers.mean).toBeCloseTo(GOLDEN[which].via3, 12);
      const all = measureViaTransfersScore(similarity, affinities, ids, Number.POSITIVE_INFINITY).mean!;
      expect(all).toBeCloseTo(GOLDEN[which].viaAll, 12);
      // The finding: all tasks weighted fall far below the similarity; the 3 nearest stay within 0.01 of it.
      expect(all).toBeLessThan(p.similarity.mean! - 0.2);
      expect(Math.abs(p.viaTransfers.mean! - p.similarity.mean!)).toBeLessThan(0.01);
    });
  }
});
