/**
 * `npm run bench:eigen`: symmetricEigen's two solvers — ml-matrix (JavaScript) and LAPACK dsyevd through the optional
 * native engine — against numpy.linalg.eigh (LAPACK through numpy's own OpenBLAS) in the same run, on the same
 * matrices. The transferability scores need one decomposition per candidate (issue 13: 47 candidates × 1,000
 * images within 10 s for all scores), which is what the last line extrapolates.
 * Native and numpy are timed back to back for each size, best of 5 each, so that a busy machine affects both alike.
 * Options: BENCH_EIGEN_N (comma-separated sizes, default 500,1000,2000), BENCH_EIGEN_JS_MAX (largest size given to
 * ml-matrix, default 2000: it takes about a minute there), TASKMAP_THREADS (OpenBLAS threads; numpy uses its default).
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { zeros, type Matrix } from '../src/linalg/dense.js';
import { symmetricEigen, type EigenEngine } from '../src/linalg/eigen.js';
import { lapackUnavailableReason, loadLapack } from '../src/linalg/lapack.js';

const SIZES = (process.env.BENCH_EIGEN_N ?? '500,1000,2000').split(',').map(Number);
const JS_MAX = Number(process.env.BENCH_EIGEN_JS_MAX ?? 2000);

/** a_ij = sin(0.001·(i+1)(j+1) + i + j) + [i = j]·i/n: symmetric by construction, the same in numpy (below). */
function benchMatrix(n: number): Matrix {
  const m = zeros(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m.data[i * n + j] = Math.sin(0.001 * (i + 1) * (j + 1) + i + j) + (i === j ? i / n : 0);
  return m;
}

function time(f: () => void, repeats: number): number {
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    f();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

interface NumpyResult {
  version: string;
  ms: number;
  top: number;
  bottom: number;
}

/** numpy.linalg.eigh on the same matrix, best of `repeats`; one python3 per size, run right after the native timing. */
function numpyEigh(n: number, repeats: number): NumpyResult | undefined {
  const script = [
    'import json, time, numpy as np',
    `n = ${n}`,
    'i = np.arange(n, dtype=np.float64)[:, None]; j = i.T',
    'a = np.sin(0.001 * (i + 1) * (j + 1) + i + j) + np.diag(np.arange(n) / n)',
    'w, v = np.linalg.eigh(a)',
    'best = 1e9',
    `for _ in range(${repeats}):`,
    '    t = time.perf_counter(); np.linalg.eigh(a); best = min(best, time.perf_counter() - t)',
    'print(json.dumps({"version": np.__version__, "ms": best * 1000, "top": float(w[-1]), "bottom": float(w[0])}))',
  ].join('\n');
  try {
    return JSON.parse(execFileSync('python3', ['-c', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 600_000 }));
  } catch {
    return undefined;
  }
}

const fmt = (ms: number | undefined) => (ms === undefined ? '—' : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(ms < 100 ? 1 : 0)} ms`);
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? '—' : `${(a / b).toFixed(a / b < 10 ? 2 : 0)}×`);

const lapack = loadLapack();
console.log(`symmetric eigendecomposition (values + vectors), ${os.availableParallelism()} cores`);
console.log(lapack ? `native: ${lapack.config}, ${lapack.threads()} threads` : `native: unavailable (${lapackUnavailableReason()})`);
const probe = numpyEigh(2, 1);
console.log(probe ? `numpy ${probe.version} (numpy.linalg.eigh, its bundled LAPACK/BLAS)` : 'numpy: python3 + numpy unavailable');
console.log('');
console.log(['N', 'ml-matrix', 'native', 'numpy', 'ml-matrix/native', 'native/numpy', 'max |Δλ| native vs numpy'].join(' | '));

let native1000: number | undefined;
for (const n of SIZES) {
  const a = benchMatrix(n);
  const run = (engine: EigenEngine, repeats: number) => time(() => symmetricEigen(a, { engine }), repeats);
  const js = n <= JS_MAX ? run('js', n >= 1000 ? 1 : 2) : undefined;
  const nat = lapack ? run('lapack', 5) : undefined;
  if (n === 1000) native1000 = nat;
  const np = probe ? numpyEigh(n, 5) : undefined;
  let check = '—';
  if (lapack && np) {
    const { values } = symmetricEigen(a, { engine: 'lapack' });
    check = Math.max(Math.abs(values[0] - np.top), Math.abs(values[n - 1] - np.bottom)).toExponential(1);
  }
  console.log([n, fmt(js), fmt(nat), fmt(np?.ms), ratio(js, nat), ratio(nat, np?.ms), check].join(' | '));
}
if (native1000 !== undefined) {
  console.log(`\n47 candidates × one N = 1000 decomposition (issue 13's score budget is 10 s for everything): ${fmt(47 * native1000)} native`);
}
