/**
 * `npm run bench:bootstrap` (issue 15, goal 3): `rank` with 100 bootstrap draws of 200 images over 20 models ×
 * 500 images × 2,048 features, the draws computed from the full matrices (measures/subsets.ts) against the same
 * ranking with every draw recomputed from features (RankOptions.recomputeDraws, the previous path), measured in
 * the same run on the same data. Prints both times, the ratio and the largest difference between the two runs'
 * draw scores. Goal: ≥ 10× faster, ≤ 3 s.
 * Options: BENCH_MODELS, BENCH_N, BENCH_D, BENCH_DRAWS, BENCH_SUBSET, BENCH_MEASURE (default rsa),
 * BENCH_TARGET (member | labels; default member: the first model is the target, the other 19 the candidates),
 * BENCH_SKIP_OLD=1 to time the new path only. Runs the built library (dist/, as the CLI does; `npm run
 * bench:bootstrap` builds it first): under tsx a worker thread spends ~0.6 s loading the TypeScript sources, which
 * no user pays. BENCH_SRC=1 runs the sources instead.
 */
import { loadavg } from 'node:os';
import type { Representation } from '../src/features/types.js';
import { mulberry32 } from '../src/linalg/resample.js';
import type { RankResult, Target } from '../src/taxonomy/rank.js';

const root = process.env.BENCH_SRC === '1' ? '../src' : '../dist';
const { getGemmEngine } = (await import(`${root}/linalg/gemm.js`)) as typeof import('../src/linalg/gemm.js');
const { rankSources } = (await import(`${root}/taxonomy/rank.js`)) as typeof import('../src/taxonomy/rank.js');

const M = Number(process.env.BENCH_MODELS ?? 20);
const N = Number(process.env.BENCH_N ?? 500);
const D = Number(process.env.BENCH_D ?? 2048);
const DRAWS = Number(process.env.BENCH_DRAWS ?? 100);
const SUBSET = Number(process.env.BENCH_SUBSET ?? 200);
const MEASURE = process.env.BENCH_MEASURE ?? 'rsa';
const TARGET = process.env.BENCH_TARGET ?? 'member';

function randomSet(): Representation[] {
  const reps: Representation[] = [];
  for (let m = 0; m < M; m++) {
    const u = mulberry32(1000 + m);
    const data = new Float32Array(N * D);
    for (let i = 0; i < data.length; i++) data[i] = u() + u() + u() - 1.5 + ((i % D) % (m + 2)) * 0.01 * Math.floor(i / D / 50);
    reps.push({ label: `model${String(m).padStart(2, '0')}`, n: N, p: D, shape: [D], data, source: 'bench' });
  }
  return reps;
}

/** Wall time, and the process's CPU time (all threads: the GEMM engine's included), which load inflates less. */
async function timed(f: () => Promise<RankResult>): Promise<{ ms: number; cpu: number; r: RankResult }> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = await f();
  const c = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpu: (c.user + c.system) / 1000, r };
}

async function main(): Promise<void> {
  const engine = await getGemmEngine();
  const reps = randomSet();
  const target: Target =
    TARGET === 'labels'
      ? { kind: 'labels', labels: Array.from({ length: N }, (_, i) => `class${(i * 7) % 10}`), labelKind: 'class' }
      : { kind: 'member', label: reps[0].label };
  const opts = { measure: MEASURE, bootstrap: DRAWS, subset: SUBSET, seed: 1, keepDraws: true, engine };
  console.log(
    `bootstrap (${root === '../dist' ? 'built library' : 'sources'}): ${MEASURE}, ${TARGET} target, ${M} models × ${N} images × ${D} features, ${DRAWS} draws of ${SUBSET}; engine ${engine.name}`,
  );
  console.log(
    `load average before: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  const fast = await timed(() => rankSources(reps, target, opts));
  console.log(
    `new (subsets from the full matrices): ${(fast.ms / 1000).toFixed(2)} s wall, ${(fast.cpu / 1000).toFixed(2)} s CPU (goal ≤ 3 s: ${fast.ms <= 3000 ? 'met' : 'NOT met'})`,
  );
  if (process.env.BENCH_SKIP_OLD === '1') return;
  const slow = await timed(() => rankSources(reps, target, { ...opts, recomputeDraws: true }));
  let diff = 0;
  const a = fast.r.draws!.scores;
  const b = slow.r.draws!.scores;
  for (let d = 0; d < a.length; d++) for (let k = 0; k < a[d].length; k++) diff = Math.max(diff, Math.abs(a[d][k] - b[d][k]));
  const ratio = slow.ms / fast.ms;
  console.log(`old (every draw recomputed from features): ${(slow.ms / 1000).toFixed(2)} s wall, ${(slow.cpu / 1000).toFixed(2)} s CPU`);
  console.log(`speed-up ${ratio.toFixed(1)}× (goal ≥ 10×: ${ratio >= 10 ? 'met' : 'NOT met'}); max |Δ draw score| ${diff.toExponential(2)}`);
  console.log(
    `load average after: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
