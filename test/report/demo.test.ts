import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../src/report/demo.js';
import { measureViaTransfersScore, sourcePriorScore } from '../../src/benchmark/taskbankEval.js';
import { spearman } from '../../src/linalg/correlation.js';
import { fromRows } from '../../src/linalg/dense.js';
import * as tf from '@tensorflow/tfjs';
import { buildEncoder, saveEncoder } from '../../src/taskbank/network.js';
import { runCli } from '../helpers/cli.js';
import { writeImages } from '../models/fixtures.js';

let root: string;
const savedBank = process.env.TASKMAP_BANK_DIR;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'taskmap-demo-'));
  await writeImages(join(root, 'images'), 8, 48, 40, 3);
  // The zoo-only tests must not depend on whether the package ships a task bank.
  process.env.TASKMAP_BANK_DIR = join(root, 'no-bank');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  if (savedBank === undefined) delete process.env.TASKMAP_BANK_DIR;
  else process.env.TASKMAP_BANK_DIR = savedBank;
});

/** A bank of untrained encoders (seeded), shipped the way `benchmark taskbank --ship` does, at 16 px. */
async function fakeBank(dir: string, dead = false): Promise<string[]> {
  const tasks: [string, string][] = [
    ['autoencoding', 'low-level'],
    ['denoising', 'low-level'],
    ['edges', '2d'],
    ['rotation', 'global'],
  ];
  for (const [i, [task]] of tasks.entries()) {
    const enc = buildEncoder(16, 7 + i);
    // A dead encoder (all weights 0) gives the same features for every image.
    if (dead) for (const v of enc.variables) v.assign(tf.zerosLike(v));
    await saveEncoder(enc, join(dir, task));
    enc.dispose();
  }
  const encoders = tasks.map(([task, family]) => ({ task, family, description: task, file: `${task}/model.json`, tap: 'relu4', msPerImage: 1 }));
  await writeFile(join(dir, 'bank.json'), JSON.stringify({ resolution: 16, encoders }));
  return tasks.map(([t]) => `bank-${t}`);
}

// Six of the fastest real zoo models (three task families); the full zoo runs in `taskmap demo`, not in tests.
const MODELS = ['liveness', 'gender', 'age', 'mobileface', 'facemesh-detection-short', 'blazeface-front'];

describe('taskmap demo (small)', () => {
  it('extracts, compares, clusters and writes the report, JSON and figures; the second run is a cache hit', async () => {
    const out = join(root, 'demo');
    const r = await runDemo({ images: join(root, 'images'), out, models: MODELS, workers: 0, png: false });
    expect(r.models).toEqual(MODELS);
    expect(r.failed).toEqual([]);
    expect(r.recovery.map((x) => x.measure)).toEqual(['rsa', 'dds:norm=znorm,kernel=cosine']);
    // facemesh-detection-short is an identical export of blazeface-front: in the figures, not in the statistics.
    expect(r.duplicates).toEqual([{ label: 'facemesh-detection-short', of: 'blazeface-front' }]);
    for (const [i, x] of r.recovery.entries()) {
      expect(x.models).toBe(5);
      expect(x.withDuplicates).toMatchObject({ models: 6, k: 3 });
      expect(x.withDuplicates!.nearestNeighbourAgreement).toBe(r.taxonomies[i].neighbours.agreement);
      expect(r.taxonomies[i].similarity.rows).toEqual(MODELS);
      expect(x.k).toBe(3);
      expect(x.nearestNeighbourAgreement).toBeGreaterThanOrEqual(0);
      expect(x.nearestNeighbourAgreement).toBeLessThanOrEqual(1);
    }
    const files = (await readdir(out)).sort();
    expect(files).toEqual(
      [
        'family-recovery.json',
        'features',
        'figures',
        'models.json',
        'report.html',
        'similarity-dds-znorm-cosine.json',
        'similarity-rsa.json',
        'taxonomy-dds-znorm-cosine.json',
        'taxonomy-dds-znorm-cosine.nwk',
        'taxonomy-rsa.json',
        'taxonomy-rsa.nwk',
        'timings.json',
      ].sort(),
    );
    const sim = JSON.parse(await readFile(join(out, 'similarity-rsa.json'), 'utf8'));
    expect(Object.keys(sim).sort()).toEqual(['cols', 'matrix', 'measure', 'rows']);
    expect(sim.rows).toEqual(MODELS);
    expect(sim.matrix[0][0]).toBe(1);
    const rec = JSON.parse(await readFile(join(out, 'family-recovery.json'), 'utf8'));
    expect(rec.results[0]).toHaveProperty('adjustedRandIndex');
    const html = await readFile(join(out, 'report.html'), 'utf8');
    for (const s of ['Does the taxonomy recover the task families?', 'Similarity heatmap', 'Task tree', 'MDS', 'three most similar', 'id="models"'])
      expect(html).toContain(s);
    for (const m of MODELS) expect(html).toContain(m);
    expect(html).toContain('identical export of blazeface-front');
    expect(html).toContain('5 (identical exports left out)');
    expect(rec.duplicates).toEqual(r.duplicates);
    expect(rec.results[0].withDuplicates.models).toBe(6);
    expect(html).not.toMatch(/https?:\/\//);
    expect((await readdir(join(out, 'figures'))).sort()).toEqual(
      ['dendrogram', 'heatmap', 'mds'].flatMap((f) => [`${f}-dds-znorm-cosine.svg`, `${f}-rsa.svg`]).sort(),
    );

    const again = await runDemo({ images: join(root, 'images'), out, models: MODELS, workers: 0, png: false });
    expect(again.extract.computed).toEqual([]);
    expect(again.extract.reused.length).toBe(MODELS.length);
    expect(again.recovery).toEqual(r.recovery);
    // The warm run's header says so and keeps the cold run's extraction time; the Files list links what was written.
    const warmHtml = await readFile(join(out, 'report.html'), 'utf8');
    expect(warmHtml).toContain('<span data-timings="warm">warm run (features of 6 models reused');
    expect(warmHtml).toContain(`extraction ${r.timings.extraction.toFixed(1)} s`);
    for (const [, href] of warmHtml.slice(warmHtml.indexOf('id="files"')).matchAll(/<a href="([^"]+)">/g))
      await readdir(join(out, href)).catch(() => readFile(join(out, href)));
  });

  it("draws the task bank's taxonomy beside the zoo's when a bank is shipped, and leaves it out with bank: false", async () => {
    const bankDir = join(root, 'bank');
    const ids = await fakeBank(bankDir);
    // Its measured transfers in zoo ids, as --ship writes them: a source is best within its family, then by index.
    const fam = ['low-level', 'low-level', '2d', 'global'];
    const affinities = Object.fromEntries(
      ids.flatMap((t, j) => [...ids.map((s, i) => [`${s}__${t}`, (fam[i] === fam[j] ? 1 : 0) + i / 10]), [`random__${t}`, 0.01]]),
    );
    await writeFile(join(bankDir, 'affinities.json'), JSON.stringify(affinities));
    process.env.TASKMAP_BANK_DIR = bankDir;
    try {
      const out = join(root, 'bank-demo');
      const r = await runDemo({ images: join(root, 'images'), out, models: MODELS.slice(0, 3), measures: ['rsa'], workers: 0, png: false });
      expect(r.models).toEqual(MODELS.slice(0, 3));
      expect(r.failed).toEqual([]);
      expect(r.bankRecovery).toHaveLength(1);
      expect(r.bankRecovery![0]).toMatchObject({ measure: 'rsa', models: 4, k: 3 });
      const sim = JSON.parse(await readFile(join(out, 'similarity-bank-rsa.json'), 'utf8'));
      expect(sim.rows).toEqual(ids);
      const rec = JSON.parse(await readFile(join(out, 'family-recovery.json'), 'utf8'));
      expect(rec.bank.families).toEqual({ 'bank-autoencoding': 'low-level', 'bank-denoising': 'low-level', 'bank-edges': '2d', 'bank-rotation': 'global' });
      expect(rec.bank.results).toEqual(r.bankRecovery);
      // The similarity alone against the shipped affinities, recomputed here per target over the other encoders.
      const t = r.bankTransfers!;
      expect(t.targets).toEqual(ids);
      const rho = ids.map((target) => {
        const others = ids.filter((s) => s !== target);
        const at = (s: string) => sim.matrix[sim.rows.indexOf(s)][sim.cols.indexOf(target)];
        return spearman(
          others.map(at),
          others.map((s) => affinities[`${s}__${target}`]),
        );
      });
      expect(t.measures[0].similarity).toBeCloseTo(rho.reduce((a, b) => a + b, 0) / rho.length, 12);
      const labelled = { rows: sim.rows, cols: sim.cols, matrix: fromRows(sim.matrix) };
      expect(t.measures[0].viaTransfers).toBe(measureViaTransfersScore(labelled, affinities, ids).mean);
      expect(t.sourcePrior).toBe(sourcePriorScore(affinities, ids).mean);
      expect(rec.bank.transfers).toEqual(t);
      expect(rec.models).toBe(3);
      const html = await readFile(join(out, 'report.html'), 'utf8');
      expect(html).toContain('The task bank: one architecture, many tasks');
      expect(html).toContain("Predicting the bank's measured transfers");
      for (const id of ids) expect(html).toContain(id);
      const none = await runDemo({ images: join(root, 'images'), out, models: MODELS.slice(0, 3), measures: ['rsa'], workers: 0, png: false, bank: false });
      expect(none.bankRecovery).toBeUndefined();
      expect(await readFile(join(out, 'report.html'), 'utf8')).not.toContain('The task bank: one architecture');
      expect((await readdir(out)).filter((f) => f.includes('bank'))).toEqual([]);
    } finally {
      process.env.TASKMAP_BANK_DIR = join(root, 'no-bank');
    }
  });

  it('leaves the bank out with a warning, not an error, when its encoders cannot be compared (constant features)', async () => {
    const bankDir = join(root, 'dead-bank');
    await fakeBank(bankDir, true);
    process.env.TASKMAP_BANK_DIR = bankDir;
    const logs: string[] = [];
    try {
      const r = await runDemo({
        images: join(root, 'images'),
        out: join(root, 'dead-demo'),
        models: MODELS.slice(0, 3),
        measures: ['rsa'],
        workers: 0,
        png: false,
        log: (m) => logs.push(m),
      });
      expect(r.recovery).toHaveLength(1);
      expect(r.bankRecovery).toBeUndefined();
      expect(logs.some((m) => /warning: task bank: rsa left out: .*constant features/.test(m))).toBe(true);
    } finally {
      process.env.TASKMAP_BANK_DIR = join(root, 'no-bank');
    }
  });

  it('refuses models outside the zoo', async () => {
    await expect(runDemo({ images: join(root, 'images'), out: join(root, 'x'), models: ['liveness', 'gender', './my.onnx'] })).rejects.toThrow(
      /not zoo models: \.\/my\.onnx/,
    );
  });

  it('`taskmap demo` computes (ops) then writes the report, and prints the family recovery', async () => {
    const out = join(root, 'cli-demo');
    const r = await runCli(
      'demo',
      '--images',
      join(root, 'images'),
      '--out',
      out,
      '--models',
      MODELS.slice(0, 3).join(','),
      '--measures',
      'rsa',
      '--workers',
      '0',
      '--no-png',
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Family recovery \(3 models, 8 images/);
    expect(r.out).toContain('report: ');
    expect(r.out).toMatch(/report \d+\.\d s/);
    expect((await readdir(out)).sort()).toEqual([
      'family-recovery.json',
      'features',
      'figures',
      'models.json',
      'report.html',
      'similarity-rsa.json',
      'taxonomy-rsa.json',
      'taxonomy-rsa.nwk',
      'timings.json',
    ]);
    // With an identical export among the models (features cached by the first test): the statistics leave it out and say so.
    const dup = await runCli(
      'demo',
      '--images',
      join(root, 'images'),
      '--out',
      join(root, 'demo'),
      '--models',
      MODELS.join(','),
      '--measures',
      'rsa',
      '--workers',
      '0',
      '--no-png',
    );
    expect(dup.code).toBe(0);
    expect(dup.out).toMatch(/Family recovery \(5 models, 8 images, 3 task families\)/);
    expect(dup.out).toContain('Identical exports left out of these statistics (kept in the figures): facemesh-detection-short = blazeface-front.');
    expect(dup.out).toMatch(/With them \(6 models\): rsa NN \d\.\d{3}, ARI -?\d\.\d{3}\./);
  });
});
