/**
 * `taskmap benchmark zoo-transfer`: a small Taskonomy of the bundled zoo, and how well the similarity measures
 * predict it (issue 6).
 *
 * Tasks are the zoo networks' own outputs on the probe images (model T's final output tensors = task T; model T
 * itself is the fully supervised network, `self`). A transfer S → T is a closed-form ridge readout from S's
 * default-tap features to T's outputs (./readout.ts), cross-fitted over seeded folds, scored per image in T's
 * normalised output space. Baselines: `pixels` (readout from 16×16 RGB thumbnails) and `random` (readout from a
 * random-weight one-layer ReLU encoder of 32×32 RGB thumbnails). The per-image losses go through the Taskonomy
 * engine unchanged (win rates, AHP affinities, Gain/Quality, supervision policy, task tree), and every standard
 * measure is scored against the affinities with the DDS protocol (per-target Spearman, mean over targets), with
 * and without the self entry, with a seeded bootstrap over images for the measured side.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { evaluatePrediction } from '../evaluate/evaluate.js';
import { loadRepresentation } from '../features/featureSet.js';
import type { Representation } from '../features/types.js';
import { ensureProbeImages } from '../images/probe.js';
import { decodeResized } from '../images/preprocess.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { Matrix } from '../linalg/dense.js';
import { gram } from '../linalg/gemm.js';
import type { LabelledMatrix } from '../linalg/labelled.js';
import { mulberry32, normalDraw, percentile } from '../linalg/resample.js';
import { isDistance } from '../measures/catalogue.js';
import { canonicalMeasureId, describeMeasure, standardRepresentationIds } from '../measures/registry.js';
import { similarityMatrix } from '../measures/similarity.js';
import { extractFeatures, type ExtractSummary } from '../models/extract.js';
import { blankBatch } from '../models/inspect.js';
import { loadModelFile } from '../models/load.js';
import { formatReduction } from '../models/reduce.js';
import { resolveModel } from '../models/resolve.js';
import type { Reduction } from '../models/types.js';
import { zooModel } from '../models/zoo.js';
import { ahpAffinities, type TargetConsistency } from '../taskonomy/ahp.js';
import { budgetSweep, type SweepRow, type PolicyResult } from '../taskonomy/policy.js';
import type { ResultDict } from '../taskonomy/results.js';
import { taskTree } from '../taskonomy/tree.js';
import { gainAndQuality, tournamentsFromLosses, tournamentsToJson, type LossRecord, type TournamentsJson } from '../taskonomy/winrates.js';
import { leafOrder, toNewick } from '../taxonomy/cluster.js';
import { DEFAULT_LAMBDA_RATIOS, measureTransfers, type SourceGram, type TaskOutputs } from './readout.js';

/**
 * Default models: one to three fast networks per task family (≈ 0.6 s per image in all, single thread), so the
 * whole benchmark runs in minutes on 2 cores. `--models all` takes the whole zoo. facemesh-detection-short is left out:
 * its backbone features are identical to blazeface-front's (same network, other head export), and a duplicate pair
 * makes a trivially perfect source and skews the policy.
 */
export const ZOO_TRANSFER_MODELS = [
  'blazeface-front',
  'facemesh',
  'iris',
  'age',
  'gender',
  'emotion',
  'antispoof',
  'liveness',
  'mobileface',
  'mobilefacenet',
  'movenet-lightning',
  'blazepose-lite',
  'handlandmark-lite',
  'selfie',
  'meet',
  'nanodet',
  'nsfw-mobilenet-v2',
  'ppocr-det',
  'ppocr-cls',
  'ppocr-rec',
];

/**
 * The measures scored by default: every standard setting, batched and pairwise, except permutation and soft matching
 * over features — the zoo's taps are 4×4×c maps of up to 32,768 features, where one assignment between two layers
 * does not finish in minutes. Their channel settings (`units=channels`, a c² problem) stay in.
 */
export function defaultZooTransferMeasures(): string[] {
  return standardRepresentationIds().filter((id) => id !== 'permutation' && id !== 'softmatch');
}

/** Output tensors larger than this are shrunk (pooled when they are maps, else randomly projected) to this size. */
export const MAX_OUTPUT_DIMS = 256;
/** Thumbnail sizes of the `pixels` and `random` baselines, and the random encoder's width. */
export const PIXELS_SIDE = 16;
export const RANDOM_SIDE = 32;
export const RANDOM_WIDTH = 1024;

export interface ZooTransferOptions {
  images?: string;
  out: string;
  models?: string[];
  folds?: number;
  seed?: number;
  /** Bootstrap draws over images for the prediction CIs (0 = none). */
  bootstrap?: number;
  measures?: string[];
  /** Supervision budgets for the policy (default 1, 2, 3, ⌈m/4⌉, ⌈m/2⌉). */
  budgets?: number[];
  workers?: number;
  skipBad?: boolean;
  onProgress?: (stage: string, done: number, total: number, label: string) => void;
  log?: (message: string) => void;
}

export interface OutputTap {
  name: string;
  /** Per-image shape (no batch axis). */
  shape: number[];
  reduce: string;
}

export interface PredictionRow {
  measure: string;
  name: string;
  /** Mean per-target Spearman, self entry excluded / included, on all images. */
  mean: number | null;
  meanWithSelf: number | null;
  /** 95% normal bootstrap interval over images (measured side resampled; see bootstrapInterval). */
  ci: [number, number] | null;
  ciWithSelf: [number, number] | null;
  /** 2.5 and 97.5 percentiles of the bootstrap distribution itself. */
  bootstrapPercentiles: [number, number] | null;
  bootstrapPercentilesWithSelf: [number, number] | null;
  /** Bootstrap mean − estimate (negative: the attenuation described at bootstrapInterval). */
  bootstrapBias: number | null;
  bootstrapBiasWithSelf: number | null;
  perTarget: Record<string, number | null>;
  ms: number;
  error?: string;
}

export interface ZooTransferResult {
  out: string;
  models: string[];
  failed: { model: string; error: string }[];
  images: string[];
  targets: Record<string, { outputs: OutputTap[]; dims: number; description: string; family: string }>;
  sources: string[];
  folds: number;
  seed: number;
  lambdaRatios: number[];
  /** Mean held-out loss per target → candidate (1 = predicting the training mean). */
  meanLoss: Record<string, Record<string, number>>;
  lambdaRatio: Record<string, Record<string, number[]>>;
  affinities: ResultDict;
  winsVsPixels: ResultDict;
  winsVsTask: ResultDict;
  consistency: TargetConsistency[];
  policy: SweepRow[];
  policies: PolicyResult[];
  tree: { newick: string; order: string[] };
  prediction: PredictionRow[];
  bootstrap: number;
  timings: Record<string, number>;
}

/** Reduction for one output tensor: keep small ones, pool maps to ≤ MAX_OUTPUT_DIMS, project the rest. */
export function outputReduction(shape: number[], channelsLast: boolean): Reduction {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size <= MAX_OUTPUT_DIMS) return { kind: 'none' };
  if (shape.length >= 3) {
    const channels = channelsLast ? shape[shape.length - 1] : shape[0];
    const spatial = shape.length - 1;
    for (const k of [8, 4, 2])
      if (k ** spatial * channels <= MAX_OUTPUT_DIMS && shape.every((s, i) => (channelsLast ? i === shape.length - 1 : i === 0) || s >= k))
        return { kind: 'pool', k };
    if (channels <= MAX_OUTPUT_DIMS) return { kind: 'gap' };
  }
  return { kind: 'proj', d: MAX_OUTPUT_DIMS, seed: 0 };
}

interface PlanFile {
  version: 1;
  models: Record<string, { fingerprint: string; outputs: OutputTap[] }>;
}

/**
 * Each model's output tensors with their shapes (one forward pass of a blank image; cached by model
 * fingerprint) and the reduction that keeps each one small.
 */
async function planOutputs(
  ids: string[],
  file: string,
  log: (m: string) => void,
): Promise<{ plan: Map<string, OutputTap[]>; failed: { model: string; error: string }[] }> {
  let cached: PlanFile = { version: 1, models: {} };
  try {
    cached = JSON.parse(await readFile(file, 'utf8')) as PlanFile;
  } catch {
    /* no plan yet */
  }
  const plan = new Map<string, OutputTap[]>();
  const failed: { model: string; error: string }[] = [];
  let changed = false;
  for (const id of ids) {
    try {
      const spec = await resolveModel(id, {});
      const hit = cached.models[id];
      if (hit && hit.fingerprint === spec.fingerprint) {
        plan.set(id, hit.outputs);
        continue;
      }
      if (!spec.preprocessing) throw new Error('no preprocessing known');
      const runner = await loadModelFile(spec.file, { extraInputs: spec.extraInputs, threads: 1 });
      try {
        const names = runner.outputs;
        const values = await runner.run(blankBatch(spec.preprocessing), names);
        const channelsLast = spec.featureLayout === 'channels-last';
        const outputs = names.map((name, i) => {
          const shape = values[i].shape.slice(1);
          return { name, shape, reduce: formatReduction(outputReduction(shape, channelsLast)) };
        });
        plan.set(id, outputs);
        cached.models[id] = { fingerprint: spec.fingerprint, outputs };
        changed = true;
      } finally {
        runner.dispose();
      }
    } catch (e) {
      failed.push({ model: id, error: `output tensors: ${(e as Error).message}` });
      log(`${id}: FAILED to read its outputs: ${(e as Error).message}`);
    }
  }
  if (changed) await writeFileAtomic(file, `${JSON.stringify(cached, null, 1)}\n`);
  return { plan, failed };
}

function toMatrix(rep: Representation): Matrix {
  return { rows: rep.n, cols: rep.p, data: rep.data instanceof Float64Array ? rep.data : Float64Array.from(rep.data) };
}

/**
 * The image-only baselines: `pixels` = 16×16 RGB thumbnails scaled to 0…1 (Taskonomy's "only image" readout);
 * `random` = ReLU(R·x) of 32×32 RGB thumbnails centred at 0, R Gaussian with variance 1/dim, seeded — a
 * random-weight one-layer encoder (not a re-initialised copy of a zoo network, which the runners cannot build).
 */
async function baselineFeatures(files: string[], seed: number): Promise<{ pixels: Matrix; random: Matrix }> {
  const n = files.length;
  const pDim = PIXELS_SIDE * PIXELS_SIDE * 3;
  const rIn = RANDOM_SIDE * RANDOM_SIDE * 3;
  const pixels = { rows: n, cols: pDim, data: new Float64Array(n * pDim) };
  const thumbs = new Float64Array(n * rIn);
  for (let i = 0; i < n; i++) {
    const bytes = await readFile(files[i]);
    const small = await decodeResized(bytes, { width: PIXELS_SIDE, height: PIXELS_SIDE, resize: 'stretch' });
    for (let k = 0; k < pDim; k++) pixels.data[i * pDim + k] = small[k] / 255;
    const mid = await decodeResized(bytes, { width: RANDOM_SIDE, height: RANDOM_SIDE, resize: 'stretch' });
    for (let k = 0; k < rIn; k++) thumbs[i * rIn + k] = mid[k] / 255 - 0.5;
  }
  const random = { rows: n, cols: RANDOM_WIDTH, data: new Float64Array(n * RANDOM_WIDTH) };
  const r = mulberry32(seed);
  const w = new Float64Array(rIn);
  const sd = 1 / Math.sqrt(rIn);
  for (let u = 0; u < RANDOM_WIDTH; u++) {
    for (let k = 0; k < rIn; k++) w[k] = normalDraw(r) * sd;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < rIn; k++) s += w[k] * thumbs[i * rIn + k];
      random.data[i * RANDOM_WIDTH + u] = Math.max(0, s);
    }
  }
  return { pixels, random };
}

/** Truth matrix for the DDS protocol: rows = sources, cols = targets (models); the diagonal is `self__T`. */
export function affinityTruth(affinities: ResultDict, models: string[]): LabelledMatrix {
  const m = models.length;
  const data = new Float64Array(m * m);
  models.forEach((s, i) =>
    models.forEach((t, j) => {
      const key = i === j ? `self__${t}` : `${s}__${t}`;
      const v = affinities[key];
      if (v === undefined) throw new Error(`affinities have no "${key}"`);
      data[i * m + j] = v;
    }),
  );
  return { rows: [...models], cols: [...models], matrix: { rows: m, cols: m, data } };
}

/** Per-image losses resampled: image k of the draw is original image idx[k] (ids made unique per draw). */
function resampleRecords(byKey: Map<string, { target: string; source: string; loss: Float64Array }>, idx: Uint32Array): LossRecord[] {
  const out: LossRecord[] = [];
  for (const { target, source, loss } of byKey.values())
    for (let k = 0; k < idx.length; k++) out.push({ target, source, image: String(k), loss: loss[idx[k]] });
  return out;
}

/**
 * Normal bootstrap interval θ̂ ± 1.96 × (bootstrap SD), clipped to [−1, 1]. Resampling with replacement duplicates
 * images, which adds noise to the re-measured affinities and pulls every resampled Spearman below the full-sample
 * one (attenuation, often by more than the spread), so percentile intervals lie entirely below θ̂ and basic
 * (reverse-percentile) ones entirely above it. The SD is the usable part; the shift is reported as `bootstrapBias`
 * (bootstrap mean − θ̂) and the raw percentiles as `bootstrapPercentiles`.
 */
function bootstrapInterval(
  estimate: number | null,
  values: number[],
): { ci: [number, number] | null; percentiles: [number, number] | null; bias: number | null } {
  const v = values.filter(Number.isFinite);
  if (estimate === null || v.length < 10) return { ci: null, percentiles: null, bias: null };
  const mean = v.reduce((x, y) => x + y, 0) / v.length;
  const sd = Math.sqrt(v.reduce((x, y) => x + (y - mean) ** 2, 0) / (v.length - 1));
  const clip = (x: number) => Math.max(-1, Math.min(1, x));
  return { ci: [clip(estimate - 1.96 * sd), clip(estimate + 1.96 * sd)], percentiles: [percentile(v, 2.5), percentile(v, 97.5)], bias: mean - estimate };
}

/** What a run computes besides its result: the inputs of the files the report writes (src/report/zooTransfer.ts). */
export interface ZooTransferRun {
  result: ZooTransferResult;
  /** Win-rate tournaments in the format `taskmap ahp --tournaments` reads. */
  tournaments: TournamentsJson;
  /** Per-image held-out losses (target, source, image, loss). */
  records: LossRecord[];
  extract: ExtractSummary;
}

type Timer = <T>(stage: string, f: () => Promise<T> | T) => Promise<T>;
type Failure = { model: string; error: string };

/** Step 1's product: the models that produced both features and outputs, with their features and target outputs. */
interface ZooFeatures {
  extract: ExtractSummary;
  models: string[];
  features: Map<string, Representation>;
  tasks: TaskOutputs[];
  targetInfo: ZooTransferResult['targets'];
  failed: Failure[];
}

/** Step 1: output tensors of every model, then one extraction with the default tap and the outputs as taps. */
async function extractZooFeatures(ids: string[], imagesDir: string, out: string, opts: ZooTransferOptions, time: Timer): Promise<ZooFeatures> {
  const log = opts.log ?? (() => undefined);
  const progress = opts.onProgress ?? (() => undefined);
  const { plan, failed } = await time('output planning', () => planOutputs(ids, join(out, 'outputs-plan.json'), log));
  const planned = ids.filter((id) => plan.has(id));
  const featuresDir = join(out, 'features');
  const extract: ExtractSummary = await time('extraction', () =>
    extractFeatures({
      images: imagesDir,
      out: featuresDir,
      models: planned.map((id) => {
        const z = zooModel(id)!;
        return { ref: id, taps: [`${z.tap}@${formatReduction(z.reduce)}`, ...plan.get(id)!.map((o) => `${o.name}@${o.reduce}`)] };
      }),
      workers: opts.workers,
      continueOnError: true,
      skipBad: opts.skipBad,
      onProgress: (d, t, l) => progress('extract', d, t, l),
      onLog: log,
      tool: 'taskmap benchmark zoo-transfer',
    }),
  );
  failed.push(...extract.failed);
  const entries = extract.manifest.entries;
  const models: string[] = [];
  const features = new Map<string, Representation>();
  const tasks: TaskOutputs[] = [];
  const targetInfo: ZooTransferResult['targets'] = {};
  await time('loading', async () => {
    for (const id of planned) {
      if (extract.failed.some((f) => f.model === id)) continue;
      const z = zooModel(id)!;
      const find = (layer: string, reduce: string) => entries.find((e) => e.model.id === id && e.layer === layer && e.reduce === reduce);
      const feat = find(z.tap, formatReduction(z.reduce));
      const outs = plan.get(id)!.map((o) => ({ o, e: find(o.name, o.reduce) }));
      if (!feat || outs.some((x) => !x.e)) {
        failed.push({ model: id, error: 'extraction produced no rows for its tap or outputs' });
        continue;
      }
      const rep = await loadRepresentation(join(featuresDir, feat.file), id);
      const blocks: Representation[] = [];
      for (const { o, e } of outs) blocks.push(await loadRepresentation(join(featuresDir, e!.file), `${id}:${o.name}`));
      const q = blocks.reduce((a, b) => a + b.p, 0);
      const y = new Float64Array(rep.n * q);
      let off = 0;
      for (const b of blocks) {
        for (let i = 0; i < rep.n; i++) for (let d = 0; d < b.p; d++) y[i * q + off + d] = b.data[i * b.p + d];
        off += b.p;
      }
      if (!y.every(Number.isFinite)) {
        failed.push({ model: id, error: 'its outputs contain NaN or infinite values' });
        continue;
      }
      models.push(id);
      features.set(id, rep);
      tasks.push({ name: id, y: { rows: rep.n, cols: q, data: y }, blocks: blocks.map((b) => b.p) });
      targetInfo[id] = { outputs: plan.get(id)!, dims: q, description: z.description, family: z.family };
    }
  });
  return { extract, models, features, tasks, targetInfo, failed };
}

/** Step 2: transfers — one Gram per source (the models and the two baselines), every target and fold from it. */
async function measureZooTransfers(
  z: ZooFeatures,
  images: string[],
  opts: { folds: number; seed: number; onProgress: NonNullable<ZooTransferOptions['onProgress']> },
  time: Timer,
) {
  const { folds, seed } = opts;
  const grams: SourceGram[] = await time('transfers', async () => {
    const base = await baselineFeatures(
      z.extract.manifest.images.files.map((f) => join(z.extract.manifest.images.root, f.path)),
      seed,
    );
    const list: SourceGram[] = [];
    for (const id of z.models) list.push({ name: id, gram: await gram(toMatrix(z.features.get(id)!)) });
    list.push({ name: 'pixels', gram: await gram(base.pixels) }, { name: 'random', gram: await gram(base.random) });
    return list;
  });
  return time('transfers', () => measureTransfers(grams, z.tasks, { folds, seed, images, onProgress: (d, t, l) => opts.onProgress('transfers', d, t, l) }));
}

/** Step 3: the Taskonomy engine on the per-image losses (win rates, AHP, Gain/Quality, policy sweep, task tree). */
async function zooTaskonomy(records: LossRecord[], models: string[], budgetList: number[] | undefined, time: Timer) {
  const tournaments = tournamentsFromLosses(records);
  const { affinities, consistency } = ahpAffinities(tournaments);
  const gq = gainAndQuality(tournaments);
  const m = models.length;
  const budgets = budgetList ?? [...new Set([1, 2, 3, Math.ceil(m / 4), Math.ceil(m / 2)])].sort((a, b) => a - b);
  const sweep = await time('policy', () => budgetSweep({ affinities, winsVsPixels: gq.winsVsPixels, winsVsTask: gq.winsVsTask, budget: 1 }, budgets));
  // Taskonomy's files also hold a `t__t` transfer (t's own encoder with a small readout); here that readout is
  // exactly `self`, so the tree's feature matrix takes its diagonal from `self__t`.
  const tree = taskTree(
    { ...affinities, ...Object.fromEntries(models.map((t) => [`${t}__${t}`, affinities[`self__${t}`]])) },
    { tasks: models, targets: models },
  );
  const treeOrder = leafOrder(tree).map((i) => tree.labels[i]);
  return { tournaments, affinities, consistency, gq, sweep, tree: { newick: toNewick(tree), order: treeOrder } };
}

interface MeasureSimilarity {
  id: string;
  sim: LabelledMatrix | null;
  ms: number;
  error?: string;
}

/** Step 4a: every measure's similarity between the models' features, oriented so that larger = better source. */
async function measureSimilarities(
  reps: Representation[],
  measureIds: string[],
  progress: NonNullable<ZooTransferOptions['onProgress']>,
): Promise<MeasureSimilarity[]> {
  const sims: MeasureSimilarity[] = [];
  for (let i = 0; i < measureIds.length; i++) {
    const id = measureIds[i];
    const t0 = performance.now();
    try {
      const raw = await similarityMatrix(reps, id);
      // Distances (larger = less similar; the measure catalogue decides) are negated so every prediction reads
      // "larger = better source".
      const sim = !isDistance(id) ? raw : { ...raw, matrix: { ...raw.matrix, data: raw.matrix.data.map((v) => -v) } };
      sims.push({ id, sim, ms: performance.now() - t0 });
    } catch (e) {
      sims.push({ id, sim: null, ms: performance.now() - t0, error: (e as Error).message });
    }
    progress('measures', i + 1, measureIds.length, id);
  }
  return sims;
}

const scorePrediction = (sim: LabelledMatrix, t: LabelledMatrix, includeSelf: boolean) => evaluatePrediction(sim, t, { includeSelf, metric: 'spearman' });

/**
 * Step 4b: the bootstrap over images — held-out losses resampled, affinities recomputed, every measure rescored
 * (similarities held fixed). Returns each measure's draws, self excluded and included.
 */
function bootstrapScores(
  sims: MeasureSimilarity[],
  records: LossRecord[],
  images: string[],
  models: string[],
  opts: { seed: number; draws: number; onProgress: NonNullable<ZooTransferOptions['onProgress']> },
): { excl: number[][]; incl: number[][] } {
  const n = images.length;
  const boot: { excl: number[][]; incl: number[][] } = { excl: sims.map(() => []), incl: sims.map(() => []) };
  const byKey = new Map<string, { target: string; source: string; loss: Float64Array }>();
  const index = new Map(images.map((im, i) => [im, i]));
  for (const r of records) {
    const key = `${r.target}\u0000${r.source}`;
    let e = byKey.get(key);
    if (!e) byKey.set(key, (e = { target: r.target, source: r.source, loss: new Float64Array(n) }));
    e.loss[index.get(r.image)!] = r.loss;
  }
  const random = mulberry32(opts.seed ^ 0x5eed);
  for (let b = 0; b < opts.draws; b++) {
    const idx = Uint32Array.from({ length: n }, () => Math.floor(random() * n));
    const aff = ahpAffinities(tournamentsFromLosses(resampleRecords(byKey, idx))).affinities;
    const t = affinityTruth(aff, models);
    sims.forEach((s, k) => {
      if (!s.sim) return;
      boot.excl[k].push(scorePrediction(s.sim, t, false).mean ?? Number.NaN);
      boot.incl[k].push(scorePrediction(s.sim, t, true).mean ?? Number.NaN);
    });
    opts.onProgress('bootstrap', b + 1, opts.draws, '');
  }
  return boot;
}

/** Step 4c: one prediction row per measure — the estimate on all images and its bootstrap interval. */
function predictionRows(sims: MeasureSimilarity[], truth: LabelledMatrix, boot: { excl: number[][]; incl: number[][] }): PredictionRow[] {
  return sims.map((s, k) => {
    const name = describeMeasure(s.id).name;
    if (!s.sim)
      return {
        measure: s.id,
        name,
        mean: null,
        meanWithSelf: null,
        ci: null,
        ciWithSelf: null,
        bootstrapPercentiles: null,
        bootstrapPercentilesWithSelf: null,
        bootstrapBias: null,
        bootstrapBiasWithSelf: null,
        perTarget: {},
        ms: s.ms,
        error: s.error,
      };
    const excl = scorePrediction(s.sim, truth, false);
    const incl = scorePrediction(s.sim, truth, true);
    const a = bootstrapInterval(excl.mean, boot.excl[k]);
    const b = bootstrapInterval(incl.mean, boot.incl[k]);
    return {
      measure: s.id,
      name,
      mean: excl.mean,
      meanWithSelf: incl.mean,
      ci: a.ci,
      ciWithSelf: b.ci,
      bootstrapPercentiles: a.percentiles,
      bootstrapPercentilesWithSelf: b.percentiles,
      bootstrapBias: a.bias,
      bootstrapBiasWithSelf: b.bias,
      perTarget: excl.per_target,
      ms: s.ms,
    };
  });
}

/**
 * Run the benchmark: extract, measure the transfers, run the Taskonomy engine, score every measure. Computes only;
 * the caller writes the files with `writeZooTransferReport` (src/report/zooTransfer.ts), which adds the time it
 * took as `timings.report`.
 */
export async function runZooTransfer(opts: ZooTransferOptions): Promise<ZooTransferRun> {
  const log = opts.log ?? (() => undefined);
  const progress = opts.onProgress ?? (() => undefined);
  const out = resolve(opts.out);
  const folds = opts.folds ?? 5;
  const seed = opts.seed ?? 1;
  const draws = opts.bootstrap ?? 200;
  const timings: Record<string, number> = {};
  const time: Timer = async <T>(stage: string, f: () => Promise<T> | T): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      timings[stage] = (timings[stage] ?? 0) + (performance.now() - t0) / 1000;
    }
  };
  const ids = opts.models ?? ZOO_TRANSFER_MODELS;
  const unknown = ids.filter((id) => !zooModel(id));
  if (unknown.length) throw new Error(`not zoo models: ${unknown.join(', ')} (tasks are zoo networks' outputs; see \`taskmap zoo\`)`);
  if (ids.length < 4) throw new Error('zoo-transfer needs at least 4 models (a per-target Spearman over ≥ 3 other sources)');
  await mkdir(out, { recursive: true });

  let imagesDir = opts.images;
  if (!imagesDir) {
    const probe = await time('probe images', () => ensureProbeImages({ log }));
    imagesDir = probe.dir;
  }

  // 1. Output tensors of every model, then one extraction with the default tap and the outputs as taps.
  const z = await extractZooFeatures(ids, imagesDir, out, opts, time);
  const { extract, models, failed } = z;
  if (models.length < 4)
    throw new Error(`only ${models.length} models produced features and outputs (failures: ${failed.map((f) => `${f.model}: ${f.error}`).join('; ')})`);
  const images = extract.manifest.images.files.map((f) => f.path);

  // 2. Transfers: one Gram per source, every target and fold from it.
  const measured = await measureZooTransfers(z, images, { folds, seed, onProgress: progress }, time);

  // 3. The Taskonomy engine on the per-image losses.
  const engine = await zooTaskonomy(measured.records, models, opts.budgets, time);
  const { affinities } = engine;

  // 4. Prediction: every measure's similarity between source and target features vs the measured affinities.
  const measureIds = (opts.measures ?? defaultZooTransferMeasures()).map(canonicalMeasureId);
  const truth = affinityTruth(affinities, models);
  const sims = await measureSimilarities(
    models.map((id) => z.features.get(id)!),
    measureIds,
    progress,
  );
  timings.prediction = sims.reduce((a, s) => a + s.ms, 0) / 1000;
  const boot = await time('bootstrap', () => bootstrapScores(sims, measured.records, images, models, { seed, draws, onProgress: progress }));
  const prediction = predictionRows(sims, truth, boot);

  const result: ZooTransferResult = {
    out,
    models,
    failed,
    images,
    targets: z.targetInfo,
    sources: [...models, 'pixels', 'random'],
    folds,
    seed,
    lambdaRatios: [...DEFAULT_LAMBDA_RATIOS],
    meanLoss: measured.meanLoss,
    lambdaRatio: measured.lambdaRatio,
    affinities,
    winsVsPixels: engine.gq.winsVsPixels,
    winsVsTask: engine.gq.winsVsTask,
    consistency: engine.consistency,
    policy: engine.sweep.rows,
    policies: engine.sweep.results,
    tree: engine.tree,
    prediction,
    bootstrap: draws,
    timings: { ...timings },
  };
  return { result, tournaments: tournamentsToJson(engine.tournaments), records: measured.records, extract };
}
