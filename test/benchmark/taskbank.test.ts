import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runTaskbankBenchmark, shipBank, taskSeed } from '../../src/benchmark/taskbank.js';
import { bankModels, zooModel } from '../../src/models/zoo.js';
import { probeZooModel } from '../../src/models/status.js';
import { stripedPhotos } from '../helpers/stripedPhotos.js';

const saved = process.env.TASKMAP_BANK_DIR;
afterAll(() => {
  if (saved === undefined) delete process.env.TASKMAP_BANK_DIR;
  else process.env.TASKMAP_BANK_DIR = saved;
});

describe('benchmark taskbank end to end (tiny pool, four pixel tasks and one distilled task, in this thread)', () => {
  it('trains, transfers, evaluates, ships encoders the zoo lists and loads, and reuses every stage on a re-run', async () => {
    const root = mkdtempSync(join(tmpdir(), 'taskbank-e2e-'));
    await stripedPhotos(join(root, 'photos'), 8);
    const opts = {
      tasks: ['autoencoding', 'denoising', 'edges', 'rotation', 'person-mask'],
      // The distilled task trains on the first 16 crops, the ones its teacher (selfie) was run on.
      teacherTrainCrops: 16,
      folders: [join(root, 'photos')],
      resolution: 16,
      counts: { train: 48, transfer: 24, test: 24, probe: 16 },
      train: { epochs: 1, batchSize: 16 },
      readout: { epochs: 1, batchSize: 12 },
      measures: ['rsa', 'cka'],
      workers: 0,
      cacheDir: join(root, 'cache'),
    };
    const run = await runTaskbankBenchmark(opts);
    expect(run.tasks.map((t) => t.id)).toEqual(opts.tasks);
    expect(run.tasks.map((t) => t.family)).toEqual(['low-level', 'low-level', '2d', 'global', 'semantic']);
    expect(run.tasks.map((t) => t.trainCrops)).toEqual([48, 48, 48, 48, 16]);
    expect(run.pool.crops).toEqual({ train: 48, transfer: 24, test: 24, probe: 16 });
    // Every (source, target) has one loss per test crop: 4 tasks + pixels + random + self sources.
    for (const t of opts.tasks)
      for (const s of [...opts.tasks, 'pixels', 'random', 'self']) expect(run.losses.filter((l) => l.target === t && l.source === s)).toHaveLength(24);
    expect(run.losses.every((l) => Number.isFinite(l.loss) && l.loss >= 0)).toBe(true);
    // Each task trained from its own initialisation.
    expect(new Set(opts.tasks.map((_, i) => taskSeed(0, i))).size).toBe(5);
    // The distilled task's targets are probabilities (BCE): its losses are finite and its network learned something.
    const pm = run.losses.filter((l) => l.target === 'person-mask' && l.source === 'self');
    expect(pm.every((l) => l.loss > 0 && l.loss < 2)).toBe(true);
    const e = run.evaluation;
    expect(e.tasks.map((t) => t.id)).toEqual(opts.tasks);
    expect(e.measures.map((m) => m.measure)).toEqual(['rsa', 'cka']);
    for (const m of e.measures) expect(m.similarity).toHaveLength(7); // 5 encoders + pixels + random
    // The label scores (LogME and CKA on the labels by default) of every task encoder on every target's labels: all
    // 24 transfer crops here.
    expect(e.labelScores!.map((l) => [l.score, l.againstLabels, l.labelled, l.targets])).toEqual([
      ['logme', false, 24, opts.tasks],
      ['cka', true, 24, opts.tasks],
    ]);
    for (const l of e.labelScores!) for (const t of opts.tasks) for (const s of opts.tasks) expect(Number.isFinite(l.values[t][s])).toBe(true);
    // CKA lies in [0, 1]; the two scores differ.
    for (const t of opts.tasks) for (const s of opts.tasks) expect(e.labelScores![1].values[t][s]).toBeGreaterThanOrEqual(0);
    for (const t of opts.tasks) for (const s of opts.tasks) expect(e.labelScores![1].values[t][s]).toBeLessThanOrEqual(1 + 1e-12);
    expect(e.labelScores![0].withLabelScores!.map((c) => c.score)).toEqual(['cka']);
    expect(run.settings.labelScores).toEqual({ scores: ['logme', 'cka'], labelled: 250 });
    // Taskonomy's result dict: source__target for every task source (its own included), random and self.
    for (const t of opts.tasks) for (const s of [...opts.tasks, 'random', 'self']) expect(Number.isFinite(e.affinities[`${s}__${t}`])).toBe(true);

    // Shipping: the encoders become zoo models bank-<task> that load through the model runtime like any other.
    const shipped = join(root, 'shipped');
    const files = await shipBank(run, shipped, { command: 'test' });
    expect(files).toContain('bank.json');
    // Its measured affinities in zoo ids, for rank --via-transfers.
    const shippedAffinities = JSON.parse(readFileSync(join(shipped, 'affinities.json'), 'utf8')) as Record<string, number>;
    expect(Object.keys(shippedAffinities)).toHaveLength(Object.keys(e.affinities).length);
    for (const t of opts.tasks) {
      expect(shippedAffinities[`random__bank-${t}`]).toBe(e.affinities[`random__${t}`]);
      for (const s of opts.tasks) expect(shippedAffinities[`bank-${s}__bank-${t}`]).toBe(e.affinities[`${s}__${t}`]);
    }
    process.env.TASKMAP_BANK_DIR = shipped;
    expect(bankModels().map((m) => m.id)).toEqual(opts.tasks.map((t) => `bank-${t}`));
    const status = await probeZooModel(zooModel('bank-edges')!);
    expect(status.ok).toBe(true);
    expect(status.featureShape).toEqual([2, 2, 64]);
    const manifest = JSON.parse(readFileSync(join(shipped, 'bank.json'), 'utf8')) as { resolution: number; command: string };
    expect(manifest).toMatchObject({ resolution: 16, command: 'test' });
    // A previous bank is replaced whole; a folder of the user's that holds no bank is refused and left as it was.
    writeFileSync(join(shipped, 'stale.txt'), 'old');
    await shipBank(run, shipped, { command: 'again' });
    expect(readdirSync(shipped).sort()).toEqual(['affinities.json', 'bank.json', ...opts.tasks].sort());
    const mine = join(root, 'mine');
    mkdirSync(mine);
    writeFileSync(join(mine, 'notes.txt'), 'keep me');
    await expect(shipBank(run, mine)).rejects.toThrow(/is not empty and holds no bank\.json/);
    expect(readFileSync(join(mine, 'notes.txt'), 'utf8')).toBe('keep me');
    expect(readdirSync(root).filter((f) => f.includes('.shipping-') || f.includes('.previous-'))).toEqual([]);

    // A re-run computes nothing but the evaluation: every job's output is read back.
    const again = await runTaskbankBenchmark(opts);
    expect(again.losses).toEqual(run.losses);
    expect(again.evaluation.affinities).toEqual(e.affinities);

    // Per-task epochs: that task trains longer, in a bank folder of its own (the first bank's stays valid).
    const longer = await runTaskbankBenchmark({ ...opts, taskEpochs: { rotation: 2 } });
    expect(longer.dir).not.toBe(run.dir);
    expect(longer.tasks.map((t) => t.history.length)).toEqual([1, 1, 1, 2, 1]);
    expect(longer.tasks[3].history[0].loss).toBe(run.tasks[3].history[0].loss); // same seed, same first epoch
    await expect(runTaskbankBenchmark({ ...opts, taskEpochs: { nowhere: 2 } })).rejects.toThrow(/"nowhere" is not a task of this bank/);

    // Readout repeats: the first repeat is the single readout's file (reused), the others are seeded on from it, and
    // each transfer's per-image loss is the mean over the repeats; `self` is not a readout and is not repeated.
    const repeated = await runTaskbankBenchmark({ ...opts, readoutRepeats: 3 });
    expect(repeated.dir).toBe(run.dir);
    const file = (name: string) =>
      JSON.parse(readFileSync(join(run.dir, 'transfers', 'edges', name), 'utf8')) as { losses: number[]; settings: { seed: number } };
    const reps = ['denoising.json', 'denoising-r1.json', 'denoising-r2.json'].map(file);
    expect(reps.map((r) => r.settings.seed)).toEqual([0, 1, 2]);
    expect(reps[0].losses).toEqual(run.losses.filter((l) => l.target === 'edges' && l.source === 'denoising').map((l) => l.loss));
    expect(reps[1].losses).not.toEqual(reps[0].losses); // another readout seed, another readout
    const mean = repeated.losses.filter((l) => l.target === 'edges' && l.source === 'denoising');
    mean.forEach((l, i) => expect(l.loss).toBeCloseTo((reps[0].losses[i] + reps[1].losses[i] + reps[2].losses[i]) / 3, 14));
    const selfLosses = (r: typeof run) => r.losses.filter((l) => l.source === 'self');
    expect(selfLosses(repeated)).toEqual(selfLosses(run));
    expect(repeated.settings.readoutRepeats).toBe(3);
    // The repeats' own losses reach the evaluation: a reliability over 3 readout seeds. The tiny pool has one test
    // photograph, so nothing to halve: one readout alone has no reliability at all.
    expect(run.pool.photosPerPart.test).toBe(1);
    expect(Object.values(run.pool.photosPerPart).reduce((a, b) => a + b, 0)).toBe(run.pool.photos);
    expect(repeated.evaluation.reliability).toMatchObject({ unit: 'photograph', units: 1, splits: 0, readouts: { repeats: 3 } });
    expect(run.evaluation.reliability).toBeNull();
    await expect(runTaskbankBenchmark({ ...opts, readoutRepeats: 0 })).rejects.toThrow(/readout repeats must be a positive whole number/);

    // Weight decay of the vector targets' readouts: only rotation's readouts are redone, in files of their own.
    const decayed = await runTaskbankBenchmark({ ...opts, vectorReadoutDecay: 0.5 });
    expect(decayed.settings.vectorReadoutDecay).toBe(0.5);
    const rotation = JSON.parse(readFileSync(join(run.dir, 'transfers', 'rotation', 'denoising-wd0.5.json'), 'utf8')) as { settings: { weightDecay: number } };
    expect(rotation.settings.weightDecay).toBe(0.5);
    expect(readdirSync(join(run.dir, 'transfers', 'edges')).filter((f) => f.includes('-wd'))).toEqual([]);
    const of = (r: typeof run, target: string) => r.losses.filter((l) => l.target === target && l.source !== 'self');
    expect(of(decayed, 'edges')).toEqual(of(run, 'edges'));
    expect(of(decayed, 'rotation')).not.toEqual(of(run, 'rotation'));
    // The undecayed readouts stay as they were: a plain run reads them back.
    expect((await runTaskbankBenchmark(opts)).losses).toEqual(run.losses);
    await expect(runTaskbankBenchmark({ ...opts, vectorReadoutDecay: -1 })).rejects.toThrow(/vector readout decay must be a finite number ≥ 0/);
    await expect(runTaskbankBenchmark({ ...opts, labelScores: { scores: ['hscore'], labelled: 10 } })).rejects.toThrow(
      /hscore cannot read the bank's map targets/,
    );
    await expect(runTaskbankBenchmark({ ...opts, labelScores: { scores: ['nonesuch'], labelled: 10 } })).rejects.toThrow(
      /label score "nonesuch": neither a transferability score that reads maps \(logme\) nor a similarity measure/,
    );
    await expect(runTaskbankBenchmark({ ...opts, labelScores: { scores: [], labelled: 10 } })).rejects.toThrow(/label scores: name at least one/);
    expect((await runTaskbankBenchmark({ ...opts, labelScores: null })).evaluation.labelScores).toBeUndefined();
    // Another readout seed alone is read from its own files (those repeats' files), and replaces none.
    const second = await runTaskbankBenchmark({ ...opts, readout: { ...opts.readout, seed: 1 } });
    expect(second.losses.filter((l) => l.target === 'edges' && l.source === 'denoising').map((l) => l.loss)).toEqual(reps[1].losses);
    expect(file('denoising.json')).toEqual(reps[0]);
  }, 180_000);

  it('refuses a task list the evaluation cannot judge before it cuts a crop or trains anything', async () => {
    const cacheDir = join(mkdtempSync(join(tmpdir(), 'taskbank-refuse-')), 'cache');
    await expect(runTaskbankBenchmark({ tasks: ['autoencoding', 'denoising', 'edges'], cacheDir })).rejects.toThrow(/3 tasks; at least 4 are needed/);
    await expect(runTaskbankBenchmark({ tasks: ['autoencoding', 'denoising', 'colourisation', 'inpainting'], cacheDir })).rejects.toThrow(
      /every task has the same family/,
    );
    await expect(runTaskbankBenchmark({ tasks: ['autoencoding', 'edges', 'rotation', 'edges'], cacheDir })).rejects.toThrow(/"edges" is listed twice/);
    expect(existsSync(cacheDir)).toBe(false);
  });
});
