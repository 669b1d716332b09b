/**
 * `npm run bench:cka` (issue 15, goal 5): CKA similarity matrices and single RDMs as whole processes, start-up and
 * file reading included, against the CKA authors' plain numpy code and scipy `pdist` on the same files.
 *   - writes two seeded feature sets (float32 .npy, models × images × features): 5 × 200 × 500 and 10 × 1,000 × 2,048
 *     (BENCH_SETS=small or large for one of them);
 *   - writes the numpy script: Kornblith et al.'s `gram_linear` / `gram_rbf` (bandwidth from the median of all n²
 *     squared distances, `threshold` = taskmap's t = 0.5), `center_gram` (biased, or unbiased for debiased HSIC)
 *     and `cka`, with each model's Gram computed once and `cka(gram_i, gram_j)` for every pair, as their notebook
 *     does (and, for information, the same functions with each Gram centred once and all pairs from one product of
 *     the unit-norm centred Grams, as taskmap computes them); and the scipy script: `squareform(pdist(x, metric))`;
 *   - times `node bin/taskmap.js similarity DIR --measure cka[:…] --out …` against the numpy script, and
 *     `node bin/taskmap.js rdm FILE --distance … --out …` against the scipy script (on the set's first file),
 *     alternately, BENCH_REPEATS (5) times each after one warm-up of each, and prints both medians, their ratio and
 *     the largest difference between the two outputs. Goal: ratio ≤ 1.0 everywhere. BENCH_ONLY=text keeps the rows
 *     whose name contains it.
 * Runs the built CLI (bin/taskmap.js loads dist/): `npx tsc -p tsconfig.build.json` first.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAverage, maxNpyDifference, medianOf, root, wallMs, writeSeededSet } from './processBench.js';

interface BenchSet {
  name: string;
  m: number;
  n: number;
  d: number;
}

const SETS: BenchSet[] = [
  { name: 'small', m: 5, n: 200, d: 500 },
  { name: 'large', m: 10, n: 1000, d: 2048 },
].filter((s) => !process.env.BENCH_SETS || process.env.BENCH_SETS.split(',').includes(s.name));
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
/** BENCH_ONLY=rbf (a substring of the row's name, e.g. `rdm`, `debiased`) runs only the matching rows. */
const only = (what: string) => !process.env.BENCH_ONLY || what.includes(process.env.BENCH_ONLY);
/** taskmap measure id → arguments of the numpy script (kernel, debiased). */
const CKA_MEASURES: [string, string, string][] = [
  ['cka', 'linear', '0'],
  ['cka:debiased', 'linear', '1'],
  ['cka:kernel=rbf', 'rbf', '0'],
  ['cka:kernel=rbf,debiased', 'rbf', '1'],
];
const DISTANCES = ['correlation', 'cosine', 'euclidean', 'sqeuclidean'];
const base = join(tmpdir(), 'taskmap-cka-bench');

/** The CKA authors' functions (Kornblith et al. 2019, their colab), unchanged but for the loop over models. */
const CKA_SCRIPT = `
import sys, glob, os
import numpy as np

def gram_linear(x):
  return x.dot(x.T)

def gram_rbf(x, threshold=1.0):
  dot_products = x.dot(x.T)
  sq_norms = np.diag(dot_products)
  sq_distances = -2 * dot_products + sq_norms[:, None] + sq_norms[None, :]
  sq_median_distance = np.median(sq_distances)
  return np.exp(-sq_distances / (2 * threshold ** 2 * sq_median_distance))

def center_gram(gram, unbiased=False):
  if not np.allclose(gram, gram.T):
    raise ValueError('Input must be a symmetric matrix.')
  gram = gram.copy()
  if unbiased:
    n = gram.shape[0]
    np.fill_diagonal(gram, 0)
    means = np.sum(gram, 0, dtype=np.float64) / (n - 2)
    means -= np.sum(means) / (2 * (n - 1))
    gram -= means[:, None]
    gram -= means[None, :]
    np.fill_diagonal(gram, 0)
  else:
    means = np.mean(gram, 0, dtype=np.float64)
    means -= np.mean(means) / 2
    gram -= means[:, None]
    gram -= means[None, :]
  return gram

def cka(gram_x, gram_y, debiased=False):
  gram_x = center_gram(gram_x, unbiased=debiased)
  gram_y = center_gram(gram_y, unbiased=debiased)
  scaled_hsic = gram_x.ravel().dot(gram_y.ravel())
  normalization_x = np.linalg.norm(gram_x)
  normalization_y = np.linalg.norm(gram_y)
  return scaled_hsic / (normalization_x * normalization_y)

directory, out, kernel, debiased, threshold = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == '1', float(sys.argv[5])
stacked = len(sys.argv) > 6 and sys.argv[6] == 'stacked'
files = sorted(glob.glob(os.path.join(directory, '*.npy')))
grams = []
for f in files:
  x = np.load(f).astype(np.float64)
  grams.append(gram_linear(x) if kernel == 'linear' else gram_rbf(x, threshold))
m = len(grams)
if stacked:
  # Beyond the authors' code: each Gram centred once, all pairs from one product of the unit-norm centred Grams.
  v = np.stack([c.ravel() / np.linalg.norm(c) for c in (center_gram(g, unbiased=debiased) for g in grams)])
  s = v @ v.T
  np.fill_diagonal(s, 1)
else:
  s = np.eye(m)
  for i in range(m):
    for j in range(i + 1, m):
      s[i, j] = s[j, i] = cka(grams[i], grams[j], debiased)
np.save(out, s)
`;

const PDIST_SCRIPT = `
import sys
import numpy as np
from scipy.spatial.distance import pdist, squareform
x = np.load(sys.argv[1]).astype(np.float64)
np.save(sys.argv[2], squareform(pdist(x, sys.argv[3])))
`;

function featuresOf(set: BenchSet): string {
  return join(base, `${set.m}x${set.n}x${set.d}`, 'features');
}

type Command = [string, string[]];

/** The commands in turn, BENCH_REPEATS rounds (after one warm-up each, for the page cache): each one's times. */
function race(commands: Command[]): number[][] {
  for (const c of commands) wallMs(...c);
  const out = commands.map(() => [] as number[]);
  for (let r = 0; r < REPEATS; r++) commands.forEach((c, i) => out[i].push(wallMs(...c)));
  return out;
}

const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');

/** One row: taskmap's median against the goal's reference (ratio ≤ 1.0), and against any further references. */
function report(what: string, ts: number[], refs: { name: string; times: number[]; diff: number }[]): void {
  const t = medianOf(ts);
  const [goal, ...more] = refs;
  const ratio = t / medianOf(goal.times);
  console.log(
    `${what.padEnd(44)} taskmap ${t.toFixed(0).padStart(5)} ms  ${goal.name} ${medianOf(goal.times).toFixed(0).padStart(5)} ms  ratio ${ratio.toFixed(2)} ` +
      `(${ratio <= 1 ? 'met' : 'NOT met'})  max |diff| ${goal.diff.toExponential(1)}`,
  );
  for (const r of more) {
    console.log(
      `${''.padEnd(44)} ${r.name} ${medianOf(r.times).toFixed(0).padStart(5)} ms: ratio ${(t / medianOf(r.times)).toFixed(2)}, max |diff| ${r.diff.toExponential(1)}`,
    );
  }
  console.log(`    taskmap: ${fmt(ts)}; ${refs.map((r) => `${r.name}: ${fmt(r.times)}`).join('; ')}`);
}

async function main(): Promise<void> {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('run `npx tsc -p tsconfig.build.json` first (the bench times the built CLI)');
  await mkdir(base, { recursive: true });
  const ckaScript = join(base, 'cka.py');
  const pdistScript = join(base, 'rdm.py');
  await writeFile(ckaScript, CKA_SCRIPT);
  await writeFile(pdistScript, PDIST_SCRIPT);
  const bin = join(root, 'bin', 'taskmap.js');
  const outTs = join(base, 'out-taskmap.npy');
  const outPy = join(base, 'out-numpy.npy');
  const outStacked = join(base, 'out-numpy-stacked.npy');
  console.log(`machine: ${cpus().length} cores; load average before: ${loadAverage()}; ${REPEATS} alternating runs each, medians`);
  for (const set of SETS) {
    const features = featuresOf(set);
    await writeSeededSet(features, set.m, set.n, set.d);
    const shape = `${set.m}×${set.n}×${set.d}`;
    console.log(`\n${shape} (models × images × features, float32) in ${features}`);
    for (const [id, kernel, debiased] of CKA_MEASURES) {
      if (!only(`${shape} similarity --measure ${id}`)) continue;
      const py = ['python3', [ckaScript, features, outPy, kernel, debiased, '0.5']] as Command;
      const stacked = ['python3', [ckaScript, features, outStacked, kernel, debiased, '0.5', 'stacked']] as Command;
      const [ts, authors, once] = race([[process.execPath, [bin, 'similarity', features, '--measure', id, '--out', outTs]], py, stacked]);
      report(`${shape} similarity --measure ${id}`, ts, [
        { name: 'authors', times: authors, diff: await maxNpyDifference(outTs, outPy) },
        { name: 'numpy centred once + one product', times: once, diff: await maxNpyDifference(outTs, outStacked) },
      ]);
    }
    const file = join(features, 'model00.npy');
    for (const distance of DISTANCES) {
      if (!only(`${set.n}×${set.d} rdm --distance ${distance}`)) continue;
      const [ts, scipy] = race([
        [process.execPath, [bin, 'rdm', file, '--distance', distance, '--out', outTs]],
        ['python3', [pdistScript, file, outPy, distance]],
      ]);
      report(`${set.n}×${set.d} rdm --distance ${distance}`, ts, [{ name: 'pdist', times: scipy, diff: await maxNpyDifference(outTs, outPy) }]);
    }
  }
  console.log(`\nload average after: ${loadAverage()}`);
  try {
    console.log(
      `python: numpy ${execFileSync('python3', ['-c', 'import numpy, scipy; print(numpy.__version__, "scipy", scipy.__version__)'], { encoding: 'utf8' }).trim()}`,
    );
  } catch {
    /* reported above through the failure of the scripts themselves */
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
