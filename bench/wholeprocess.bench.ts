/**
 * `npm run bench:wholeprocess` (issue 15, goal 1): the 20×20 RSA matrix as a whole process, start-up and file
 * reading included, against a vectorised numpy/scipy script doing the same computation on the same files.
 *   - writes BENCH_MODELS (20) files of BENCH_N (500) images × BENCH_D (2,048) float32 features, seeded;
 *   - writes the numpy script: centre each feature, RDM = 1 − Pearson between images, Spearman of the upper
 *     triangles as one product of the centred, unit-length rank vectors (the same protocol as `--measure rsa`);
 *   - times `node bin/taskmap.js similarity DIR --measure rsa --out …` and `python3 rsa.py DIR …` alternately,
 *     BENCH_REPEATS (7) times each, and prints both medians, their ratio and the largest difference between
 *     the two matrices. Goal: taskmap < 1.0 s and ≤ 0.6× numpy.
 * Also times `taskmap --help` against a bare `node -e 0` (goal < 0.15 s).
 * Runs the built CLI (bin/taskmap.js loads dist/): run `npm run build` first.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeNpy } from '../src/io/npy.js';
import { mulberry32 } from '../src/linalg/resample.js';

const M = Number(process.env.BENCH_MODELS ?? 20);
const N = Number(process.env.BENCH_N ?? 500);
const D = Number(process.env.BENCH_D ?? 2048);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 7);
const root = new URL('..', import.meta.url).pathname;
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

async function writeSet(): Promise<void> {
  const done = join(dir, '.complete');
  if (existsSync(done)) return;
  await mkdir(features, { recursive: true });
  for (let m = 0; m < M; m++) {
    const u = mulberry32(1000 + m);
    const data = new Float32Array(N * D);
    // A shared low-rank structure plus model noise, so the matrix is not all ~0 (a cheap near-Gaussian, seeded).
    for (let i = 0; i < data.length; i++) data[i] = u() + u() + u() - 1.5 + ((i % D) % (m + 2)) * 0.01 * Math.floor(i / D / 50);
    await writeFile(join(features, `model${String(m).padStart(2, '0')}.npy`), writeNpy({ dtype: 'float32', shape: [N, D], data }));
  }
  await writeFile(done, '');
}

function wall(cmd: string, args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function readNpyMatrix(bytes: Uint8Array): Float64Array {
  const headerLen = bytes[8] | (bytes[9] << 8);
  return new Float64Array(bytes.slice(10 + headerLen).buffer);
}

async function main(): Promise<void> {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('run `npm run build` first (the bench times the built CLI)');
  await writeSet();
  const script = join(dir, 'rsa.py');
  await writeFile(script, NUMPY_SCRIPT);
  const outTs = join(dir, 'out-taskmap.npy');
  const outPy = join(dir, 'out-numpy.npy');
  const bin = join(root, 'bin', 'taskmap.js');
  console.log(`whole-process RSA: ${M} models × ${N} images × ${D} float32 features in ${dir}`);
  console.log(
    `machine: ${cpus().length} cores; load average before: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );

  const help: number[] = [];
  const bare: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    bare.push(wall(process.execPath, ['-e', '0']));
    help.push(wall(process.execPath, [bin, '--help']));
  }
  const helpMs = median(help);
  console.log(
    `taskmap --help: median ${helpMs.toFixed(0)} ms (bare \`node -e 0\`: ${median(bare).toFixed(0)} ms; goal < 150 ms: ${helpMs < 150 ? 'met' : 'NOT met'})`,
  );

  const ts: number[] = [];
  const py: number[] = [];
  // Warm the page cache for both, then alternate so that load changes hit both sides alike.
  wall(process.execPath, [bin, 'similarity', features, '--measure', 'rsa', '--out', outTs]);
  wall('python3', [script, features, outPy]);
  for (let r = 0; r < REPEATS; r++) {
    ts.push(wall(process.execPath, [bin, 'similarity', features, '--measure', 'rsa', '--out', outTs]));
    py.push(wall('python3', [script, features, outPy]));
  }
  const a = readNpyMatrix(await readFile(outTs));
  const b = readNpyMatrix(await readFile(outPy));
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
  const tsMs = median(ts);
  const pyMs = median(py);
  const ratio = tsMs / pyMs;
  console.log(`taskmap similarity --measure rsa: median ${tsMs.toFixed(0)} ms over ${REPEATS} runs (${ts.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`numpy/scipy script:               median ${pyMs.toFixed(0)} ms over ${REPEATS} runs (${py.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(
    `ratio taskmap/numpy ${ratio.toFixed(2)} (goal ≤ 0.60: ${ratio <= 0.6 ? 'met' : 'NOT met'}); taskmap < 1.0 s: ${tsMs < 1000 ? 'met' : 'NOT met'}`,
  );
  console.log(`max |taskmap − numpy| over the ${M}×${M} matrix: ${diff.toExponential(2)}`);
  console.log(
    `load average after: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
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
