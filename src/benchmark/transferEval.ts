/**
 * The transfer benchmark's judging step (docs/transferability.md#benchmark): how well does each measure, seeing only
 * a small labelled draw of a target, predict which source transfers best with many labels?
 *
 * Per target and draw size (images per class), `draws` seeded stratified draws are taken from the target's training
 * pool — the same draw for every measure and candidate, so measures are compared on paired inputs. Each measure
 * scores every candidate on the draw: label-based scores through computeScore, representation measures (RSA, DDS,
 * CKA, and the pairwise families against the labels' one-hot matrix) through rankSources against the draw's labels.
 * A distance (Procrustes, shape metrics, …) is recorded as the measure gives it and judged with its sign flipped, so
 * that the smallest distance is the predicted best source. The candidates' scores are then compared with the ground truth
 * (test accuracy of a head trained on the full pool, per head) by weighted Kendall τ, Kendall τ-b, Spearman, top-1
 * hit and regret, per draw; the summary is the mean over draws with a bootstrap interval over draws.
 *
 * With a cache folder every draw's scores are kept as JSON under `<cache>/transfer/scores/<key>.json`, the key a hash
 * of the measure's canonical id, the draw (its pool indices and the pool's labels), every candidate's label and
 * features (their float64 bytes, and the class probabilities) and SCORE_CACHE_VERSION: a re-run with the same inputs
 * reads the scores instead of computing them (their recorded wall times are those of the run that computed them),
 * and any change to an input recomputes exactly the records it affects.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Representation } from '../features/types.js';
import { writeFileAtomic } from '../io/atomic.js';
import { kendallTauB, spearman, weightedTau } from '../linalg/correlation.js';
import type { Matrix } from '../linalg/dense.js';
import { getGemmEngine, type GemmEngine } from '../linalg/gemm.js';
import { mulberry32, percentile, sampleWithoutReplacement } from '../linalg/resample.js';
import { canonicalId, findEntry } from '../measures/catalogue.js';
import { describeMeasure } from '../measures/registry.js';
import { classTarget, type ClassTarget } from '../transferability/index.js';
import { scoreCandidates, scoreThreads, type CandidateScore } from '../transferability/threads.js';
import { rankSources } from '../taxonomy/rank.js';
import { hashMatrix } from './transferTruth.js';

/** One candidate source on a target's training pool. */
export interface TransferCandidate {
  label: string;
  /** Pool images × features. */
  features: Matrix;
  /** Pool images × source classes (softmax outputs), for LEEP/NCE; absent for sources without a classifier. */
  probabilities?: Matrix;
}

/** A target as the judging step sees it: pool labels, the candidates' pool features, and the ground truth per head. */
export interface TransferTask {
  id: string;
  /** Label of each pool image (any strings or numbers; encoded per draw). */
  labels: readonly (string | number)[];
  candidates: TransferCandidate[];
  /** Per head (e.g. `logistic`, `mlp`): the measured test accuracy of each candidate, in candidate order. */
  truth: Record<string, readonly number[]>;
}

export const JUDGE_METRICS = ['weightedtau', 'kendall', 'spearman', 'top1', 'regret'] as const;
export type JudgeMetric = (typeof JUDGE_METRICS)[number];

export interface TransferEvalOptions {
  /** Catalogued ids: label-based scores and representation measures (compared against the draw's class labels). */
  measures: string[];
  /** Images per class in a draw (e.g. [10, 50]); a class with fewer pool images gives all it has. */
  perClass: number[];
  /** Draws per target and size (≥ 1). */
  draws: number;
  seed: number;
  /** Bootstrap resamples of the draws for the intervals (default 1000). */
  resamples?: number;
  engine?: GemmEngine;
  onProgress?: (done: number, total: number, what: string) => void;
  /** Keep and reuse every draw's scores under `<cacheDir>/transfer/scores/` (none when absent). */
  cacheDir?: string;
  /** With a cache folder: compute every record again (and overwrite it) instead of reading it. */
  rescore?: boolean;
}

/**
 * Part of every score cache key: bump it when a score's definition or implementation changes its values, so that
 * cached records computed by older code are not read as this code's.
 */
export const SCORE_CACHE_VERSION = 1;

/** One measure on one draw: a value per candidate (null where the measure does not apply or failed). */
export interface DrawRecord {
  target: string;
  perClass: number;
  draw: number;
  measure: string;
  /** As the measure gives them (a distance stays a distance). */
  values: (number | null)[];
  /** false for a distance: smaller values predict better transfer (judged on −value). */
  largerIsBetter: boolean;
  /** Wall time of the measure over all candidates of the draw. */
  ms: number;
  /** Why candidates have no value (the first message per distinct reason). */
  notes?: string[];
  /** Read from the score cache (`ms` is then the time measured when it was computed). */
  cached?: boolean;
}

export interface Interval {
  mean: number;
  lo: number;
  hi: number;
  /** Draws with a defined value (correlations are undefined for constant scores). */
  n: number;
}

export interface MetricRow {
  measure: string;
  /** A target id, or `mean` (the mean over targets of the per-target means). */
  target: string;
  perClass: number;
  head: string;
  metrics: Record<JudgeMetric, Interval | null>;
  /** Mean time per draw over all candidates (ms): wall time for representation measures; for label-based scores each candidate's scorer time, summed (what one thread takes, whichever thread ran it). */
  ms: number;
  /** Candidates scored (LEEP and NCE see only the sources with class probabilities). */
  candidates: number;
}

export interface TransferEvaluation {
  measures: string[];
  perClass: number[];
  draws: number;
  seed: number;
  resamples: number;
  records: DrawRecord[];
  rows: MetricRow[];
}

/** Stratified draw: `perClass` pool indices of each class (all of a smaller class), in increasing index order. */
export function stratifiedDraw(labels: readonly (string | number)[], perClass: number, random: () => number): Uint32Array {
  const byClass = new Map<string, number[]>();
  labels.forEach((l, i) => {
    const key = String(l);
    let list = byClass.get(key);
    if (!list) byClass.set(key, (list = []));
    list.push(i);
  });
  const picked: number[] = [];
  for (const key of [...byClass.keys()].sort()) {
    const pool = byClass.get(key)!;
    const take = Math.min(perClass, pool.length);
    for (const k of sampleWithoutReplacement(pool.length, take, random)) picked.push(pool[k]);
  }
  return Uint32Array.from(picked.sort((a, b) => a - b));
}

function rowsOf(m: Matrix, idx: Uint32Array): Matrix {
  const out = new Float64Array(idx.length * m.cols);
  idx.forEach((r, k) => out.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), k * m.cols));
  return { rows: idx.length, cols: m.cols, data: out };
}

function representation(label: string, m: Matrix): Representation {
  return { label, n: m.rows, p: m.cols, shape: [m.cols], data: m.data, source: label };
}

/** Seed of one (target, size, draw): a fixed mix, so adding targets or sizes never changes another's draws. */
function drawSeed(seed: number, target: string, perClass: number, draw: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const ch of `${target}/${perClass}/${draw}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

interface DrawScores {
  values: (number | null)[];
  largerIsBetter: boolean;
  notes: string[];
}

/**
 * A representation measure against the draw's class labels. All candidates go in one rankSources call (one label
 * target, batched work); if that fails, each candidate is scored alone, so that one source a measure cannot handle
 * (constant features, a rank the setting refuses) leaves only its own value empty, with the reason in the notes.
 */
async function representationScores(reps: Representation[], labels: (string | number)[], measure: string, engine: GemmEngine): Promise<DrawScores> {
  const target = { kind: 'labels' as const, labels, labelKind: 'class' as const };
  try {
    const result = await rankSources(reps, target, { measure, engine });
    const byLabel = new Map(result.ranking.map((e) => [e.label, e.score]));
    return { values: reps.map((r) => byLabel.get(r.label) ?? null), largerIsBetter: result.largerIsMoreSimilar, notes: [] };
  } catch {
    const notes = new Set<string>();
    const values: (number | null)[] = [];
    let largerIsBetter = describeMeasure(measure).largerIsMoreSimilar;
    for (const rep of reps) {
      try {
        const result = await rankSources([rep], target, { measure, engine });
        values.push(result.ranking[0]?.score ?? null);
        largerIsBetter = result.largerIsMoreSimilar;
      } catch (e) {
        values.push(null);
        notes.add((e as Error).message);
      }
    }
    return { values, largerIsBetter, notes: [...notes] };
  }
}

/** A representation measure on a draw: every candidate's features on the draw's images against its labels. */
async function scoreDraw(task: TransferTask, idx: Uint32Array, measure: string, engine: GemmEngine): Promise<DrawScores> {
  const labels = Array.from(idx, (i) => task.labels[i]);
  const reps = task.candidates.map((c) => representation(c.label, rowsOf(c.features, idx)));
  return representationScores(reps, labels, measure, engine);
}

/** One (target, size, draw, measure) of the evaluation, and its record once read or computed. */
interface Slot {
  task: TransferTask;
  perClass: number;
  d: number;
  idx: Uint32Array;
  measure: string;
  key?: string;
  record?: DrawRecord;
}

/**
 * Label-based scores of `slots`: one scoreCandidates task per slot and candidate (inputs built when a thread asks for
 * them, handed over uncopied). A candidate without class probabilities gets no value for LEEP / NCE, and a score
 * that fails gets none, with its message in the notes, as one thread scoring the candidates in turn would give.
 */
async function labelScores(slots: readonly Slot[], engine: GemmEngine, onSlot: (slot: Slot, scored: CachedScores) => Promise<void>): Promise<void> {
  type Job = { s: number; c: number };
  const jobs: Job[] = [];
  const targets = new Map<number, ClassTarget>();
  const target = (s: number) => {
    let t = targets.get(s);
    if (!t) {
      const slot = slots[s];
      targets.set(
        s,
        (t = classTarget(
          Array.from(slot.idx, (i) => slot.task.labels[i]),
          `${slot.task.id} draw`,
        )),
      );
    }
    return t;
  };
  const probabilities = (s: number) => findEntry(slots[s].measure)!.input === 'source-probabilities';
  const jobsOf: number[][] = slots.map(() => []);
  slots.forEach((slot, s) =>
    slot.task.candidates.forEach((c, k) => {
      if (probabilities(s) && !c.probabilities) return;
      jobsOf[s].push(jobs.length);
      jobs.push({ s, c: k });
    }),
  );
  const work = jobs.reduce((a, j) => a + slots[j.s].idx.length * slots[j.s].task.candidates[j.c].features.cols, 0);
  // A slot is recorded (and cached) as soon as its last candidate is done, its values and notes in candidate order:
  // an interrupted run keeps what it finished, and the progress moves.
  const results: CandidateScore[][] = new Array(jobs.length);
  const left = Int32Array.from(jobsOf, (js) => js.length);
  const writes: Promise<void>[] = [];
  const finish = (s: number) => {
    const slot = slots[s];
    const values = slot.task.candidates.map((): number | null => null);
    const notes = new Set<string>(probabilities(s) && slot.task.candidates.some((c) => !c.probabilities) ? ['no class probabilities (not a classifier)'] : []);
    let ms = 0;
    for (const j of jobsOf[s]) {
      const r = results[j][0];
      if ('error' in r) notes.add(r.error);
      else {
        values[jobs[j].c] = r.value;
        ms += r.ms;
      }
    }
    writes.push(onSlot(slot, { values, largerIsBetter: true, ms, ...(notes.size ? { notes: [...notes] } : {}) }));
  };
  slots.forEach((_, s) => (left[s] === 0 ? finish(s) : undefined));
  try {
    await scoreCandidates(
      (j) => [slots[jobs[j].s].measure],
      jobs.length,
      (j) => {
        const { s, c } = jobs[j];
        const slot = slots[s];
        const cand = slot.task.candidates[c];
        const name = cand.label;
        return probabilities(s)
          ? { probabilities: rowsOf(cand.probabilities!, slot.idx), target: target(s), name }
          : { features: rowsOf(cand.features, slot.idx), target: target(s), name };
      },
      {
        threads: scoreThreads(jobs.length, work),
        engine,
        onError: 'record',
        transfer: true,
        onDone: (j, values) => {
          results[j] = values;
          if (--left[jobs[j].s] === 0) finish(jobs[j].s);
        },
      },
    );
  } finally {
    await Promise.allSettled(writes);
  }
  await Promise.all(writes);
}

/** What a cached record keeps: the scores, not where they belong (the key says that). */
type CachedScores = Pick<DrawRecord, 'values' | 'largerIsBetter' | 'ms' | 'notes'>;

/**
 * The score cache of one evaluation. Digests of the candidates' inputs and of a task's labels are computed once per
 * matrix / label list (targets of one data set share their candidates' pool features).
 */
function scoreCache(cacheDir: string, rescore: boolean) {
  const dir = join(cacheDir, 'transfer', 'scores');
  const digests = new WeakMap<object, string>();
  const digest = (of: object, compute: (h: ReturnType<typeof createHash>) => void): string => {
    let d = digests.get(of);
    if (d === undefined) {
      const h = createHash('sha256');
      compute(h);
      digests.set(of, (d = h.digest('hex')));
    }
    return d;
  };
  const matrix = (m: Matrix) => digest(m, (h) => hashMatrix(h, m));
  const candidate = (c: TransferCandidate) => ({
    label: c.label,
    features: matrix(c.features),
    probabilities: c.probabilities ? matrix(c.probabilities) : null,
  });
  return {
    key(task: TransferTask, idx: Uint32Array, measure: string): string {
      const labels = digest(task.labels, (h) => h.update(JSON.stringify(task.labels)));
      const h = createHash('sha256');
      h.update(JSON.stringify({ version: SCORE_CACHE_VERSION, measure: canonicalId(measure), labels, candidates: task.candidates.map(candidate) }));
      h.update(new Uint8Array(idx.buffer, idx.byteOffset, idx.byteLength));
      return h.digest('hex');
    },
    async read(key: string): Promise<CachedScores | undefined> {
      if (rescore) return undefined;
      try {
        const r = JSON.parse(await readFile(join(dir, `${key}.json`), 'utf8')) as CachedScores & { key?: string };
        // Anything unexpected (a partial or foreign file) is recomputed rather than trusted.
        if (r.key !== key || !Array.isArray(r.values) || typeof r.largerIsBetter !== 'boolean' || typeof r.ms !== 'number') return undefined;
        return { values: r.values, largerIsBetter: r.largerIsBetter, ms: r.ms, ...(r.notes ? { notes: r.notes } : {}) };
      } catch {
        return undefined;
      }
    },
    async write(key: string, scores: CachedScores): Promise<void> {
      await mkdir(dir, { recursive: true });
      await writeFileAtomic(join(dir, `${key}.json`), `${JSON.stringify({ key, ...scores })}\n`);
    },
  };
}

/** Metric of one draw over the candidates that have a value; null when undefined (constant scores, < 3 candidates). */
export function judge(metric: JudgeMetric, scores: readonly (number | null)[], truth: readonly number[]): number | null {
  const keep = scores.map((s, i) => (s === null ? -1 : i)).filter((i) => i >= 0);
  if (keep.length < 3) return null;
  const s = Float64Array.from(keep, (i) => scores[i]!);
  const g = Float64Array.from(keep, (i) => truth[i]);
  if (metric === 'top1' || metric === 'regret') {
    let pick = 0;
    let best = 0;
    for (let k = 1; k < s.length; k++) {
      if (s[k] > s[pick]) pick = k;
      if (g[k] > g[best]) best = k;
    }
    return metric === 'top1' ? (g[pick] === g[best] ? 1 : 0) : g[best] - g[pick];
  }
  const v = metric === 'weightedtau' ? weightedTau(s, g) : metric === 'kendall' ? kendallTauB(s, g) : spearman(s, g);
  return Number.isFinite(v) ? v : null;
}

/** Mean of per-group means and its percentile bootstrap interval, resampling each group's values with replacement. */
export function bootstrapMean(groups: readonly (readonly number[])[], resamples: number, random: () => number): Interval | null {
  const used = groups.filter((g) => g.length > 0);
  if (used.length === 0) return null;
  const meanOf = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const mean = meanOf(used.map(meanOf));
  const boots = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let total = 0;
    for (const g of used) {
      let s = 0;
      for (let k = 0; k < g.length; k++) s += g[Math.floor(random() * g.length)];
      total += s / g.length;
    }
    boots[b] = total / used.length;
  }
  return { mean, lo: percentile(boots, 2.5), hi: percentile(boots, 97.5), n: used.reduce((a, g) => a + g.length, 0) };
}

/** Score every measure on every draw, then judge them against each head's ground truth. */
export async function evaluateTransfer(tasks: TransferTask[], opts: TransferEvalOptions): Promise<TransferEvaluation> {
  if (!(Number.isInteger(opts.draws) && opts.draws >= 1)) throw new Error(`draws must be a positive integer, got ${opts.draws}`);
  if (opts.perClass.length === 0 || opts.perClass.some((k) => !(Number.isInteger(k) && k >= 1))) {
    throw new Error(`images per class must be positive integers, got ${opts.perClass.join(', ')}`);
  }
  // Parsed in full (parameters too), so that a bad setting fails before minutes of scoring.
  for (const m of opts.measures) canonicalId(m);
  for (const t of tasks) {
    for (const c of t.candidates) {
      if (c.features.rows !== t.labels.length) throw new Error(`${t.id}/${c.label}: ${c.features.rows} feature rows but ${t.labels.length} labels`);
      if (c.probabilities && c.probabilities.rows !== t.labels.length) throw new Error(`${t.id}/${c.label}: probabilities have ${c.probabilities.rows} rows`);
    }
    for (const [head, g] of Object.entries(t.truth)) {
      if (g.length !== t.candidates.length) throw new Error(`${t.id}: ground truth "${head}" has ${g.length} values for ${t.candidates.length} candidates`);
    }
  }
  const engine = opts.engine ?? (await getGemmEngine());
  const resamples = opts.resamples ?? 1000;
  const cache = opts.cacheDir ? scoreCache(opts.cacheDir, opts.rescore ?? false) : undefined;
  const total = tasks.length * opts.perClass.length * opts.draws * opts.measures.length;
  let done = 0;
  const step = (what: string) => opts.onProgress?.(++done, total, what);

  // 1. Every (target, size, draw, measure), in report order; cached scores are read now.
  const slots: Slot[] = [];
  for (const task of tasks) {
    for (const perClass of opts.perClass) {
      for (let d = 0; d < opts.draws; d++) {
        const idx = stratifiedDraw(task.labels, perClass, mulberry32(drawSeed(opts.seed, task.id, perClass, d)));
        for (const measure of opts.measures) {
          const slot: Slot = { task, perClass, d, idx, measure, key: cache?.key(task, idx, measure) };
          const hit = slot.key === undefined ? undefined : await cache!.read(slot.key);
          if (hit) {
            slot.record = { target: task.id, perClass, draw: d, measure, ...hit, cached: true };
            step(`${task.id} · ${perClass}/class · draw ${d + 1} · ${measure} (cached)`);
          }
          slots.push(slot);
        }
      }
    }
  }
  const what = (slot: Slot) => `${slot.task.id} · ${slot.perClass}/class · draw ${slot.d + 1} · ${slot.measure}`;
  const computed = async (slot: Slot, scored: CachedScores) => {
    slot.record = { target: slot.task.id, perClass: slot.perClass, draw: slot.d, measure: slot.measure, ...scored };
    step(what(slot));
    if (slot.key !== undefined) await cache!.write(slot.key, scored);
  };

  // 2. Label-based scores still to compute: every (slot, candidate) is one task for scoreCandidates, on every core
  //    for large inputs, each with a memo of its own, so a measure's time is its own (summed over candidates: the
  //    thread-time one thread would have taken).
  const labelSlots = slots.filter((s) => !s.record && findEntry(s.measure)!.input !== 'representations');
  if (labelSlots.length) opts.onProgress?.(done, total, `label-based scores of ${labelSlots.length} draws and measures`);
  await labelScores(labelSlots, engine, (slot, scored) => computed(slot, scored));

  // 3. Representation measures, one draw at a time (each call batches its candidates).
  for (const slot of slots) {
    if (slot.record) continue;
    const t0 = performance.now();
    const { values, largerIsBetter, notes } = await scoreDraw(slot.task, slot.idx, slot.measure, engine);
    await computed(slot, { values, largerIsBetter, ms: performance.now() - t0, ...(notes.length ? { notes } : {}) });
  }
  const records = slots.map((s) => s.record!);
  opts.onProgress?.(done, total, 'judging');
  return {
    measures: opts.measures,
    perClass: opts.perClass,
    draws: opts.draws,
    seed: opts.seed,
    resamples,
    records,
    rows: judgeRecords(tasks, records, opts, resamples),
  };
}

function judgeRecords(tasks: TransferTask[], records: DrawRecord[], opts: TransferEvalOptions, resamples: number): MetricRow[] {
  const heads = [...new Set(tasks.flatMap((t) => Object.keys(t.truth)))];
  const rows: MetricRow[] = [];
  for (const measure of opts.measures) {
    for (const perClass of opts.perClass) {
      for (const head of heads) {
        const perTarget = new Map<string, Record<JudgeMetric, number[]>>();
        let msSum = 0;
        let msCount = 0;
        let candidates = 0;
        for (const task of tasks) {
          const truth = task.truth[head];
          if (!truth) continue;
          const values = Object.fromEntries(JUDGE_METRICS.map((m) => [m, [] as number[]])) as Record<JudgeMetric, number[]>;
          for (const r of records) {
            if (r.target !== task.id || r.measure !== measure || r.perClass !== perClass) continue;
            msSum += r.ms;
            msCount++;
            candidates = Math.max(candidates, r.values.filter((v) => v !== null).length);
            const oriented = r.largerIsBetter ? r.values : r.values.map((v) => (v === null ? null : -v));
            for (const m of JUDGE_METRICS) {
              const v = judge(m, oriented, truth);
              if (v !== null) values[m].push(v);
            }
          }
          perTarget.set(task.id, values);
        }
        const interval = (groups: number[][], salt: string) =>
          bootstrapMean(groups, resamples, mulberry32(drawSeed(opts.seed, `${measure}|${head}|${salt}`, perClass, 0)));
        const common = { measure, perClass, head, ms: msCount ? msSum / msCount : 0, candidates };
        for (const [target, values] of perTarget) {
          rows.push({
            ...common,
            target,
            metrics: Object.fromEntries(JUDGE_METRICS.map((m) => [m, interval([values[m]], `${target}|${m}`)])) as MetricRow['metrics'],
          });
        }
        rows.push({
          ...common,
          target: 'mean',
          metrics: Object.fromEntries(
            JUDGE_METRICS.map((m) => [
              m,
              interval(
                [...perTarget.values()].map((v) => v[m]),
                `mean|${m}`,
              ),
            ]),
          ) as MetricRow['metrics'],
        });
      }
    }
  }
  return rows;
}
