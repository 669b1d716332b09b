/**
 * `npm run bench:wholeprocess` (issue 15, goal 1): the 20×20 RSA matrix as a whole process, start-up and file
 * reading included, against a vectorised numpy/scipy script doing the same computation on the same files.
 *   - writes BENCH_MODELS (20) files of BENCH_N (500) images × BENCH_D (2,048) float32 features, seeded;
 *   - writes the numpy script: centre each feature, RDM = 1 − Pearson between images, Spearman of the upper
 *     triangles as one product of the centred, unit-length rank vectors (the same protocol as `--measure rsa`);
 *   - times `node bin/taskmap.js similarity DIR --measure rsa --out …` (default threads), the same with
 *     `--threads 1`, and `python3 rsa.py DIR …` alternately, BENCH_REPEATS (7) times each, and prints both medians, their ratio and the largest difference between
 *     the two matrices. Goal: taskmap < 1.0 s and ≤ 0.6× numpy.
 * Also times `taskmap --help` against a bare `node -e 0` (goal < 0.15 s).
 * Runs the built CLI (bin/taskmap.js loads dist/): run `npm run build` first.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAverage, maxNpyDifference, medianOf, root, wallMs, writeSeededSet } from './processBench.js';

const M = Number(process.env.BENCH_MODELS ?? 20);
const N = Number(process.env.BENCH_N ?? 500);
const D = Number(process.env.BENCH_D ?? 2048);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 7);
const dir = join(tmpdir(), `taskmap-wholeprocess-${M}x${N}x${D}`);
/** The feature set alone (the outputs go next to it, not into it). */
const features = join(dir, 'features');

const NUMPY_SCRIPT = `
import sys, glob, os
import numpy as np
from scipy.stats import rankdata

files = sorted(glob.glob(os.path.join(sys.argv[1], '*.npy')))
vectors = []
for f in files:
    x = np.load(f).astype(np.float64)
    x -= x.mean(axis=0)                           # centre each feature over the images
    rdm = 1 - np.corrcoef(x)                      # 1 - Pearson between images
    iu = np.triu_indices(rdm.shape[0], k=1)
    r = rankdata(rdm[iu])                         # average ranks of the upper triangle
    r -= r.mean()
    vectors.append(r / np.linalg.norm(r))
v = np.stack(vectors)
s = v @ v.T                                       # Spearman = Pearson of the ranks, all pairs at once
np.fill_diagonal(s, 1)
np.save(sys.argv[2], s)
`;

async function main(): Promise<void> {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('run `npm run build` first (the bench times the built CLI)');
  await writeSeededSet(features, M, N, D);
  const script = join(dir, 'rsa.py');
  await writeFile(script, NUMPY_SCRIPT);
  const outTs = join(dir, 'out-taskmap.npy');
  const outPy = join(dir, 'out-numpy.npy');
  const bin = join(root, 'bin', 'taskmap.js');
  console.log(`whole-process RSA: ${M} models × ${N} images × ${D} float32 features in ${dir}`);
  console.log(`machine: ${cpus().length} cores; load average before: ${loadAverage()}`);

  const help: number[] = [];
  const bare: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    bare.push(wallMs(process.execPath, ['-e', '0']));
    help.push(wallMs(process.execPath, [bin, '--help']));
  }
  const helpMs = medianOf(help);
  console.log(
    `taskmap --help: median ${helpMs.toFixed(0)} ms (bare \`node -e 0\`: ${medianOf(bare).toFixed(0)} ms; goal < 150 ms: ${helpMs < 150 ? 'met' : 'NOT met'})`,
  );

  const ts: number[] = [];
  const one: number[] = [];
  const py: number[] = [];
  const outOne = join(dir, 'out-taskmap-1thread.npy');
  // Warm the page cache for both, then alternate so that load changes hit every side alike. The default run
  // prepares the members on every core (a set this size passes prepareThreads' threshold); `--threads 1` is the
  // one-thread run beside it.
  wallMs(process.execPath, [bin, 'similarity', features, '--measure', 'rsa', '--out', outTs]);
  wallMs('python3', [script, features, outPy]);
  for (let r = 0; r < REPEATS; r++) {
    ts.push(wallMs(process.execPath, [bin, 'similarity', features, '--measure', 'rsa', '--out', outTs]));
    one.push(wallMs(process.execPath, [bin, 'similarity', features, '--measure', 'rsa', '--threads', '1', '--out', outOne]));
    py.push(wallMs('python3', [script, features, outPy]));
  }
  const diff = await maxNpyDifference(outTs, outPy);
  const threadsDiff = await maxNpyDifference(outTs, outOne);
  const tsMs = medianOf(ts);
  const pyMs = medianOf(py);
  const ratio = tsMs / pyMs;
  console.log(`taskmap similarity --measure rsa: median ${tsMs.toFixed(0)} ms over ${REPEATS} runs (${ts.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(
    `  the same with --threads 1:      median ${medianOf(one).toFixed(0)} ms (${one.map((x) => x.toFixed(0)).join(', ')}); max difference ${threadsDiff.toExponential(2)}`,
  );
  console.log(`numpy/scipy script:               median ${pyMs.toFixed(0)} ms over ${REPEATS} runs (${py.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(
    `ratio taskmap/numpy ${ratio.toFixed(2)} (goal ≤ 0.60: ${ratio <= 0.6 ? 'met' : 'NOT met'}); taskmap < 1.0 s: ${tsMs < 1000 ? 'met' : 'NOT met'}`,
  );
  console.log(`max |taskmap − numpy| over the ${M}×${M} matrix: ${diff.toExponential(2)}`);
  console.log(`load average after: ${loadAverage()}`);
  try {
    console.log(`python: ${execFileSync('python3', ['-c', 'import numpy, scipy; print(numpy.__version__, scipy.__version__)'], { encoding: 'utf8' }).trim()}`);
  } catch {
    /* reported above through the failure of the script itself */
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
