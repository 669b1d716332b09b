import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meanOverTargets, type TaskbankEvaluation } from '../../src/benchmark/taskbankEval.js';
import { fromRows } from '../../src/linalg/dense.js';
import { familyTaxonomy } from '../../src/ops/taxonomy.js';
import {
  affinityTable,
  drawnMeasure,
  perTargetTable,
  predictionTable,
  sideBySideSvg,
  taskbankMarkdown,
  treeTaxonomy,
  writeTaskbankReport,
  viaTransfersTable,
} from '../../src/report/taskbankReport.js';
import { familyBankEvaluation, familyTasks } from '../helpers/familyBank.js';

/**
 * 8 tasks in 4 families of 2. Losses: a task's family mate transfers better than any other family's encoder (gaps
 * wider than the noise); encoders: a family's two encoders read the same latent factors.
 */
const tasks = familyTasks(['a', 'b', 'c', 'd']);

function evaluation(seed: number): Promise<TaskbankEvaluation> {
  return familyBankEvaluation(seed, {
    families: ['a', 'b', 'c', 'd'],
    images: 20,
    lossNoise: 0.4,
    probe: { n: 40, latent: 3, d: 6, noise: 0.05 },
    evaluate: { measures: ['rsa', 'cka'], budgets: [1, 2, 8], permutations: 20 },
  });
}

let e: TaskbankEvaluation;
let dir: string;
beforeAll(async () => {
  e = await evaluation(7);
  dir = await mkdtemp(join(tmpdir(), 'taskbank-report-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('task bank report', () => {
  it('writes the JSON, the Taskonomy files, the markdown and the figures', async () => {
    const written = await writeTaskbankReport(dir, e, { command: 'taskmap benchmark taskbank --test', created: '2026-12-06T00:00:00Z', png: false });
    expect(new Set(written)).toEqual(
      new Set([
        'figures/affinities.svg',
        'figures/spearman.svg',
        'figures/trees.svg',
        'taskbank.json',
        'affinities.json',
        'wins_vs_pixels.json',
        'wins_vs_task.json',
        'tournaments.json',
        'task-tree.nwk',
        'report.md',
      ]),
    );
    expect((await readdir(join(dir, 'figures'))).sort()).toEqual(['affinities.svg', 'spearman.svg', 'trees.svg']);
    const json = JSON.parse(await readFile(join(dir, 'taskbank.json'), 'utf8'));
    expect(json.command).toBe('taskmap benchmark taskbank --test');
    expect(json.created).toBe('2026-12-06T00:00:00Z');
    expect(json.png).toBeUndefined();
    expect(json.evaluation).toEqual(JSON.parse(JSON.stringify(e)));
    expect(JSON.parse(await readFile(join(dir, 'affinities.json'), 'utf8'))).toEqual(e.affinities);
    expect(Object.keys(JSON.parse(await readFile(join(dir, 'tournaments.json'), 'utf8'))).sort()).toEqual(tasks.map((t) => t.id).sort());
    expect((await readFile(join(dir, 'task-tree.nwk'), 'utf8')).trim()).toBe(e.tree.newick);
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    expect(md).toContain('Reproduce: `taskmap benchmark taskbank --test` (written 2026-12-06T00:00:00Z)');
    expect(md).toContain('## Supervision policy (budget sweep)');
  });

  it('states the numbers of the evaluation in the tables', () => {
    // The synthetic families are recovered exactly by every tree.
    expect(e.tree.recovery.adjustedRandIndex).toBe(1);
    const t = predictionTable(e);
    expect(t.rows.map((r) => r[0])).toEqual(['rsa', 'cka', 'measured task tree (affinities)', 'source prior (other targets’ rankings)', 'chance']);
    expect(t.rows[3][1]).toBe(e.sourcePrior.mean!.toFixed(3));
    const via = viaTransfersTable(e);
    expect(via.rows).toEqual([
      ...e.measures.map((m) => [
        `${m.measure} similarity of t to its 3 nearest other targets`,
        m.spearman!.mean!.toFixed(3),
        m.viaTransfers!.mean!.toFixed(3),
        `${m.viaTransfersNull!.q95.toFixed(3)} / 0.048 (none of 20 reached it)`,
        meanOverTargets(m.viaTransfers!, e.reliability!.reliable)!.toFixed(3),
      ]),
      ['equal (the source prior)', '—', e.sourcePrior.mean!.toFixed(3), '—', meanOverTargets(e.sourcePrior, e.reliability!.reliable)!.toFixed(3)],
    ]);
    const rsa = e.measures[0];
    expect(t.rows[0]).toEqual([
      'rsa',
      rsa.spearman!.mean!.toFixed(3),
      `${rsa.spearmanInterval!.low.toFixed(3)} – ${rsa.spearmanInterval!.high.toFixed(3)}`,
      rsa.spearmanReliable!.toFixed(3),
      // 20 relabellings, none as high as the family-aligned similarity: p at its floor 1/21.
      `${rsa.spearmanNull!.q95.toFixed(3)} / 0.048 (none of 20 reached it)`,
      rsa.spearmanWithSelf!.mean!.toFixed(3),
      rsa.taxonomy!.recovery.nearestNeighbourAgreement.toFixed(3),
      rsa.taxonomy!.recovery.adjustedRandIndex.toFixed(3),
      (rsa.ms / 1000).toFixed(2),
    ]);
    // (2 − 1)/(8 − 1): one family mate among 7 others.
    expect(t.rows[4]).toEqual(['chance', '0.000', '—', '0.000', '—', '0.000', (1 / 7).toFixed(3), '0.000', '—']);
    expect(t.head[3]).toBe(`Spearman, the ${e.reliability!.reliable.length} reliable targets`);
    // The reliable targets' mean, recomputed from the per-target values.
    const kept = e.reliability!.reliable.map((x) => rsa.spearman!.perTarget[x]!);
    expect(kept.length).toBeGreaterThan(0);
    expect(rsa.spearmanReliable).toBeCloseTo(kept.reduce((a, b) => a + b, 0) / kept.length, 12);
    const per = perTargetTable(e);
    expect(per.rows.map((r) => r[0])).toEqual([
      'rsa',
      'cka',
      'rsa through the other targets’ transfers',
      'cka through the other targets’ transfers',
      'source prior (other targets’ rankings)',
      'reliability over test images',
    ]);
    expect(per.rows[2].slice(1)).toEqual(e.tree.order.map((x) => e.measures[0].viaTransfers!.perTarget[x]!.toFixed(2)));
    expect(per.rows[5].slice(1)).toEqual(e.tree.order.map((x) => e.reliability!.perTarget[x]!.toFixed(2)));
    const a = affinityTable(e);
    expect(a.head).toEqual(['target \\ source', ...e.tree.order, 'self', 'random']);
    for (const row of a.rows) {
      const target = row[0];
      const stars = row.filter((c) => c.endsWith(' ★'));
      expect(stars).toHaveLength(1);
      const col = row.indexOf(stars[0]);
      expect(a.head[col]).toBe(e.targets.find((x) => x.target === target)!.best.source);
      expect(stars[0]).toBe(`${e.affinities[`${a.head[col]}__${target}`].toFixed(3)} ★`);
    }
    const failed = {
      ...e.measures[1],
      error: 'no variance',
      spearman: null,
      spearmanWithSelf: null,
      spearmanNull: null,
      spearmanInterval: null,
      spearmanReliable: null,
      taxonomy: null,
    };
    expect(predictionTable({ ...e, measures: [failed] }).rows[0]).toEqual([
      'cka (failed: no variance)',
      '—',
      '—',
      '—',
      '—',
      '—',
      '—',
      '—',
      (failed.ms / 1000).toFixed(2),
    ]);
    expect(drawnMeasure({ ...e, measures: [failed] })).toBeUndefined();
    const weak = { ...e.measures[0], spearmanNull: { draws: 20, seed: 0, q95: 0.5, p: 4 / 21 } };
    expect(predictionTable({ ...e, measures: [weak] }).rows[0][4]).toBe('0.500 / 0.19');
    // Without a reliability (no splits asked for) the column is not there.
    expect(predictionTable({ ...e, reliability: null }).head).not.toContain(`Spearman, the ${e.reliability!.reliable.length} reliable targets`);
    const md = taskbankMarkdown(e, { command: 'x', notes: ['a note'], timings: { training: 12.34 } });
    expect(md).toContain('| training | 12.3 |');
    expect(md).toContain('- a note');
    expect(md).toContain(`- measured: \`${e.tree.newick}\``);
  });

  it('draws the trees the statistics were computed on', () => {
    const measured = treeTaxonomy(e, e.tree, 'measured');
    expect(measured.order.map((i) => measured.similarity.rows[i])).toEqual(e.tree.order);
    expect(measured.dendrogram.merges).toEqual(e.tree.merges);
    // The stored similarity reproduces the tree: the demo's taxonomy of it is the measured tree.
    const again = familyTaxonomy(
      { rows: e.tree.labels, cols: e.tree.labels, matrix: fromRows(e.tree.similarity) },
      e.tree.labels.map((l) => tasks.find((t) => t.id === l)!.family),
      'again',
    );
    expect(again.newick).toBe(e.tree.newick);
    expect(drawnMeasure(e)!.measure).toBe('rsa');
    const rsa = treeTaxonomy(e, e.measures[0].taxonomy!, 'rsa');
    expect(rsa.newick).toBe(e.measures[0].taxonomy!.newick);
  });

  it('puts two figures side by side under one title', () => {
    const box = (w: number, h: number) => `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect width="1" height="1"/></svg>`;
    const s = sideBySideSvg('A & B', box(100, 50), box(30, 80));
    expect(s).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="150" height="108"/);
    expect(s).toContain('<svg x="0" y="28" xmlns');
    expect(s).toContain('<svg x="120" y="28" xmlns');
    expect(s).toContain('A &amp; B');
    expect(() => sideBySideSvg('t', '<svg></svg>', box(1, 1))).toThrow('an SVG figure without width and height');
  });

  it('rasterises the figures to PNG', async () => {
    const out = join(dir, 'png');
    const written = await writeTaskbankReport(out, e, { command: 'x' });
    expect(written).toContain('figures/trees.png');
    const png = await readFile(join(out, 'figures/trees.png'));
    expect([...png.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
  });
});
