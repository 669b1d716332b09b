import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { saveFeatureSet } from '../../src/features/featureSet.js';
import { readNpy } from '../../src/io/npy.js';
import { similarityMatrix } from '../../src/measures/similarity.js';
import { randomRep } from '../helpers/random.js';
import { repoRoot, sharedDataDir, skipWithoutSharedData } from '../helpers/sharedData.js';
import { lastOutput, runCliCode } from '../helpers/cli.js';

const run = runCliCode;

const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = (prefix: string) => {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  temps.push(d);
  return d;
};

function tempSet(): { dir: string; reps: ReturnType<typeof randomRep>[] } {
  const dir = tempDir('taskmap-cli-');
  const reps = ['b_model', 'a_model', 'c_model'].map((l, i) => randomRep(l, 12, [2, 2, 3], 40 + i));
  return { dir, reps };
}

describe('taskmap similarity', () => {
  it('writes the labelled JSON matrix equal to the library result, rows sorted by label', async () => {
    const { dir, reps } = tempSet();
    await saveFeatureSet(path.join(dir, 'features'), { n: 12, members: reps });
    const outFile = path.join(dir, 'sim.json');
    expect(await run('similarity', path.join(dir, 'features'), '--measure', 'dds', '--kernel', 'lap', '--out', outFile)).toBe(0);
    const json = JSON.parse(readFileSync(outFile, 'utf8'));
    expect(json.rows).toEqual(['a_model', 'b_model', 'c_model']);
    expect(json.measure).toBe('dds:norm=znorm,kernel=lap');
    const sorted = [reps[1], reps[0], reps[2]];
    const lib = await similarityMatrix(sorted, 'dds:norm=znorm,kernel=lap');
    expect(json.matrix.flat()).toEqual(Array.from(lib.matrix.data));
  });
  it('--order, csv and npy outputs', async () => {
    const { dir, reps } = tempSet();
    await saveFeatureSet(path.join(dir, 'f'), { n: 12, members: reps });
    expect(await run('similarity', path.join(dir, 'f'), '--order', 'c_model,a_model', '--out', path.join(dir, 's.csv'))).toBe(0);
    const csv = readFileSync(path.join(dir, 's.csv'), 'utf8').trim().split('\n');
    expect(csv[0].split(',').slice(1)).toEqual(['c_model', 'a_model']);
    expect(await run('similarity', path.join(dir, 'f'), '--out', path.join(dir, 's.npy'))).toBe(0);
    const npy = readNpy(new Uint8Array(readFileSync(path.join(dir, 's.npy'))), 's.npy');
    expect(npy.shape).toEqual([3, 3]);
    expect(npy.dtype).toBe('float64');
  });
  it('prints a table without --out', async () => {
    const { dir, reps } = tempSet();
    await saveFeatureSet(path.join(dir, 'f'), { n: 12, members: reps });
    expect(await run('similarity', path.join(dir, 'f'), '-m', 'cka:debiased')).toBe(0);
    expect(lastOutput.out).toMatch(/cka:debiased \(3 models, 12 images/);
    expect(lastOutput.out).toMatch(/a_model\s+1\.000/);
  });
  it('bad input: unknown measure parameter, missing directory, conflicting flags → exit 1 with one clear line', async () => {
    const { dir, reps } = tempSet();
    await saveFeatureSet(path.join(dir, 'f'), { n: 12, members: reps });
    expect(await run('similarity', path.join(dir, 'f'), '--measure', 'dds:kernel=poly')).toBe(1);
    expect(lastOutput.err).toMatch(/^taskmap: measure "dds:kernel=poly": kernel="poly" is not one of/);
    expect(await run('similarity', path.join(dir, 'nope'))).toBe(1);
    expect(lastOutput.err).toMatch(/nope/);
    expect(await run('similarity', path.join(dir, 'f'), '--measure', 'dds:kernel=lap', '--kernel', 'rbf')).toBe(1);
    expect(lastOutput.err).toMatch(/given twice/);
  });
});

describe('taskmap rdm', () => {
  it('writes an N×N float64 RDM with zero diagonal', async () => {
    const { dir, reps } = tempSet();
    await saveFeatureSet(path.join(dir, 'f'), { n: 12, members: reps });
    const file = path.join(dir, 'f', 'a_model.npy');
    expect(await run('rdm', file, '--distance', 'euclidean', '--out', path.join(dir, 'rdm.npy'))).toBe(0);
    const rdm = readNpy(new Uint8Array(readFileSync(path.join(dir, 'rdm.npy'))), 'rdm.npy');
    expect(rdm.shape).toEqual([12, 12]);
    const d = rdm.data as Float64Array;
    const x = reps[1].data;
    let s = 0;
    for (let k = 0; k < 12; k++) s += (x[k] - x[12 + k]) ** 2;
    expect(d[1]).toBeCloseTo(Math.sqrt(s), 10);
    expect(d[0]).toBe(0);
    expect(await run('rdm', file, '--distance', 'manhattan', '--out', path.join(dir, 'x.npy'))).toBe(1);
    expect(existsSync(path.join(dir, 'x.npy'))).toBe(false);
  });
});

describe('taskmap benchmark measures', () => {
  it('scores each measure with one protocol and reports measures that cannot apply', async () => {
    const dir = tempDir('taskmap-bench-');
    const reps = ['p', 'q', 'r', 's', 't'].map((l, i) => randomRep(l, 12, [2, 2, 3], 70 + i));
    await saveFeatureSet(path.join(dir, 'f'), { n: 12, members: reps });
    // Truth = the RSA matrix itself, so RSA must score exactly 1 on every target.
    const truth = await similarityMatrix(reps, 'rsa');
    writeFileSync(
      path.join(dir, 'truth.json'),
      JSON.stringify({ rows: truth.rows, cols: truth.cols, matrix: [0, 1, 2, 3, 4].map((i) => Array.from(truth.matrix.data.subarray(i * 5, i * 5 + 5))) }),
    );
    const outFile = path.join(dir, 'table.json');
    const code = await run(
      'benchmark',
      'measures',
      path.join(dir, 'f'),
      '--truth',
      path.join(dir, 'truth.json'),
      '--measures',
      'rsa;cka',
      '--measure',
      'dds:norm=group_norm,kernel=linear',
      '--include-self',
      '--out',
      outFile,
    );
    expect(code, lastOutput.err).toBe(0);
    const table = JSON.parse(readFileSync(outFile, 'utf8'));
    expect(table.rows.map((r: { measure: string }) => r.measure)).toEqual(['rsa', 'cka', 'dds:norm=group_norm,kernel=linear']);
    expect(table.rows[0].mean).toBeCloseTo(1, 12);
    expect(table.rows[1].mean).toBeLessThan(1);
    expect(table.rows[2].mean).toBeNull();
    expect(table.rows[2].error).toMatch(/3 channels to split into 2 equal groups/);
    expect(lastOutput.out).toMatch(/5 models × 12 images; mean spearman over 5 targets \(self included\)/);
  });
});

describe.skipIf(skipWithoutSharedData)('taskmap evaluate on the published data', () => {
  it('reproduces the DDS paper: znorm + cosine → 0.862 mean Spearman vs Taskonomy affinities (pickle read safely)', async () => {
    const dds = path.join(sharedDataDir, 'duality-diagram-similarity');
    const fixtures = JSON.parse(readFileSync(path.join(dds, 'evaluation_fixtures.json'), 'utf8'));
    const kernels = JSON.parse(readFileSync(path.join(dds, 'CVPR2020_results/normcomparison_taskonomy_5000/rdms.json'), 'utf8'));
    const order: string[] = fixtures.dds_task_order_20;
    const dir = tempDir('taskmap-eval-');
    const predicted = path.join(dir, 'dds_znorm_cosine.json');
    writeFileSync(predicted, JSON.stringify({ rows: order, cols: order, matrix: kernels.cosine.cka.debiased_centered.znorm[0] }));
    const keys: string[] = fixtures.taskonomy_affinity_keys_17;
    const outFile = path.join(dir, 'eval.json');
    const code = await run(
      'evaluate',
      '--predicted',
      predicted,
      '--truth',
      path.join(sharedDataDir, 'taskonomy/results/affinities/all_affinities.pkl'),
      '--alias',
      'vanishing_point=vanishing_point_well_defined',
      '--alias',
      'segmentsemantic=segmentsemantic_rb',
      '--targets',
      keys.join(','),
      '--sources',
      keys.join(','),
      '--include-self',
      '--out',
      outFile,
    );
    expect(code, lastOutput.err).toBe(0);
    const result = JSON.parse(readFileSync(outFile, 'utf8'));
    expect(result.mean).toBeCloseTo(0.8620242214532873, 12);
    expect(lastOutput.out).toMatch(/mean spearman over 17 targets: 0\.8620 \(self included\)/);
  });
});

describe('the installed bin', () => {
  it('`taskmap --help` lists the commands (built by npm ci / npm run build)', { timeout: 120_000 }, () => {
    const bin = path.join(repoRoot, 'bin', 'taskmap.js');
    // Always rebuild: a stale dist/ would test yesterday's CLI (npm ci builds it the same way via `prepare`).
    execFileSync('npm', ['run', 'build'], { cwd: repoRoot, stdio: 'ignore' });
    const res = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    expect(res.status).toBe(0);
    for (const cmd of ['similarity', 'rdm', 'evaluate', 'measures']) expect(res.stdout).toContain(cmd);
    const bad = spawnSync(process.execPath, [bin, 'similarity', '/nonexistent/features'], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^taskmap: /);
  });
});

describe('help text', () => {
  it('re-flows soft line breaks but keeps paragraphs, lists and examples', async () => {
    const { reflow } = await import('../../src/cli/main.js');
    expect(reflow('one line\ncontinues here.\n\nNext paragraph:\n  --flag   stays\n  --other  too\nback to text')).toBe(
      'one line continues here.\n\nNext paragraph:\n  --flag   stays\n  --other  too\nback to text',
    );
  });
});
