/**
 * `taskmap benchmark transfer` end to end (docs/transferability.md#benchmark): the labelled targets
 * (transferData.ts), the sources' features on them (transferSources.ts, cached extraction), the ground truth per
 * (source, target, head) (transferTruth.ts, cached), and the judging of every measure on small labelled draws
 * (transferEval.ts). The report files are written by src/report/transfer.ts.
 */
import { getGemmEngine } from '../linalg/gemm.js';
import { standardScoreIds } from '../measures/scoreFamilies.js';
import { findEntry } from '../measures/catalogue.js';
import {
  prepareTransferData,
  TRANSFER_TARGETS,
  type TransferDatasetId,
  type TransferTarget,
  type TransferTargetId,
  defaultTransferCacheDir,
} from './transferData.js';
import { evaluateTransfer, type TransferEvaluation, type TransferTask } from './transferEval.js';
import {
  extractTransferFeatures,
  layerStudySources,
  LAYER_STUDY_MODELS,
  transferSources,
  type TransferFeatures,
  type TransferSource,
} from './transferSources.js';
import { DEFAULT_HEAD_CONFIGS, groundTruthTable, HEADS, type HeadKind, type TruthRecord } from './transferTruth.js';

export interface TransferSourceInfo {
  id: string;
  /** Feature dimensions (default tap, global average pool). */
  dims: number;
  /** Source classes when the network ends in a softmax classifier (LEEP/NCE input), else null. */
  classes: number | null;
  /** Extraction cost measured in this run (ms per image); absent when the features came from the cache. */
  msPerImage?: number;
}

export interface TransferTargetInfo {
  id: string;
  dataset: string;
  description: string;
  classes: string[];
  train: number;
  test: number;
}

/** Per head → target → source → test accuracy (0…1). */
export type TransferTruthTable = Record<string, Record<string, Record<string, number>>>;

export interface LayerStudy {
  network: string;
  layers: string[];
  truth: TransferTruthTable;
  evaluation: TransferEvaluation;
}

export interface TransferBenchmarkResult {
  out: string;
  command: string;
  created: string;
  sources: TransferSourceInfo[];
  targets: TransferTargetInfo[];
  /** How the ground-truth heads were trained, in words. */
  heads: Record<string, string>;
  truth: TransferTruthTable;
  /** Every ground-truth measurement (chosen regularisation, CV accuracies, solver facts, time). */
  truthRecords: TruthRecord[];
  evaluation: TransferEvaluation;
  layerStudies: LayerStudy[];
  /** Wall seconds per stage. */
  timings: Record<string, number>;
  /** Things left out, with the reason. */
  notes: string[];
}

/**
 * The representation measures judged beside the scores. RSA, DDS and CKA compare each source with the draw's label
 * RDM; a pairwise family compares it with the labels' one-hot matrix (n × C; rank.ts pairwiseLabelTarget), in the
 * family's own direction — a distance is judged smaller = better (transferEval.ts). The pairwise settings are those
 * defined and informative on a draw of 10 or 50 images per class, where n < p is the normal case and n is as small as
 * 20 (two classes × 10); docs/transferability.md#benchmark.
 */
export const TRANSFER_REPRESENTATION_MEASURES = [
  'rsa',
  'dds',
  'cka',
  'procrustes',
  // Partial whitening ranks differently from `procrustes`; plain `shape` (α = 1) is arccos of the same normalised
  // nuclear norm whose √(2 − 2·) is `procrustes`, so it would repeat its ranking, and α = 0 is left out below.
  'shape:alpha=0.5',
  // CCA without a ridge refuses once rank X + (C − 1) > n − 1 — every draw here with p ≥ n — because that many
  // canonical correlations are 1 whatever the data; the ridge makes the three CCA families defined on every draw.
  'cca:ridge=0.1',
  'svcca:ridge=0.1',
  'pwcca:ridge=0.1',
  // Asymmetric: crossSimilarity puts candidates in rows, so this is the cross-validated R² of the source's features
  // predicting the one-hot labels (the direction that means "a linear readout finds the classes").
  'predictivity',
  // Label-side neighbours are tied (every image of a class at cosine 1); ties go to the lower index, and draw indices
  // are in pool order, unrelated to the features, so these estimate the features' kNN class purity.
  'mutual-knn',
  'cknna',
  'dcor',
];

/**
 * Pairwise settings left out of the default list, and why (`taskmap measures` lists them all; any of them can still be
 * asked for with --measures).
 */
export const TRANSFER_EXCLUDED_MEASURES: Readonly<Record<string, string>> = {
  shape: 'the same ranking as procrustes (both are monotone in the normalised nuclear norm ‖XᵀY‖_*)',
  'shape:alpha=0': 'with n ≤ p every full-rank source spans all n − 1 centred directions, so fully whitened every source is at the same distance',
  cca: 'refuses whenever rank X + C − 1 > n − 1 (at least one canonical correlation is 1 whatever the data); cca:ridge=0.1 is used',
  'cca:stat=mean': 'as cca, unregularised',
  svcca: 'the 99% variance cut keeps up to n − 1 directions on these draws, so it refuses as cca does; svcca:ridge=0.1 is used',
  pwcca: 'as cca, unregularised; pwcca:ridge=0.1 is used',
  permutation:
    'defined (scale-invariant) but measures width: only C of p units are matched, so the angle grows with the share of variance outside C single units — ' +
    'larger for wide, distributed features, which transfer better here (Spearman with p 0.55 over the draws; judged, mean weighted τ −0.29 at 10 and −0.27 at 50 per class)',
  softmatch: 'not scale-invariant: the transport cost is in the features’ units, so against a fixed 0/1 target it ranks sources by feature scale',
  'predictivity:symmetrize': 'half of it is the labels predicting the features, which says nothing about transfer to the labels',
  'jaccard-knn': 'per image a monotone function of mutual-knn’s overlap, so nearly the same ranking',
  'rank-similarity': 'weights shared neighbours by their rank in the label list, where every same-class image is tied: the rank is the image index',
  'second-order-cosine':
    'an error once a class has more than k images (every 50-per-class draw): an image whose neighbours in both lists are all of its class has only zero label-side distances',
  'rsm-norm-diff': 'not scale-invariant: compares Euclidean distances in the features’ units with the 0/√2 of the one-hot labels',
  'eigenspace-overlap': 'with n ≤ p a full-rank source spans all of ℝⁿ, so every source scores C / p whatever its features',
};

export function defaultTransferMeasures(): string[] {
  return [...standardScoreIds(), ...TRANSFER_REPRESENTATION_MEASURES];
}

export interface TransferBenchmarkOptions {
  out: string;
  /** The command line quoted in the report. */
  command: string;
  sources?: 'default' | 'all' | readonly string[];
  targets?: readonly TransferTargetId[];
  measures?: readonly string[];
  /** Images per class of the labelled draws (default 10 and 50). */
  perClass?: readonly number[];
  draws?: number;
  seed?: number;
  heads?: readonly HeadKind[];
  /** Networks of the layer study (default LAYER_STUDY_MODELS; empty: no layer study). */
  layerStudy?: readonly string[];
  /**
   * Measures of the layer study (default: `measures` without the catalogue's `expensive` tier — the linear probe,
   * which costs about fifty times a cheap score per candidate and would dominate a study over dozens of taps).
   */
  layerMeasures?: readonly string[];
  /** Pool sizes per data set (default transferData's: 5,000/2,000 Fashion-MNIST, 3,000/2,000 digits). */
  sizes?: Partial<Record<TransferDatasetId, { train: number; test: number }>>;
  cacheDir?: string;
  /** Compute every draw's scores again instead of reading them from the score cache (which is then rewritten). */
  rescore?: boolean;
  workers?: number;
  /** Bootstrap resamples for the intervals (default 1000). */
  resamples?: number;
  onProgress?: (stage: string, done: number, total: number, what: string) => void;
  log?: (message: string) => void;
}

function headText(): Record<HeadKind, string> {
  const l = DEFAULT_HEAD_CONFIGS.logistic;
  const m = DEFAULT_HEAD_CONFIGS.mlp;
  return {
    logistic: `multinomial L2 logistic regression on standardised features (L-BFGS), λ ∈ {${l.lambdas.join(', ')}} chosen by ${l.folds}-fold stratified CV inside the training pool.`,
    mlp: `one hidden layer of ${m.hidden} ReLU units (Adam, lr ${m.learningRate}, batch ${m.batchSize}, ≤ ${m.maxEpochs} epochs, early stopping on ${100 * m.validation}% of the pool with patience ${m.patience}), weight decay ∈ {${m.weightDecays.join(', ')}} chosen ${m.folds > 1 ? `by ${m.folds}-fold CV` : 'on the early-stopping split'}.`,
  };
}

/** Combine the default sources with the layer-study networks so that each network runs once per data set. */
function extractionSources(sources: TransferSource[], layerSources: TransferSource[]): { list: TransferSource[]; alias: Map<string, string> } {
  const byModel = new Map(sources.map((s) => [s.model, { ...s, taps: [...s.taps] }]));
  const alias = new Map<string, string>();
  for (const ls of layerSources) {
    const base = byModel.get(ls.model);
    if (!base) {
      byModel.set(ls.model, ls);
      continue;
    }
    for (const t of ls.taps) {
      const same = base.taps.find((b) => b.layer === t.layer);
      if (same) alias.set(t.label, same.label);
      else base.taps.push(t);
    }
  }
  return { list: [...byModel.values()], alias };
}

function truthTable(records: TruthRecord[]): TransferTruthTable {
  const out: TransferTruthTable = {};
  for (const r of records) ((out[r.head] ??= {})[r.target] ??= {})[r.source] = r.accuracy;
  return out;
}

async function tasksFor(
  targets: TransferTarget[],
  features: Partial<Record<TransferDatasetId, TransferFeatures>>,
  labels: string[],
  truth: TransferTruthTable,
  resolve: (label: string) => string,
): Promise<TransferTask[]> {
  const tasks: TransferTask[] = [];
  const byDataset = new Map<TransferDatasetId, TransferTarget[]>();
  for (const t of targets) byDataset.set(t.dataset, [...(byDataset.get(t.dataset) ?? []), t]);
  for (const [ds, ts] of byDataset) {
    const feats = features[ds];
    if (!feats) continue;
    const present = labels.filter((l) => feats.labels.includes(resolve(l)));
    const loaded = await Promise.all(present.map(async (l) => ({ label: l, f: await feats.load(resolve(l)) })));
    for (const t of ts) {
      const heads = Object.keys(truth).filter((h) => present.every((l) => truth[h]?.[t.id]?.[l] !== undefined));
      tasks.push({
        id: t.id,
        labels: Array.from(t.train),
        candidates: loaded.map(({ label, f }) => ({ label, features: f.train, ...(f.probabilities ? { probabilities: f.probabilities.train } : {}) })),
        truth: Object.fromEntries(heads.map((h) => [h, present.map((l) => truth[h][t.id][l])])),
      });
    }
  }
  return tasks;
}

export async function runTransferBenchmark(opts: TransferBenchmarkOptions): Promise<TransferBenchmarkResult> {
  const timings: Record<string, number> = {};
  const notes: string[] = [];
  const stage = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      timings[name] = (timings[name] ?? 0) + (performance.now() - t0) / 1000;
    }
  };
  const measures = [...(opts.measures ?? defaultTransferMeasures())];
  const perClass = [...(opts.perClass ?? [10, 50])];
  const draws = opts.draws ?? 5;
  const seed = opts.seed ?? 0;
  const heads = [...(opts.heads ?? HEADS)];
  const wanted = opts.targets ?? TRANSFER_TARGETS;
  const sources = transferSources(opts.sources ?? 'default');
  const layerModels = opts.layerStudy ?? LAYER_STUDY_MODELS;
  const engine = await getGemmEngine();

  const datasetsNeeded = [...new Set(wanted.map((t) => (t.startsWith('fmnist') ? 'fmnist' : 'digits') as TransferDatasetId))];
  const { datasets, targets: allTargets } = await stage('data', () =>
    prepareTransferData({ cacheDir: opts.cacheDir, datasets: datasetsNeeded, sizes: opts.sizes, log: opts.log }),
  );
  const targets = allTargets.filter((t) => wanted.includes(t.id));
  const layerSources = layerModels.length ? await stage('layer taps', () => layerStudySources(layerModels)) : [];
  const { list, alias } = extractionSources(sources, layerSources);
  const resolve = (label: string) => alias.get(label) ?? label;

  const features: Partial<Record<TransferDatasetId, TransferFeatures>> = {};
  for (const ds of datasetsNeeded) {
    features[ds] = await stage('extraction', () =>
      extractTransferFeatures(datasets[ds]!, list, {
        workers: opts.workers,
        onProgress: (d, t, what) => opts.onProgress?.(`extract ${ds}`, d, t, what),
        log: opts.log,
      }),
    );
    for (const f of features[ds]!.failed) notes.push(`${f.model} failed on ${ds} and is left out: ${f.error}`);
  }

  const sourceLabels = sources.flatMap((s) => s.taps.map((t) => t.label));
  const truthRecords = await stage('ground truth', () =>
    groundTruthTable({
      targets,
      features,
      sources: sourceLabels,
      heads,
      cacheDir: opts.cacheDir,
      engine,
      onProgress: (d, t, what) => opts.onProgress?.('ground truth', d, t, what),
    }),
  );
  const layerLabels = layerSources.flatMap((s) => s.taps.map((t) => t.label));
  // The layer study's ground truth uses the logistic head only: an MLP per tap would multiply the run time.
  const layerRecords = layerLabels.length
    ? await stage('ground truth', () =>
        groundTruthTable({
          targets,
          features,
          sources: [...new Set(layerLabels.map(resolve))],
          heads: ['logistic'],
          cacheDir: opts.cacheDir,
          engine,
          onProgress: (d, t, what) => opts.onProgress?.('layer ground truth', d, t, what),
        }),
      )
    : [];
  const truth = truthTable(truthRecords);

  const evalOpts = {
    measures,
    perClass,
    draws,
    seed,
    resamples: opts.resamples,
    engine,
    cacheDir: opts.cacheDir ?? defaultTransferCacheDir(),
    rescore: opts.rescore,
  };
  const layerMeasures = [...(opts.layerMeasures ?? measures.filter((m) => findEntry(m)?.cost.tier !== 'expensive'))];
  const tasks = await tasksFor(targets, features, sourceLabels, truth, (l) => l);
  const evaluation = await stage('scores', () => evaluateTransfer(tasks, { ...evalOpts, onProgress: (d, t, what) => opts.onProgress?.('scores', d, t, what) }));

  const layerStudies: LayerStudy[] = [];
  const layerTruth = truthTable(layerRecords);
  for (const ls of layerSources) {
    const layers = ls.taps.map((t) => t.label);
    // Truth records are keyed by the extracted label; the study names every tap `model/layer`.
    const studyTruth: TransferTruthTable = { logistic: {} };
    for (const t of targets)
      studyTruth.logistic[t.id] = Object.fromEntries(layers.map((l) => [l, layerTruth.logistic?.[t.id]?.[resolve(l)]]).filter(([, v]) => v !== undefined));
    const studyTasks = await tasksFor(targets, features, layers, studyTruth, resolve);
    const lastSize = perClass[perClass.length - 1];
    const e = await stage('layer study', () =>
      evaluateTransfer(studyTasks, {
        ...evalOpts,
        measures: layerMeasures,
        perClass: [lastSize],
        onProgress: (d, t, what) => opts.onProgress?.(`layers ${ls.model}`, d, t, what),
      }),
    );
    layerStudies.push({ network: ls.model, layers, truth: studyTruth, evaluation: e });
  }

  const first = (label: string) => Object.values(features).find((f) => f?.info[label])?.info[label];
  return {
    out: opts.out,
    command: opts.command,
    created: new Date().toISOString(),
    sources: sources
      .filter((s) => first(s.taps[0].label))
      .map((s) => {
        const info = first(s.taps[0].label)!;
        return {
          id: s.taps[0].label,
          dims: info.dims,
          classes: info.probabilities?.classes ?? null,
          ...(info.msPerImage !== undefined ? { msPerImage: info.msPerImage } : {}),
        };
      }),
    targets: targets.map((t) => ({
      id: t.id,
      dataset: t.dataset,
      description: t.description,
      classes: t.classNames,
      train: t.train.length,
      test: t.test.length,
    })),
    heads: Object.fromEntries(heads.map((h) => [h, headText()[h]])),
    truth,
    truthRecords: [...truthRecords, ...layerRecords],
    evaluation,
    layerStudies,
    timings,
    notes,
  };
}
