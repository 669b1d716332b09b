/**
 * `npx tsx bench/pairThreads.bench.ts` (issue 16): one pairwise family's M×M matrix with its pairs on one thread
 * and on BENCH_THREADS threads (default: the cores), same data, same run. Prints both wall times, their ratio, the
 * largest difference between the two matrices, the load average and the time of a first run on the threads
 * (which starts the workers) against a second one (which reuses them).
 * Options: BENCH_MEASURE (default permutation), BENCH_MODELS (8), BENCH_N (300), BENCH_D (256).
 */
import { availableParallelism, loadavg } from 'node:os';
import type { Representation } from '../src/features/types.js';
import { mulberry32 } from '../src/linalg/resample.js';
import { similarityMatrix } from '../src/measures/similarity.js';

const MEASURE = process.env.BENCH_MEASURE ?? 'permutation';
const M = Number(process.env.BENCH_MODELS ?? 8);
const N = Number(process.env.BENCH_N ?? 300);
const D = Number(process.env.BENCH_D ?? 256);
const THREADS = Number(process.env.BENCH_THREADS ?? availableParallelism());

const reps: Representation[] = Array.from({ length: M }, (_, m) => {
  const u = mulberry32(500 + m);
  const data = new Float64Array(N * D).map(() => u() + u() + u() - 1.5);
  return { label: `model${m}`, n: N, p: D, shape: [D], data, source: 'bench' };
});

async function timed(threads: number) {
  const t0 = performance.now();
  const m = await similarityMatrix(reps, MEASURE, { threads });
  return { ms: performance.now() - t0, m };
}

console.log(`${MEASURE}: ${M} models × ${N} images × ${D} features (${(M * (M - 1)) / 2} pairs), load ${loadavg()[0].toFixed(2)}`);
const first = await timed(THREADS);
const one = await timed(1);
const many = await timed(THREADS);
let diff = 0;
one.m.matrix.data.forEach((v, k) => (diff = Math.max(diff, Math.abs(v - many.m.matrix.data[k]))));
console.log(
  `1 thread ${(one.ms / 1000).toFixed(2)} s; ${THREADS} threads ${(many.ms / 1000).toFixed(2)} s (first run, starting the workers: ${(first.ms / 1000).toFixed(2)} s)`,
);
console.log(`ratio ${(many.ms / one.ms).toFixed(3)}; largest difference ${diff.toExponential(2)}; load ${loadavg()[0].toFixed(2)}`);
