/**
 * Issue 17 (items 2 and 8) at the CLI: `benchmark measures --include-self` on the project's own zoo-transfer
 * affinities, `evaluate` warning about the labels it leaves out, `rdm` printing without --out like `similarity`,
 * `candidates` errors naming the options given, and `similarity --help` in sections.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { saveFeatureSet } from '../../src/features/featureSet.js';
import { writeNpy } from '../../src/io/npy.js';
import { SIMILARITY_HELP_GROUPS } from '../../src/cli/commands/similarity.js';
import { runCli } from '../helpers/cli.js';
import { randomRep } from '../helpers/random.js';
import { repoRoot, sharedDataDir, skipWithoutSharedData } from '../helpers/sharedData.js';

const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'taskmap-i17-'));
  temps.push(d);
  return d;
};

const ZOO_AFFINITIES = path.join(repoRoot, 'results/zoo-transfer/affinities.json');

describe('benchmark measures --include-self on results/zoo-transfer/affinities.json (self stored as self__t)', () => {
  it('scores every target with its own entry instead of failing on a NaN diagonal', async () => {
    const dir = tempDir();
    const models = ['age', 'emotion', 'gender', 'iris', 'meet'];
    await saveFeatureSet(path.join(dir, 'features'), { n: 16, members: models.map((m, i) => randomRep(m, 16, [6], 90 + i)) });
    const out = path.join(dir, 'table.json');
    const r = await runCli('benchmark', 'measures', path.join(dir, 'features'), '--truth', ZOO_AFFINITIES, '--include-self', '--measure', 'cka', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.err).not.toMatch(/NaN/);
    const table = JSON.parse(readFileSync(out, 'utf8'));
    expect(table.includeSelf).toBe(true);
    expect(table.targets).toEqual(models);
    expect(table.rows[0].error).toBeUndefined();
    expect(Object.keys(table.rows[0].per_target)).toEqual(models);
    // The other 15 zoo models are in the truth only: said once, by name.
    expect(r.err).toMatch(/taskmap: warning: source \(row\) labels only in the truth, left out: antispoof, blazeface-front, /);
  });
});

describe('evaluate warns about the labels it leaves out', () => {
  it('names prediction-only and truth-only labels on stderr; a full match prints no warning', async () => {
    const dir = tempDir();
    const pred = path.join(dir, 'pred.json');
    const labels = ['a', 'b', 'c', 'd', 'zz'];
    const m = labels.map((_, i) => labels.map((__, j) => (i === j ? 1 : 1 / (1 + Math.abs(i - j) + 0.1 * i))));
    writeFileSync(pred, JSON.stringify({ rows: labels, cols: labels, matrix: m }));
    const truth = path.join(dir, 'truth.json');
    const tl = ['a', 'b', 'c', 'd', 'e'];
    writeFileSync(truth, JSON.stringify({ rows: tl, cols: tl, matrix: tl.map((_, i) => tl.map((__, j) => (i * 7 + j * 3) % 5)) }));
    const r = await runCli('evaluate', '--predicted', pred, '--truth', truth);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('taskmap: warning: source (row) labels only in the prediction, left out: zz\n');
    expect(r.err).toContain('taskmap: warning: source (row) labels only in the truth, left out: e\n');
    expect(r.err).toContain('taskmap: warning: target (column) labels only in the truth, left out: e (check the names, or pass --alias old=new)\n');
    const quiet = await runCli('evaluate', '--predicted', pred, '--truth', truth, '--sources', 'a,b,c,d', '--targets', 'a,b');
    expect(quiet.code, quiet.err).toBe(0);
    expect(quiet.err).not.toMatch(/warning/);
  });
});

describe('rdm without --out prints, like similarity', () => {
  it('a summary and the matrix for a few images; the summary alone for many; --out still writes the .npy', async () => {
    const dir = tempDir();
    const small = path.join(dir, 'small.npy');
    // Three images on a line: euclidean RDM [[0,1,3],[1,0,2],[3,2,0]].
    writeFileSync(small, writeNpy({ dtype: 'float64', shape: [3, 2], data: Float64Array.from([0, 0, 1, 0, 3, 0]) }));
    const r = await runCli('rdm', small, '--distance', 'euclidean');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^euclidean RDM of small: 3×3, zero diagonal; off-diagonal min 1\.0000, mean 2\.0000, max 3\.0000\n/);
    expect(
      r.out
        .split('\n')
        .slice(3, 6)
        .map((l) => l.trim().split(/\s+/).map(Number)),
    ).toEqual([
      [0, 0, 1, 3],
      [1, 1, 0, 2],
      [2, 3, 2, 0],
    ]);
    const big = path.join(dir, 'big.npy');
    writeFileSync(big, writeNpy({ dtype: 'float64', shape: [20, 2], data: Float64Array.from({ length: 40 }, (_, i) => Math.sin(i) + i) }));
    const b = await runCli('rdm', big);
    expect(b.code, b.err).toBe(0);
    expect(b.out).toMatch(/^correlation RDM of big: 20×20, zero diagonal; .*\n\(the matrix has more than 12 images: pass --out rdm\.npy to write it\)\n$/);
    const out = path.join(dir, 'rdm.npy');
    const w = await runCli('rdm', small, '--distance', 'euclidean', '--out', out);
    expect(w.code, w.err).toBe(0);
    expect(w.out).toBe('');
    expect(w.err).toContain(`euclidean RDM of small: 3×3 → ${out}`);
  });
});

describe.skipIf(skipWithoutSharedData)('candidates errors name the options given', () => {
  const A = `${sharedDataDir}/taskonomy/results/affinities/all_affinities.json`;
  it('an unknown --targets with --affinities is reported against the affinities, not a ranking', async () => {
    const r = await runCli('candidates', '--affinities', A, '--targets', 'nope');
    expect(r.code).toBe(1);
    expect(r.err).toBe('taskmap: target "nope" has no first-order transfer in the affinities (no key "<source>__nope")\n');
  });
  it('--chains and --min-order/--max-order are checked as the options they are', async () => {
    const chains = await runCli('candidates', '--affinities', A, '--chains', '5-3');
    expect(chains.err).toBe('taskmap: --chains: expected 1 ≤ from ≤ to, got "5-3"\n');
    const orders = await runCli('candidates', '--affinities', A, '--min-order', '3', '--max-order', '2');
    expect(orders.code).toBe(1);
    expect(orders.err).toBe('taskmap: --min-order 3 is above --max-order 2: no order to generate\n');
  });
});

describe('similarity --help', () => {
  it('groups the measure parameters, the Fisher probe options and input/output under their own headings', async () => {
    const r = await runCli('similarity', '--help');
    expect(r.code).toBe(0);
    const at = (s: string) => r.out.indexOf(s);
    const [measure, probe, io] = [SIMILARITY_HELP_GROUPS.measure, SIMILARITY_HELP_GROUPS.probe, SIMILARITY_HELP_GROUPS.io].map(at);
    expect(measure).toBeGreaterThan(0);
    expect(probe).toBeGreaterThan(measure);
    expect(io).toBeGreaterThan(probe);
    const section = (from: number, to: number) => r.out.slice(from, to);
    expect(section(measure, probe)).toMatch(/--kernel <kernel>/);
    expect(section(measure, probe)).not.toMatch(/--epochs|--variant|--width-scale/);
    expect(section(probe, io)).toMatch(/--variant <v>[\s\S]*--epochs <n>[\s\S]*--weight-decay/);
    expect(section(probe, io)).not.toMatch(/--kernel|--out/);
    expect(section(io, r.out.length)).toMatch(/-o, --out <file>[\s\S]*--engine <kind>/);
  });
});

describe('test temp folders', () => {
  it('every CLI, Taskonomy and evaluation test file that makes a temp folder also removes it', () => {
    // Checked by running test/cli and test/taskonomy with `ls /tmp | grep taskmap` before and after (nothing new);
    // this keeps a new test file from forgetting its clean-up.
    const files = ['test/cli', 'test/taskonomy', 'test/evaluate']
      .flatMap((d) => readdirSync(path.join(repoRoot, d)).map((f) => `${d}/${f}`))
      .concat(['test/models/cli.test.ts'])
      .filter((f) => f.endsWith('.test.ts'));
    const leaky = files.filter((f) => {
      const text = readFileSync(path.join(repoRoot, f), 'utf8');
      return /\bmkdtemp(Sync)?\(/.test(text) && !/\brm(Sync)?\([^)]*recursive: true/.test(text);
    });
    expect(files.length).toBeGreaterThan(8);
    expect(leaky).toEqual([]);
  });
});
