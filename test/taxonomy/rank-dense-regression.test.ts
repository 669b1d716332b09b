/**
 * `taskmap rank --target maps.npy --target-kind regression`: a .npy read as the new task's regression values, one
 * vector per image (a dense map, any shape with the images first). LogME of K columns is the mean of the K one-column
 * LogMEs (its definition), each of which the .csv path computes; a measure compares the vectors as features, so it
 * equals the same .npy ranked as a representation; bad files are refused with the reason.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveFeatureSet } from '../../src/features/featureSet.js';
import { writeNpy } from '../../src/io/npy.js';
import { runCli } from '../helpers/cli.js';
import { randomRep } from '../helpers/random.js';

const n = 40;
const members = ['a', 'b', 'c', 'd'].map((l, k) => randomRep(l, n, [7], 60 + k));
// The new task: a 2 × 2 one-channel map per image (K = 4 values), each cell a mix of two candidates' features plus
// noise, so the candidates differ in how well they predict it.
const K = 4;
const noise = randomRep('noise', n, [K], 70);
const maps = new Float64Array(n * K);
for (let i = 0; i < n; i++) {
  for (let j = 0; j < K; j++) maps[i * K + j] = members[0].data[i * 7 + j] + 0.5 * members[1].data[i * 7 + j + 1] + 0.8 * noise.data[i * K + j];
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taskmap-rank-dense-'));
  await saveFeatureSet(join(dir, 'set'), { n, members });
  await writeFile(join(dir, 'maps.npy'), writeNpy({ dtype: 'float64', shape: [n, 2, 2, 1], data: maps }));
  await writeFile(join(dir, 'maps32.npy'), writeNpy({ dtype: 'float32', shape: [n, K], data: Float32Array.from(maps) }));
  for (let j = 0; j < K; j++) {
    await writeFile(join(dir, `col${j}.csv`), Array.from({ length: n }, (_, i) => String(maps[i * K + j])).join('\n'));
  }
  await writeFile(join(dir, 'col0.npy'), writeNpy({ dtype: 'float64', shape: [n], data: Float64Array.from({ length: n }, (_, i) => maps[i * K]) }));
  await writeFile(join(dir, 'short.npy'), writeNpy({ dtype: 'float64', shape: [n - 1, K], data: maps.subarray(0, (n - 1) * K) }));
  const withNaN = Float64Array.from(maps);
  withNaN[5 * K + 2] = Number.NaN;
  await writeFile(join(dir, 'nan.npy'), writeNpy({ dtype: 'float64', shape: [n, K], data: withNaN }));
  const flat = Float64Array.from({ length: n * K }, (_, q) => [1, 2, 3, 4][q % K]);
  await writeFile(join(dir, 'flat.npy'), writeNpy({ dtype: 'float64', shape: [n, K], data: flat }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function scores(...args: string[]): Promise<Record<string, number>> {
  const out = join(dir, `r-${Math.random().toString(36).slice(2)}.json`);
  const r = await runCli('rank', join(dir, 'set'), ...args, '--out', out);
  expect(r.code, r.err).toBe(0);
  const json = JSON.parse(await readFile(out, 'utf8'));
  return Object.fromEntries((json.ranking as { label: string; score: number }[]).map((e) => [e.label, e.score]));
}

describe('taskmap rank with a .npy of regression values', () => {
  it('LogME of the maps is the mean of the one-column LogMEs, whatever the stored shape or dtype', async () => {
    const dense = await scores('--target', join(dir, 'maps.npy'), '--target-kind', 'regression', '--measure', 'logme');
    const columns = [];
    for (let j = 0; j < K; j++) columns.push(await scores('--target', join(dir, `col${j}.csv`), '--target-kind', 'regression', '--measure', 'logme'));
    for (const m of members) {
      const mean = columns.reduce((s, c) => s + c[m.label], 0) / K;
      expect(dense[m.label]).toBeCloseTo(mean, 12);
    }
    // The candidates that make up the maps predict them best.
    expect(Object.entries(dense).sort((x, y) => y[1] - x[1])[0][0]).toBe('a');
    // float32 storage of the same values (rounded to float32): close, not equal.
    const f32 = await scores('--target', join(dir, 'maps32.npy'), '--target-kind', 'regression', '--measure', 'logme');
    for (const m of members) expect(f32[m.label]).toBeCloseTo(dense[m.label], 5);
    // One value per image in a .npy reads like the same values in a .csv.
    expect(await scores('--target', join(dir, 'col0.npy'), '--target-kind', 'regression', '--measure', 'logme')).toEqual(columns[0]);
  });

  it('a measure compares the vectors as features: the same as the .npy ranked as a representation', async () => {
    for (const measure of ['rsa', 'cka', 'dds']) {
      const asLabels = await scores('--target', join(dir, 'maps.npy'), '--target-kind', 'regression', '--measure', measure);
      const asFeatures = await scores('--target', join(dir, 'maps.npy'), '--measure', measure);
      for (const m of members) expect(asLabels[m.label], measure).toBeCloseTo(asFeatures[m.label], 12);
    }
  });

  it('takes the maps as --labels beside a trained network, and refuses bad files with the reason', async () => {
    const out = join(dir, 'both.json');
    const r = await runCli('rank', join(dir, 'set'), '--target', 'a', '--labels', join(dir, 'maps.npy'), '--target-kind', 'regression', '--out', out);
    expect(r.code, r.err).toBe(0);
    const both = JSON.parse(await readFile(out, 'utf8')).with_labels;
    expect(both.labelKind).toBe('regression');
    const dense = await scores('--target', join(dir, 'maps.npy'), '--target-kind', 'regression', '--measure', 'logme');
    for (const e of both.ranking as { label: string; score: number }[]) expect(e.score).toBe(dense[e.label]);

    const cases: [string[], RegExp][] = [
      [['--target', join(dir, 'maps.npy'), '--target-kind', 'class'], /a \.npy holds labels only as regression values/],
      [['--target', 'a', '--labels', join(dir, 'maps.npy')], /a \.npy holds labels only as regression values/],
      [
        ['--target', join(dir, 'short.npy'), '--target-kind', 'regression', '--measure', 'logme'],
        /39 rows of regression values, but the feature set has 40 images/,
      ],
      [['--target', join(dir, 'nan.npy'), '--target-kind', 'regression', '--measure', 'logme'], /regression value 2 of image 5 is NaN, not a finite number/],
      [['--target', join(dir, 'flat.npy'), '--target-kind', 'regression', '--measure', 'logme'], /all 40 images have the same 4 regression values/],
      [
        ['--target', join(dir, 'maps.npy'), '--target-kind', 'regression', '--target-images', join(dir, 'col0.csv')],
        /--target-images applies only to a \.npy target of features/,
      ],
    ];
    for (const [args, message] of cases) {
      const res = await runCli('rank', join(dir, 'set'), ...args);
      expect(res.code, args.join(' ')).not.toBe(0);
      expect(res.err, args.join(' ')).toMatch(message);
    }
  });
});
