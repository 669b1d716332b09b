/**
 * `npm run bench`: the core engine's speed goals, each printed as a ratio against a reference measured in the
 * same run on the same input.
 *   1. Full 20×20 RSA matrix, 20 models × 500 images × 2048 features (goal: < 1 s on 2 cores).
 *   2. One DDS setting (znorm + cosine + unbiased CKA) on the same set.
 *   3. GEMM (Gram X·Xᵀ, N = 1000, D = 4096): engine vs the portable JS kernel, and vs OpenBLAS sgemm through
 *      numpy when python3 + numpy are available (goal: within 1.5× of OpenBLAS).
 * Options: BENCH_MODELS, BENCH_N, BENCH_D to change the size.
 */
import { execFileSync } from 'node:child_process';
import { getGemmEngine, jsEngine } from '../src/linalg/gemm.js';
import { mulberry32 } from '../src/linalg/resample.js';
import { similarityMatrix } from '../src/measures/similarity.js';
import type { Representation } from '../src/features/types.js';

const M = Number(process.env.BENCH_MODELS ?? 20);
const N = Number(process.env.BENCH_N ?? 500);
const D = Number(process.env.BENCH_D ?? 2048);

function randomSet(): Representation[] {
  const reps: Representation[] = [];
  for (let m = 0; m < M; m++) {
    const u = mulberry32(1000 + m);
    const data = new Float32Array(N * D);
    for (let i = 0; i < data.length; i++) data[i] = u() + u() + u() - 1.5; // cheap near-Gaussian, seeded
    reps.push({ label: `model${String(m).padStart(2, '0')}`, n: N, p: D, shape: [D], data, source: 'bench' });
  }
  return reps;
}

async function time<T>(f: () => Promise<T>, repeats = 3): Promise<{ ms: number; value: T }> {
  let best = Infinity;
  let value!: T;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    value = await f();
    best = Math.min(best, performance.now() - t0);
  }
  return { ms: best, value };
}

function numpySgemmMs(n: number, d: number): number | undefined {
  const script = [
    'import numpy as np, time',
    `x = np.random.default_rng(0).standard_normal((${n}, ${d})).astype(np.float32)`,
    // A copy as the second operand: numpy sends x @ x.T to ssyrk (half the work); the goal is against sgemm.
    'y = x.copy()',
    'x @ y.T',
    'best = 1e9',
    'for _ in range(5):',
    '    t = time.perf_counter(); x @ y.T; best = min(best, time.perf_counter() - t)',
    'print(best * 1000)',
  ].join('\n');
  try {
    return Number(execFileSync('python3', ['-c', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 120_000 }).trim());
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const engine = await getGemmEngine();
  console.log(`engine: ${engine.name}; set: ${M} models × ${N} images × ${D} features (float32, seeded)`);
  const reps = randomSet();

  const rsa = await time(() => similarityMatrix(reps, 'rsa', { engine }));
  const rsaJs = await time(() => similarityMatrix(reps.slice(0, 2), 'rsa', { engine: jsEngine }), 1);
  const perModelJs = rsaJs.ms / 2;
  console.log(`RSA ${M}×${M}: ${rsa.ms.toFixed(0)} ms (goal < 1000 ms: ${rsa.ms < 1000 ? 'met' : 'NOT met'})`);
  console.log(
    `  portable JS engine: ${perModelJs.toFixed(0)} ms per model → ~${((perModelJs * M) / 1000).toFixed(1)} s for ${M} models ` +
      `(engine speed-up ${((perModelJs * M) / rsa.ms).toFixed(1)}×)`,
  );
  const dds = await time(() => similarityMatrix(reps, 'dds:norm=znorm,kernel=cosine', { engine }));
  console.log(`DDS znorm+cosine ${M}×${M}: ${dds.ms.toFixed(0)} ms (DDS paper: < 2 min for 17×17 in Python)`);
  const f32 = await time(() => similarityMatrix(reps, 'rsa', { engine, precision: 'float32' }));
  let maxDiff = 0;
  for (let i = 0; i < f32.value.matrix.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(f32.value.matrix.data[i] - rsa.value.matrix.data[i]));
  console.log(`RSA with float32 GEMM: ${f32.ms.toFixed(0)} ms (max |Δ| vs float64 ${maxDiff.toExponential(1)})`);

  const gn = 1000;
  const gd = 4096;
  const u = mulberry32(7);
  const x64 = new Float64Array(gn * gd).map(() => u() - 0.5);
  const x32 = Float32Array.from(x64);
  const flop = 2 * gn * gn * gd;
  const e32 = await time(() => engine.abt(x32, gn, x32, gn, gd, 'float32'));
  const e64 = await time(() => engine.abt(x64, gn, x64, gn, gd, 'float64'));
  const js = await time(() => jsEngine.abt(x64.subarray(0, 200 * gd), 200, x64.subarray(0, 200 * gd), 200, gd), 1);
  const jsGflops = (2 * 200 * 200 * gd) / js.ms / 1e6;
  const gf = (ms: number) => flop / ms / 1e6;
  console.log(`GEMM X·Xᵀ ${gn}×${gd}:`);
  console.log(`  engine float32 ${e32.ms.toFixed(1)} ms = ${gf(e32.ms).toFixed(1)} GFLOP/s`);
  console.log(`  engine float64 ${e64.ms.toFixed(1)} ms = ${gf(e64.ms).toFixed(1)} GFLOP/s`);
  console.log(`  portable JS    ${jsGflops.toFixed(2)} GFLOP/s → engine float32 is ${(gf(e32.ms) / jsGflops).toFixed(0)}× faster`);
  const blas = numpySgemmMs(gn, gd);
  if (blas !== undefined && Number.isFinite(blas)) {
    const ratio = e32.ms / blas;
    console.log(
      `  OpenBLAS sgemm (numpy) ${blas.toFixed(1)} ms = ${gf(blas).toFixed(1)} GFLOP/s → engine/OpenBLAS time ratio ${ratio.toFixed(2)} ` +
        `(goal ≤ 1.5: ${ratio <= 1.5 ? 'met' : 'NOT met'})`,
    );
  } else console.log('  OpenBLAS reference skipped (python3 with numpy not available)');
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
