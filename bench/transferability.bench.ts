/**
 * `npx tsx bench/transferability.bench.ts`: issue 13 §4 — every standard label-based transferability score
 * (standardScoreIds(): LogME ×2, LEEP, NCE, NLEEP, H-score ×2, GBC ×2, TransRate, PARC, SFDA, kNN ×2, linear probe)
 * for 47 candidates × 1,000 labelled images × 2,048 float32 features within 10 s together on 2 cores, against the
 * same scores in numpy/scipy (bench/transferability_numpy.py, a separate python3 process reading the same .npy
 * files) in the same run. Prints per score: taskmap s, numpy s, the ratio, and the totals against the goal.
 *
 * The problem is synthetic and deterministic (mulberry32): 10 balanced classes; candidate m's features are
 * w_j·(noise + s_m·g_{y,j}) with column scales w_j = (1 + j)^−0.6 (a decaying spectrum, ~100 components for 80 % of
 * the variance, like pooled CNN features) and a class signal s_m that varies between candidates; its source model's
 * 5-class softmax probabilities (for LEEP/NCE) carry the same signal.
 *
 * taskmap runs as a user's `--measure all` would: computeScores per candidate with one memo, so work shared between
 * scores (the centred features, the Gram-side eigendecompositions, PCA) is computed once and billed to the first
 * score that needs it. The numpy side computes each score on its own, as the research code does (see the Python
 * file's docstring for the routes). Each side times conversion-free float64 input; loading and float32 → float64
 * conversion are outside the clock on both sides.
 *
 * A score that would take numpy longer than --budget seconds for all candidates (judged on its first candidate) is
 * timed on the first k candidates only, and the ratio is taken over the same k candidates on both sides (the printout
 * says k). taskmap runs every score on every candidate, except that a score of the catalogue's `expensive` cost tier
 * (the linear probe) that would exceed --taskmap-budget is cut the same way; taskmap's total for all candidates then
 * extrapolates that score from the candidates it ran (marked ≈).
 *
 * Options: --candidates 47, --n 1000, --d 2048, --classes 10, --scores id,id,… (default the standard set), --threads k
 * (worker threads scoring whole candidates side by side, one BLAS thread each — src/transferability/threads.ts; default
 * TASKMAP_THREADS, else every core; 1 scores the candidates one after another on this thread with multi-threaded BLAS),
 * --floor (also time, on this thread with one BLAS thread, the work no exact implementation of these scores can skip — see
 * floorOfExactScores), --budget 60 (seconds per score on the numpy side), --taskmap-budget 120 (the same on taskmap's side), --check
 * (also compare the values of both sides), --keep (leave the .npy files in the temp directory), --no-numpy, --no-share (a fresh memo per score, as when each score is computed
 * on its own: every score then pays for its own centring and eigendecomposition, like the numpy side).
 * Smoke test: `npx tsx bench/transferability.bench.ts --candidates 3 --n 200 --d 256 --check`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeNpy } from '../src/io/npy.js';
import { transpose } from '../src/linalg/dense.js';
import { getGemmEngine } from '../src/linalg/gemm.js';
import { symmetricEigen } from '../src/linalg/eigen.js';
import { lapackUnavailableReason, loadLapack, oneBlasThreadEach } from '../src/linalg/lapack.js';
import { mulberry32 } from '../src/linalg/resample.js';
import { findScoreFamily, parseScore, standardScoreIds } from '../src/measures/scoreFamilies.js';
import { classTarget, computeScore, computeScores, ScoreMemo, type ScoreInput, type ScoreValue } from '../src/transferability/index.js';
import { PROBE_LAMBDAS } from '../src/transferability/linear.js';
import { crossValidatedAccuracy, reducedHeadData } from '../src/transferability/logistic.js';
import { centre } from '../src/transferability/spectral.js';
import { candidateThreads, scoreCandidates } from '../src/transferability/threads.js';

// ---------------------------------------------------------------------------------------------------------
// Options

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
  return v;
}

function intOption(name: string, fallback: number, min: number): number {
  const raw = option(name);
  const v = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${raw}`);
  return v;
}

const flag = (name: string) => process.argv.includes(`--${name}`);

const M = intOption('candidates', 47, 1);
const N = intOption('n', 1000, 20);
const D = intOption('d', 2048, 2);
const C = intOption('classes', 10, 2);
const SOURCE_CLASSES = 5;
const BUDGET_S = Number(option('budget') ?? 60);
/**
 * taskmap's own cut applies only to scores of the catalogue's `expensive` cost tier (the linear probe): cutting a
 * cheaper score would move the shared work it pays for (a memo entry) onto the next score for the remaining
 * candidates, and the 10 s goal is about measured, not extrapolated, time.
 */
const TM_BUDGET_S = Number(option('taskmap-budget') ?? 120);
const CHECK = flag('check');
const KEEP = flag('keep');
const NUMPY = !flag('no-numpy');
const SHARE = !flag('no-share');
const FLOOR = flag('floor');
const SCORES = option('scores')?.split(',') ?? standardScoreIds();
/** Worker threads scoring whole candidates side by side (threads.ts); 1: every candidate on this thread, as before. */
const THREADS = candidateThreads(M, option('threads') === undefined ? undefined : intOption('threads', 1, 1));
const GOAL_S = 10;

/**
 * Scores whose numpy value is not expected to equal taskmap's, and why. --check reports their differences without
 * judging them; for the randomised-PCA ones the numpy side also computes an exact-PCA value outside the clock, which
 * is judged.
 */
const DIFFERS: Record<string, string> = {
  gbc: "numpy's PCA is randomised as scikit-learn's (taskmap's is exact); judged on an untimed exact-PCA value",
  'gbc:gaussian=diagonal': 'as gbc',
  parc: 'numpy PCA randomised as the PARC code pins it (iterated_power 1, seed 1919); judged on an untimed exact-PCA value',
  linear: "different L-BFGS implementations and stopping points (scipy's L-BFGS-B vs taskmap's): accuracies may differ by a few images",
};
const TOLERANCE = 1e-6;

// ---------------------------------------------------------------------------------------------------------
// The synthetic problem

interface Candidate {
  features: Float32Array;
  probabilities: Float64Array;
  strength: number;
}

const near = (u: () => number) => 2 * (u() + u() + u() - 1.5); // cheap near-Gaussian, variance 1

function makeLabels(): Int32Array {
  const y = Int32Array.from({ length: N }, (_, i) => i % C);
  const u = mulberry32(4242);
  for (let i = N - 1; i > 0; i--) {
    const j = Math.floor(u() * (i + 1));
    [y[i], y[j]] = [y[j], y[i]];
  }
  return y;
}

function makeCandidate(m: number, y: Int32Array): Candidate {
  // Strengths spread over [0.05, 0.5] (1-NN accuracy from ~12 % to ~90 %), in an order unrelated to the index.
  const strength = 0.05 + (0.45 * ((m * 17) % M)) / Math.max(1, M - 1);
  const u = mulberry32(1000 + m);
  const g = new Float64Array(C * D);
  for (let k = 0; k < g.length; k++) g[k] = near(u);
  const w = Float64Array.from({ length: D }, (_, j) => (1 + j) ** -0.6);
  const features = new Float32Array(N * D);
  for (let i = 0; i < N; i++) {
    const row = y[i] * D;
    for (let j = 0; j < D; j++) features[i * D + j] = w[j] * (near(u) + strength * g[row + j]);
  }
  const probabilities = new Float64Array(N * SOURCE_CLASSES);
  for (let i = 0; i < N; i++) {
    let sum = 0;
    for (let z = 0; z < SOURCE_CLASSES; z++) {
      const logit = near(u) + 3 * strength * (z === y[i] % SOURCE_CLASSES ? 1 : 0);
      sum += probabilities[i * SOURCE_CLASSES + z] = Math.exp(logit);
    }
    for (let z = 0; z < SOURCE_CLASSES; z++) probabilities[i * SOURCE_CLASSES + z] /= sum;
  }
  return { features, probabilities, strength };
}

// ---------------------------------------------------------------------------------------------------------
// taskmap side

interface Timing {
  /** Per candidate timed: ms of the scorer (as computeScore reports it) and the value. */
  ms: number[];
  values: number[];
  /** Candidates this score runs on (M unless the budget cut it). */
  limit: number;
}

function inputOf(cand: Candidate, y: Int32Array, name: string): ScoreInput {
  return {
    features: { rows: N, cols: D, data: Float64Array.from(cand.features) },
    probabilities: { rows: N, cols: SOURCE_CLASSES, data: cand.probabilities },
    target: classTarget(Array.from(y)),
    name,
  };
}

/** Run every score once on a small slice so that first-call costs (JIT, ORT sessions, addon loading) are not billed. */
async function warmUp(cand: Candidate, y: Int32Array): Promise<void> {
  await computeScores(warmUpScores(), warmUpInput(cand, y));
}

function warmUpScores(): string[] {
  const n = Math.min(N, 120);
  return SCORES.filter((id) => !(id.startsWith('nleep') && 5 * C > n));
}

function warmUpInput(cand: Candidate, y: Int32Array): ScoreInput {
  const n = Math.min(N, 120);
  const d = Math.min(D, 64);
  const features = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) features[i * d + j] = cand.features[i * D + j];
  const sub = Array.from(y.subarray(0, n));
  return {
    features: { rows: n, cols: d, data: features },
    probabilities: { rows: n, cols: SOURCE_CLASSES, data: cand.probabilities.slice(0, n * SOURCE_CLASSES) },
    target: classTarget(sub),
    name: 'warm-up',
  };
}

/**
 * Every score of each candidate with one memo — what computeScores does, one computeScore at a time so that a score
 * that throws on the first candidate (e.g. one not implemented yet) is reported and left out instead of ending the run.
 */
async function runTaskmap(
  cands: Candidate[],
  y: Int32Array,
): Promise<{ timings: Map<string, Timing>; wall: number[]; overhead: number; failed: Map<string, string> }> {
  const engine = await getGemmEngine();
  const timings = new Map(SCORES.map((id) => [id, { ms: [], values: [], limit: M } as Timing]));
  const failed = new Map<string, string>();
  const wall: number[] = [];
  let overhead = 0;
  for (let m = 0; m < M; m++) {
    const input = inputOf(cands[m], y, `candidate ${m}`);
    const ids = SCORES.filter((id) => !failed.has(id) && m < timings.get(id)!.limit);
    const memo = new ScoreMemo();
    let scored = 0;
    const t0 = performance.now();
    for (const id of ids) {
      try {
        const r = await computeScore(id, input, { engine, memo: SHARE ? memo : new ScoreMemo() });
        const t = timings.get(id)!;
        t.ms.push(r.ms);
        t.values.push(r.value);
        scored += r.ms;
      } catch (e) {
        if (m > 0) throw e;
        failed.set(id, (e as Error).message);
      }
    }
    const ms = performance.now() - t0;
    wall.push(ms);
    overhead += ms - scored;
    if (m === 0) {
      for (const [id, t] of timings) {
        const expensive = findScoreFamily(parseScore(id).family)?.cost.tier === 'expensive';
        if (expensive && t.ms.length && t.ms[0] * M > TM_BUDGET_S * 1000) t.limit = Math.max(1, Math.floor((TM_BUDGET_S * 1000) / t.ms[0]));
      }
    }
    process.stderr.write(`  taskmap candidate ${m + 1}/${M}: ${(ms / 1000).toFixed(2)} s\n`);
  }
  for (const id of failed.keys()) timings.delete(id);
  return { timings, wall, overhead, failed };
}

/**
 * The same on THREADS worker threads (scoreCandidates): each thread scores whole candidates, one memo each. The
 * per-score times are each thread's own, so their sum is thread-seconds (more than the wall time, which is what the
 * goal is judged on). The budget cut of an `expensive` score is decided when the first candidate finishes
 * (candidates already handed out keep the score).
 */
async function runTaskmapThreaded(
  cands: Candidate[],
  y: Int32Array,
): Promise<{ timings: Map<string, Timing>; wall: number[]; overhead: number; failed: Map<string, string> }> {
  const timings = new Map(SCORES.map((id) => [id, { ms: [], values: [], limit: M } as Timing]));
  const dispatched: string[][] = [];
  const results: ScoreValue[][] = [];
  const wall: number[] = new Array(M).fill(0);
  let overhead = 0;
  let first = true;
  const idsOf = (m: number) => (dispatched[m] = SCORES.filter((id) => m < timings.get(id)!.limit));
  await scoreCandidates(idsOf, M, (m) => inputOf(cands[m], y, `candidate ${m}`), {
    threads: THREADS,
    transfer: true, // inputOf makes a fresh float64 copy per candidate: hand it over rather than copy it again
    // Each worker warms up on the same slice as this thread did (inside the clock: worker start-up is billed).
    warmUp: warmUpInput(cands[0], y),
    onDone: (m, scored, ms) => {
      const values = scored as ScoreValue[]; // onError 'throw' (the default): every entry is a value
      results[m] = values;
      wall[m] = ms;
      overhead += ms - sum(values.map((v) => v.ms));
      if (first) {
        first = false;
        values.forEach((v, k) => {
          const t = timings.get(dispatched[m][k])!;
          const expensive = findScoreFamily(parseScore(v.id).family)?.cost.tier === 'expensive';
          const budget = TM_BUDGET_S * 1000 * THREADS;
          if (expensive && v.ms * M > budget) t.limit = Math.max(THREADS, Math.floor(budget / v.ms));
        });
      }
      process.stderr.write(`  taskmap candidate ${m + 1}/${M}: ${(ms / 1000).toFixed(2)} s\n`);
    },
  });
  // In candidate order, so that "the first k candidates" means the same on both sides.
  for (let m = 0; m < M; m++) {
    results[m].forEach((v, k) => {
      const t = timings.get(dispatched[m][k])!;
      t.ms.push(v.ms);
      t.values.push(v.value);
    });
  }
  return { timings, wall, overhead, failed: new Map() };
}

// ---------------------------------------------------------------------------------------------------------
// numpy side

interface NumpyScore {
  route: string;
  candidates: number;
  seconds: number[];
  values: number[];
  exactValues?: number[];
}

interface NumpyRun {
  numpy: string;
  scipy: string;
  blas: string;
  scores: Record<string, NumpyScore>;
}

function runNumpy(dir: string): NumpyRun | string {
  const script = fileURLToPath(new URL('./transferability_numpy.py', import.meta.url));
  const args = [script, '--dir', dir, '--budget', String(BUDGET_S), ...(CHECK ? ['--check'] : [])];
  const r = spawnSync('python3', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  if (r.error) return `python3 did not run (${r.error.message})`;
  if (r.status !== 0) return `python3 exited with status ${r.status}`;
  try {
    return JSON.parse(r.stdout) as NumpyRun;
  } catch {
    return 'python3 printed no JSON';
  }
}

// ---------------------------------------------------------------------------------------------------------
// Report

const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);
const secs = (ms: number) => (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);

function relDiff(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
}

/** The commit measured, and the source files that differ from it (the bench runs the working tree). */
function codeVersion(): string {
  try {
    const git = (...a: string[]) => execFileSync('git', a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    // Porcelain lines are "XY path": no trimming, the first column may be a space.
    const dirty = git('status', '--porcelain', '--', 'src', 'native').split('\n').filter(Boolean);
    return `code: ${git('rev-parse', '--short', 'HEAD').trim()}${dirty.length ? ` + uncommitted changes in ${dirty.map((l) => l.slice(3)).join(', ')}` : ''}`;
  } catch {
    return 'code: (not a git checkout)';
  }
}

function engines(gemm: string): string {
  const lapack = loadLapack();
  const eigen = lapack
    ? `LAPACK dsyevd (native addon: ${lapack.config}, ${lapack.threads()} threads)`
    : `ml-matrix (JS; native LAPACK: ${lapackUnavailableReason()})`;
  return `GEMM engine: ${gemm}; eigen engine: ${eigen}`;
}

// ---------------------------------------------------------------------------------------------------------
// The floor: work every exact implementation of the standard scores must do

/**
 * A lower bound on the wall time of the standard scores, for the issue's 10 s goal: the work none of them can skip,
 * timed here on one BLAS thread and assumed shared perfectly over every core, everything else taken as free.
 * - The centred features' Gram side (N×N when N < D) and its full eigendecomposition, shared by LogME, H-score,
 *   TransRate and the PCA of GBC, PARC and NLEEP (LogME needs every eigenvalue and the targets' coordinates in the
 *   eigenbasis; PCA needs the leading eigenvectors).
 * - The linear probe's fits, by the cheaper of two routes: on the standardised features rotated onto their own
 *   principal axes (one more Gram side and eigendecomposition — standardisation changes the Gram matrix, so no
 *   rotation of the first spectrum gives it — then products with N×r), or on the D standardised columns directly
 *   (products with N×D). Every evaluation of the five folds' fits needs two such products (logits, gradient), the
 *   folds sharing each (lockstep). Counted two ways: at one evaluation per λ — fewer than any solver can use — and
 *   at the evaluations taskmap's L-BFGS makes on this candidate (the busiest fold's count: the folds run in step).
 * The other scores' own work, the centring, checks and copies are left out, so the true minimum is higher still.
 */
async function floorOfExactScores(cand: Candidate, y: Int32Array): Promise<void> {
  const restore = oneBlasThreadEach();
  try {
    const engine = await getGemmEngine();
    const centred = centre({ rows: N, cols: D, data: Float64Array.from(cand.features) }).matrix;
    const x = centred.data;
    const small = Math.min(N, D);
    const best = async (runs: number, f: () => Promise<unknown> | unknown): Promise<number> => {
      let ms = Infinity;
      for (let k = 0; k < runs; k++) {
        const t0 = performance.now();
        await f();
        ms = Math.min(ms, performance.now() - t0);
      }
      return ms;
    };
    // The smaller Gram side, as spectral.ts forms it: X·Xᵀ when N ≤ D, else Xᵀ·X.
    const side = N <= D ? centred : transpose(centred);
    let g: Float64Array = new Float64Array(0);
    const gramMs = await best(3, async () => {
      g = await engine.abt(side.data, side.rows, side.data, side.rows, side.cols);
    });
    const eigMs = await best(3, () => symmetricEigen({ rows: small, cols: small, data: g }));
    const spectrumMs = gramMs + eigMs;
    const r = small - 1;
    const w = new Float64Array(5 * C * D).fill(0.25);
    const z = x.subarray(0, N * r); // any N×r matrix: the cost is the shape's
    const rotatedMs = await best(5, () => engine.abt(z, N, w, 5 * C, r));
    const columnsMs = await best(5, () => engine.abt(x, N, w, 5 * C, D));
    // The evaluations taskmap's solver makes: the busiest fold's count over the λ path.
    const data = await reducedHeadData({ rows: N, cols: D, data: Float64Array.from(cand.features) }, engine);
    const cv = await crossValidatedAccuracy(data, y, PROBE_LAMBDAS, { folds: 5, seed: 0, tol: 1e-5, maxIter: 100 });
    const rounds = Math.max(...cv.perFold.map((fits) => fits.reduce((a, f) => a + f.evaluations, 0)));
    const probe = (evaluations: number) => Math.min(spectrumMs + 2 * evaluations * rotatedMs, 2 * evaluations * columnsMs);
    const cores = os.availableParallelism();
    const wallS = (ms: number) => (M * ms) / cores / 1000;
    const ideal = spectrumMs + probe(PROBE_LAMBDAS.length);
    const solver = spectrumMs + probe(rounds);
    console.log('');
    console.log('floor of the exact scores (candidate 0, one BLAS thread, best of 3–5 runs; see floorOfExactScores):');
    console.log(`  shared: ${small}×${small} Gram side ${gramMs.toFixed(1)} ms + eigendecomposition ${eigMs.toFixed(1)} ms`);
    console.log(
      `  probe: a product for all 5 folds' ${C} classes ${rotatedMs.toFixed(2)} ms on ${N}×${r} principal coordinates ` +
        `(after their own ${spectrumMs.toFixed(0)} ms spectrum), ${columnsMs.toFixed(2)} ms on ${N}×${D} columns; ` +
        `taskmap's L-BFGS made ${rounds} evaluations in the busiest fold over the ${PROBE_LAMBDAS.length} λ`,
    );
    for (const [what, ms] of [
      [`one evaluation per λ (${PROBE_LAMBDAS.length})`, ideal],
      [`taskmap's ${rounds} evaluations`, solver],
    ] as const) {
      console.log(
        `  ${what}: ${(ms / 1000).toFixed(3)} thread-s per candidate → ${M} candidates on ${cores} ideal cores ≥ ${wallS(ms).toFixed(1)} s ` +
          `(goal ≤ ${GOAL_S} s: ${wallS(ms) <= GOAL_S ? 'not ruled out' : 'out of reach'})`,
      );
    }
  } finally {
    restore();
  }
}

async function main(): Promise<void> {
  const load0 = os.loadavg();
  const engine = await getGemmEngine();
  console.log(`transferability scores: ${M} candidates × ${N} images × ${D} float32 features, ${C} classes (+ ${SOURCE_CLASSES}-class source probabilities)`);
  console.log(`${THREADS > 1 ? `candidates scored on ${THREADS} worker threads, one BLAS thread each` : 'candidates scored one after another on this thread'}`);
  console.log(`${os.availableParallelism()} cores; load average ${load0.map((v) => v.toFixed(2)).join(' ')} at the start`);
  console.log(engines(engine.name));
  console.log(codeVersion());

  let t0 = performance.now();
  const y = makeLabels();
  const cands = Array.from({ length: M }, (_, m) => makeCandidate(m, y));
  const dir = await mkdtemp(join(os.tmpdir(), 'taskmap-bench-transfer-'));
  await writeFile(join(dir, 'labels.npy'), writeNpy({ dtype: 'int32', shape: [N], data: y }));
  for (let m = 0; m < M; m++) {
    const tag = String(m).padStart(3, '0');
    await writeFile(join(dir, `features_${tag}.npy`), writeNpy({ dtype: 'float32', shape: [N, D], data: cands[m].features }));
    await writeFile(join(dir, `probs_${tag}.npy`), writeNpy({ dtype: 'float64', shape: [N, SOURCE_CLASSES], data: cands[m].probabilities }));
  }
  console.log(`data: ${secs(performance.now() - t0)} s to generate and write to ${dir}`);

  try {
    await warmUp(cands[0], y);
    t0 = performance.now();
    const tm = THREADS > 1 ? await runTaskmapThreaded(cands, y) : await runTaskmap(cands, y);
    const tmWall = performance.now() - t0;
    const load1 = os.loadavg();

    for (const [id, why] of tm.failed) console.log(`taskmap ${id}: failed on the first candidate, left out on both sides: ${why}`);
    const limits = Object.fromEntries([...tm.timings].map(([id, t]) => [id, t.limit]));
    await writeFile(join(dir, 'meta.json'), JSON.stringify({ candidates: M, n: N, d: D, scores: [...tm.timings.keys()], limits }));
    let np: NumpyRun | string = 'skipped (--no-numpy)';
    let npWall = 0;
    if (NUMPY) {
      t0 = performance.now();
      np = runNumpy(dir);
      npWall = performance.now() - t0;
    }
    const load2 = os.loadavg();
    report(tm, tmWall, np, npWall);
    if (FLOOR) await floorOfExactScores(cands[0], y);
    const fmt = (l: number[]) => l.map((v) => v.toFixed(2)).join(' ');
    console.log(`load average ${fmt(load1)} after taskmap, ${fmt(load2)} after numpy (the machine is shared: absolute times move with it)`);
  } finally {
    if (KEEP) console.log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

function report(tm: Awaited<ReturnType<typeof runTaskmap>>, tmWall: number, np: NumpyRun | string, npWall: number): void {
  const numpy = typeof np === 'string' ? undefined : np;
  if (numpy) console.log(`numpy ${numpy.numpy}, scipy ${numpy.scipy}, ${numpy.blas}; each score on its own, research-code route (last column)`);
  else console.log(`numpy side: ${np}`);
  console.log('');
  const header = ['score', 'cands', 'taskmap s', 'numpy s', 'ratio', `taskmap s (all ${M})`, 'numpy route'];
  const rows: string[][] = [];
  let tmCompared = 0;
  let npCompared = 0;
  let tmAll = 0;
  let extrapolated = false;
  for (const id of tm.timings.keys()) {
    const t = tm.timings.get(id)!;
    const ns = numpy?.scores[id];
    const k = ns ? Math.min(ns.candidates, t.ms.length) : t.ms.length;
    const tms = sum(t.ms.slice(0, k));
    const nps = ns ? sum(ns.seconds.slice(0, k)) * 1000 : undefined;
    const all = t.ms.length === M ? sum(t.ms) : (sum(t.ms) / t.ms.length) * M;
    extrapolated ||= t.ms.length < M;
    tmAll += all;
    if (nps !== undefined) {
      tmCompared += tms;
      npCompared += nps;
    }
    rows.push([
      id,
      k === M ? String(k) : `${k} of ${M}`,
      secs(tms),
      nps === undefined ? '—' : secs(nps),
      nps === undefined ? '—' : (tms / nps).toFixed(3),
      `${t.ms.length < M ? '≈' : ''}${secs(all)}`,
      ns?.route ?? '',
    ]);
  }
  rows.push(['(input checks, dispatch)', '', '', '', '', secs(tm.overhead), '']);
  rows.push([
    'total',
    '',
    numpy ? secs(tmCompared) : '—',
    numpy ? secs(npCompared) : '—',
    numpy ? (tmCompared / npCompared).toFixed(3) : '—',
    `${extrapolated ? '≈' : ''}${secs(tmAll + tm.overhead)}`,
    '',
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) => `| ${r.map((v, c) => (c === 0 || c === 6 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, c) => (c === 0 || c === 6 ? ':' : '-') + '-'.repeat(w) + (c === 0 || c === 6 ? '-' : ':')).join('|')}|`);
  for (const r of rows) console.log(line(r));
  console.log('');
  if (THREADS > 1) {
    // Thread-seconds overlap: the goal is judged on the wall; a budget-cut score's missing candidates add their
    // extrapolated thread-time shared over the threads.
    const measured = [...tm.timings.values()].reduce((a, t) => a + sum(t.ms), 0);
    const wallAll = tmWall + (tmAll - measured) / THREADS;
    console.log(
      `taskmap, all ${tm.timings.size} scores × ${M} candidates on ${THREADS} threads: wall ${extrapolated ? '≈' : ''}${secs(wallAll)} s ` +
        `(measured ${secs(tmWall)} s, worker start-up included${extrapolated ? '; budget-cut scores extrapolated from their first candidates' : ''}; ` +
        `the per-score column sums each thread's time: ${secs(tmAll + tm.overhead)} thread-s); goal ≤ ${GOAL_S} s: ${wallAll <= GOAL_S * 1000 ? 'met' : 'NOT met'}`,
    );
  } else {
    console.log(
      `taskmap, all ${tm.timings.size} scores × ${M} candidates: ${extrapolated ? '≈' : ''}${secs(tmAll + tm.overhead)} s ` +
        `(measured wall ${secs(tmWall)} s${extrapolated ? ', budget-cut scores extrapolated from their first candidates' : ''}); ` +
        `goal ≤ ${GOAL_S} s: ${tmAll + tm.overhead <= GOAL_S * 1000 ? 'met' : 'NOT met'}`,
    );
  }
  const full = [...tm.timings].filter(([, t]) => t.ms.length === M);
  if (extrapolated) {
    const ms = full.reduce((a, [, t]) => a + sum(t.ms), 0) + tm.overhead;
    console.log(
      `taskmap, the ${full.length} scores run on all ${M} candidates (measured, without ${[...tm.timings]
        .filter(([, t]) => t.ms.length < M)
        .map(([id]) => id)
        .join(', ')}): ` + `${secs(ms)} s; goal ≤ ${GOAL_S} s: ${ms <= GOAL_S * 1000 ? 'met' : 'NOT met'}`,
    );
  }
  if (numpy) {
    const perCandidate = [...tm.timings.keys()].reduce((a, id) => {
      const ns = numpy.scores[id];
      return ns ? a + sum(ns.seconds) / ns.seconds.length : a;
    }, 0);
    console.log(
      `one candidate, every score: taskmap ${secs(tmAll / M + tm.overhead / M)} s, numpy ${perCandidate.toFixed(2)} s ` +
        `(mean over the candidates each side timed) → ratio ${((tmAll + tm.overhead) / M / 1000 / perCandidate).toFixed(3)}`,
    );
    console.log(
      `same candidates per score: taskmap ${secs(tmCompared)} s vs numpy ${secs(npCompared)} s → ratio ${(tmCompared / npCompared).toFixed(3)} ` +
        `(aim ≤ 1.0: ${tmCompared <= npCompared ? 'met' : 'NOT met'}); numpy process wall ${secs(npWall)} s incl. loading`,
    );
    if (THREADS > 1 && !extrapolated && [...tm.timings.keys()].every((id) => numpy.scores[id]?.candidates === M)) {
      console.log(
        `all candidates, wall: taskmap ${secs(tmWall)} s on ${THREADS} threads vs numpy ${secs(npCompared)} s → ratio ${(tmWall / npCompared).toFixed(3)}`,
      );
    }
  }
  console.log(
    SHARE
      ? 'Shared work (centred features, Gram-side eigendecompositions, PCA) is billed to the first taskmap score that needs it; ' +
          'numpy computes every score from scratch.'
      : 'taskmap ran with --no-share: every score from scratch (a fresh memo per score), as numpy.',
  );
  if (CHECK && numpy) check(tm, numpy);
}

function check(tm: Awaited<ReturnType<typeof runTaskmap>>, numpy: NumpyRun): void {
  console.log('');
  console.log(`values, taskmap vs numpy (max relative difference over the compared candidates; tolerance ${TOLERANCE}):`);
  let failed = 0;
  for (const id of tm.timings.keys()) {
    const t = tm.timings.get(id)!;
    const ns = numpy.scores[id];
    if (!ns) continue;
    const k = Math.min(ns.values.length, t.values.length);
    const worst = (ref: number[]) => Math.max(...t.values.slice(0, k).map((v, i) => relDiff(v, ref[i])));
    const why = DIFFERS[id];
    if (why) {
      const exact = ns.exactValues ? worst(ns.exactValues) : undefined;
      const pass = exact === undefined ? '' : exact <= TOLERANCE ? ' → ok' : ' → DIFFERS';
      if (exact !== undefined && exact > TOLERANCE) failed++;
      console.log(
        `  ${id.padEnd(24)} timed route ${worst(ns.values).toExponential(2)} (not judged: ${why})` +
          (exact === undefined ? '' : `; exact PCA ${exact.toExponential(2)}${pass}`),
      );
      continue;
    }
    const w = worst(ns.values);
    if (!(w <= TOLERANCE)) failed++;
    console.log(`  ${id.padEnd(24)} ${w.toExponential(2)}${w <= TOLERANCE ? ' ok' : ' DIFFERS'}`);
  }
  console.log(failed ? `${failed} score(s) differ beyond ${TOLERANCE}` : `every judged score agrees to ${TOLERANCE}`);
  if (failed) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
