/**
 * The transfer benchmark's ground truth (docs/transferability.md#benchmark): per (source, target, head), the test
 * accuracy of a classifier head trained on the source's frozen features of the whole training pool, its
 * regularisation chosen inside the pool (the test images are never seen). Two heads:
 *   logistic  L2 multinomial logistic regression on standardised features, λ from a grid by stratified 3-fold CV
 *             (transferability/logistic.ts)
 *   mlp       one hidden ReLU layer, AdamW, early stopping on a held-out tenth of the pool, the weight decay from a
 *             grid chosen on that same tenth (`folds: 0`; k-fold selection, `folds: 3`, trains 7 networks instead
 *             of 2 and did not fit the 2-core budget of the whole benchmark)
 *
 * Every result is cached as JSON under `<cache>/transfer/truth/<key>.json`, the key a hash of the features (their
 * float64 bytes), the labels and the head's configuration, so a warm re-run recomputes nothing and any change to
 * one of them recomputes exactly what it affects.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import type { Matrix } from '../linalg/dense.js';
import type { Worker } from 'node:worker_threads';
import { getGemmEngine, type GemmEngine, type Precision } from '../linalg/gemm.js';
import { oneBlasThreadEach } from '../linalg/lapack.js';
import { candidateThreads } from '../transferability/threads.js';
import { startSiblingWorker, workerReplies } from '../workers/startWorker.js';
import type { TruthWorkerReply, TruthWorkerTask } from './truthWorker.js';
import {
  accuracy,
  crossValidatedLogistic,
  crossValidatedMlp,
  DEFAULT_LAMBDAS,
  DEFAULT_WEIGHT_DECAYS,
  headData,
  predictLogistic,
  predictMlp,
  type HeadData,
} from '../transferability/logistic.js';
import { defaultTransferCacheDir, type TransferDatasetId, type TransferTarget } from './transferData.js';
import type { TransferFeatures } from './transferSources.js';

export type HeadKind = 'logistic' | 'mlp';
export const HEADS: readonly HeadKind[] = ['logistic', 'mlp'];

export interface LogisticHeadConfig {
  /** λ grid (penalty on standardised features, see logistic.ts). */
  lambdas: number[];
  folds: number;
  seed: number;
  /** Gradient tolerance of L-BFGS (max |∇f|). */
  tol: number;
  maxIter: number;
}

export interface MlpHeadConfig {
  weightDecays: number[];
  folds: number;
  seed: number;
  hidden: number;
  learningRate: number;
  batchSize: number;
  maxEpochs: number;
  patience: number;
  validation: number;
  precision: Precision;
}

export interface HeadConfigs {
  logistic: LogisticHeadConfig;
  mlp: MlpHeadConfig;
}

export const DEFAULT_HEAD_CONFIGS: Readonly<HeadConfigs> = {
  // One step weaker than the score's grid: with 3,000–5,000 images, 1e-5 (the weakest) was chosen in 23 of 105
  // measurements, with a cross-validation gain over 1e-4 of up to 4 points.
  logistic: { lambdas: [...DEFAULT_LAMBDAS, 1e-6], folds: 3, seed: 0, tol: 1e-4, maxIter: 500 },
  mlp: {
    weightDecays: [...DEFAULT_WEIGHT_DECAYS],
    folds: 0,
    seed: 0,
    hidden: 128,
    learningRate: 2e-3,
    batchSize: 256,
    maxEpochs: 100,
    patience: 6,
    validation: 0.1,
    precision: 'float32',
  },
};

/** One source's features and one target's labels, train pool and test set. */
export interface TruthInput {
  source: string;
  target: string;
  features: { train: Matrix; test: Matrix };
  labels: { train: Int32Array; test: Int32Array };
}

/** One ground-truth measurement. */
export interface TruthRecord {
  source: string;
  target: string;
  head: HeadKind;
  /** Test accuracy, 0…1. */
  accuracy: number;
  /** The regularisation chosen (λ for logistic, weight decay for mlp), the grid, and the pooled CV accuracy per grid value. */
  chosen: number;
  grid: number[];
  cvAccuracy: number[];
  folds: number;
  trainImages: number;
  testImages: number;
  dims: number;
  /** Solver facts of the final fit: L-BFGS iterations and convergence, or MLP epochs. */
  details: Record<string, number | boolean>;
  /** Compute time of this measurement when it was made (ms). */
  ms: number;
  /** Whether this call read it from the cache. */
  cached: boolean;
  key: string;
}

/** Feed a matrix's shape and float64 bytes to a hash (the cache keys of the ground truth and of the scores). */
export function hashMatrix(h: ReturnType<typeof createHash>, m: Matrix): void {
  h.update(`${m.rows}x${m.cols};`);
  h.update(new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength));
}

/** Digest of a source's features (float64 bytes of train and test). */
export function featuresDigest(f: { train: Matrix; test: Matrix }): string {
  const h = createHash('sha256');
  hashMatrix(h, f.train);
  hashMatrix(h, f.test);
  return h.digest('hex');
}

/** Digest of a target's labels. */
export function labelsDigest(l: { train: Int32Array; test: Int32Array }): string {
  const h = createHash('sha256');
  for (const a of [l.train, l.test]) {
    h.update(`${a.length};`);
    h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  return h.digest('hex');
}

/** Cache key of one measurement. */
export function truthKey(features: string, labels: string, head: HeadKind, config: LogisticHeadConfig | MlpHeadConfig): string {
  return createHash('sha256')
    .update(JSON.stringify({ version: 1, features, labels, head, config }))
    .digest('hex')
    .slice(0, 32);
}

export interface GroundTruthOptions {
  configs?: Partial<{ logistic: Partial<LogisticHeadConfig>; mlp: Partial<MlpHeadConfig> }>;
  /** Cache root (default `$TASKMAP_CACHE`, else ./.taskmap-cache); results in `<cacheDir>/transfer/truth/`. */
  cacheDir?: string;
  engine?: GemmEngine;
  /** The train features already prepared (shared by every target of a source). */
  data?: HeadData;
  /** Digest of the features when the caller already has it. */
  digest?: string;
}

export function headConfig<H extends HeadKind>(head: H, configs?: GroundTruthOptions['configs']): HeadConfigs[H] {
  return { ...DEFAULT_HEAD_CONFIGS[head], ...(configs?.[head] ?? {}) } as HeadConfigs[H];
}

function checkInput(input: TruthInput): void {
  const { features: f, labels: l } = input;
  const what = `${input.source} → ${input.target}`;
  if (f.train.rows !== l.train.length) throw new Error(`${what}: ${f.train.rows} train feature rows but ${l.train.length} labels`);
  if (f.test.rows !== l.test.length) throw new Error(`${what}: ${f.test.rows} test feature rows but ${l.test.length} labels`);
  if (f.train.cols !== f.test.cols) throw new Error(`${what}: ${f.train.cols} train features but ${f.test.cols} test features`);
  if (new Set(l.train).size < 2) throw new Error(`${what}: the training pool has a single class`);
}

async function readCached(file: string): Promise<TruthRecord | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as TruthRecord;
  } catch {
    return undefined;
  }
}

/** What one head measurement yields before it becomes a record: test predictions, the CV, solver details. */
interface HeadOutcome {
  pred: ArrayLike<number>;
  cv: { best: number; grid: number[]; accuracy: number[]; folds: number };
  details: TruthRecord['details'];
}

// The head configs' fields are the cross-validation options by name, so each config is passed through as is.
async function logisticHead(data: HeadData, input: TruthInput, c: LogisticHeadConfig, engine: GemmEngine): Promise<HeadOutcome> {
  const { fit, cv } = await crossValidatedLogistic(data, input.labels.train, c);
  const pred = await predictLogistic(fit, input.features.test, engine);
  return { pred, cv, details: { iterations: fit.iterations, converged: fit.converged, gradient: fit.gradient, loss: fit.loss } };
}

async function mlpHead(data: HeadData, input: TruthInput, c: MlpHeadConfig, engine: GemmEngine): Promise<HeadOutcome> {
  const { fit, cv } = await crossValidatedMlp(data, input.labels.train, c);
  const pred = await predictMlp(fit, input.features.test, engine, c.precision);
  return { pred, cv, details: { epochs: fit.epochs, bestEpoch: fit.bestEpoch, validationLoss: fit.validationLoss } };
}

/** One measurement, from the cache when it is there. */
export async function groundTruth(input: TruthInput, head: HeadKind, opts: GroundTruthOptions = {}): Promise<TruthRecord> {
  checkInput(input);
  const config = headConfig(head, opts.configs);
  const key = truthKey(opts.digest ?? featuresDigest(input.features), labelsDigest(input.labels), head, config);
  const dir = join(opts.cacheDir ?? defaultTransferCacheDir(), 'transfer', 'truth');
  const file = join(dir, `${key}.json`);
  const hit = await readCached(file);
  if (hit && hit.key === key) return { ...hit, source: input.source, target: input.target, cached: true };
  const t0 = performance.now();
  const engine = opts.engine ?? opts.data?.engine ?? (await getGemmEngine());
  const data = opts.data ?? (await headData(input.features.train, engine));
  if (data.n !== input.features.train.rows || data.d !== input.features.train.cols) throw new Error(`${input.source}: prepared data do not match the features`);
  const { pred, cv, details } =
    head === 'logistic' ? await logisticHead(data, input, config as LogisticHeadConfig, engine) : await mlpHead(data, input, config as MlpHeadConfig, engine);
  const record: Omit<TruthRecord, 'ms' | 'cached' | 'key'> = {
    source: input.source,
    target: input.target,
    head,
    trainImages: input.features.train.rows,
    testImages: input.features.test.rows,
    dims: input.features.train.cols,
    accuracy: accuracy(pred, input.labels.test),
    chosen: cv.best,
    grid: cv.grid,
    cvAccuracy: cv.accuracy,
    folds: cv.folds,
    details,
  };
  const out: TruthRecord = { ...record, ms: performance.now() - t0, cached: false, key };
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(file, `${JSON.stringify(out, null, 1)}\n`);
  return out;
}

export interface GroundTruthTableOptions extends Omit<GroundTruthOptions, 'data' | 'digest'> {
  targets: readonly TransferTarget[];
  /** Extracted features per data set (extractTransferFeatures). */
  features: Partial<Record<TransferDatasetId, TransferFeatures>>;
  /** Feature labels to measure (default: every label of each data set's features). */
  sources?: readonly string[];
  heads?: readonly HeadKind[];
  /**
   * Sources measured at once, each on a worker thread with one BLAS thread (default: TASKMAP_THREADS, else every
   * core); 1 measures them one after another on this thread. Values do not depend on it beyond the last bits of the
   * products (BLAS sums in another order with another thread count), and cached measurements are read either way.
   */
  threads?: number;
  onProgress?: (done: number, total: number, what: string) => void;
}

/**
 * Every (source, target, head) measurement: each source's features are read and prepared once for all the targets
 * of their data set; cached measurements cost a hash of the features. Sources with something to measure go to
 * worker threads (a fit is long single-threaded stretches of L-BFGS or Adam between products), one source each.
 */
export async function groundTruthTable(opts: GroundTruthTableOptions): Promise<TruthRecord[]> {
  const heads = opts.heads ?? HEADS;
  const engine = opts.engine ?? (await getGemmEngine());
  const cacheDir = opts.cacheDir ?? defaultTransferCacheDir();
  const jobs: { ds: TransferDatasetId; label: string; targets: TransferTarget[] }[] = [];
  for (const [ds, feats] of Object.entries(opts.features) as [TransferDatasetId, TransferFeatures][]) {
    const targets = opts.targets.filter((t) => t.dataset === ds);
    if (!targets.length) continue;
    for (const label of feats.labels) if (!opts.sources || opts.sources.includes(label)) jobs.push({ ds, label, targets });
  }
  const total = jobs.reduce((s, j) => s + j.targets.length * heads.length, 0);
  let done = 0;
  const progress = (what: string) => opts.onProgress?.(++done, total, what);
  const threads = Math.max(1, Math.min(opts.threads ?? candidateThreads(jobs.length), jobs.length));
  const out: TruthRecord[][] = jobs.map(() => []);

  /** A job's features and the measurements it still needs (after the cache), in (target, head) order. */
  const prepare = async (j: number) => {
    const job = jobs[j];
    const f = await opts.features[job.ds]!.load(job.label);
    const digest = featuresDigest(f);
    const slots: (TruthRecord | Todo)[] = [];
    for (const t of job.targets) {
      for (const head of heads) {
        const key = truthKey(digest, labelsDigest({ train: t.train, test: t.test }), head, headConfig(head, opts.configs));
        const cached = await readCached(join(cacheDir, 'transfer', 'truth', `${key}.json`));
        if (cached && cached.key === key) {
          slots.push({ ...cached, source: job.label, target: t.id, cached: true });
          progress(`${job.label} → ${t.id} (${head}, cached)`);
        } else slots.push({ target: t, head });
      }
    }
    return { f, digest, slots };
  };
  type Todo = { target: TransferTarget; head: HeadKind };
  const isRecord = (x: TruthRecord | Todo): x is TruthRecord => 'key' in x;
  const isTodo = (x: TruthRecord | Todo): x is Todo => !('key' in x);

  if (threads <= 1) {
    for (let j = 0; j < jobs.length; j++) {
      const { f, digest, slots } = await prepare(j);
      let data: HeadData | undefined;
      for (const x of slots) {
        if (isRecord(x)) {
          out[j].push(x);
          continue;
        }
        data ??= await headData(f.train, engine);
        const input: TruthInput = { source: jobs[j].label, target: x.target.id, features: f, labels: { train: x.target.train, test: x.target.test } };
        out[j].push(await groundTruth(input, x.head, { ...opts, cacheDir, engine, data, digest }));
        progress(`${jobs[j].label} → ${x.target.id} (${x.head})`);
      }
    }
    opts.onProgress?.(done, total, 'done');
    return out.flat();
  }

  const engineKind = engine.name === 'js' ? 'js' : 'auto';
  const restoreBlas = oneBlasThreadEach();
  const workers: Worker[] = [];
  let next = 0;
  let failure: Error | undefined;
  // The first error stops every lane: the others end at their next check, and a lane waiting for its worker is
  // woken by that worker's exit. Every lane settles, so nothing runs (or holds the process) after this returns.
  const stop = (e: Error) => {
    failure ??= e;
    for (const w of workers) void w.terminate();
  };
  try {
    const lanes = Array.from({ length: threads }, async () => {
      let worker: { post: (task: TruthWorkerTask) => void; reply: () => Promise<TruthWorkerReply | Error> } | undefined;
      try {
        for (;;) {
          if (failure || next >= jobs.length) return;
          const j = next++;
          const { f, digest, slots } = await prepare(j);
          if (failure) return;
          const todo = slots.filter(isTodo);
          if (todo.length === 0) {
            out[j] = slots as TruthRecord[];
            continue;
          }
          for (const t of todo) checkInput({ source: jobs[j].label, target: t.target.id, features: f, labels: { train: t.target.train, test: t.target.test } });
          if (!worker) {
            const w = startSiblingWorker(import.meta.url, 'truthWorker', 'ground truth');
            workers.push(w);
            worker = { post: (task) => w.postMessage(task), reply: workerReplies<TruthWorkerReply>(w, 'ground-truth') };
          }
          const measured: TruthRecord[] = [];
          worker.post({
            job: j,
            source: jobs[j].label,
            digest,
            features: f,
            measurements: todo.map((t) => ({ target: t.target.id, labels: { train: t.target.train, test: t.target.test }, head: t.head })),
            configs: opts.configs,
            cacheDir,
            engine: engineKind,
          } satisfies TruthWorkerTask);
          for (;;) {
            const r = await worker.reply();
            if (r instanceof Error || 'error' in r) {
              stop(new Error(`${jobs[j].label}: ${r instanceof Error ? r.message : r.error}`));
              return;
            }
            if ('done' in r) break;
            measured.push(r.record);
            progress(`${jobs[j].label} → ${r.record.target} (${r.record.head})`);
          }
          let k = 0;
          out[j] = slots.map((x) => (isRecord(x) ? x : measured[k++]));
        }
      } catch (e) {
        stop(e as Error);
      }
    });
    await Promise.all(lanes);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    restoreBlas();
  }
  if (failure) throw failure;
  opts.onProgress?.(done, total, 'done');
  return out.flat();
}
