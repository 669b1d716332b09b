/**
 * The candidate sources of the transfer benchmark (docs/transferability.md#benchmark) and their features on the
 * benchmark's images.
 *
 * A source is a zoo network: its default tap (the encoder output of the model card) reduced by global average
 * pooling (`gap`: one value per channel, D ≤ 1,280 here), and — for networks that end in a softmax classifier —
 * that output as class probabilities for LEEP and NCE. The layer study instead takes every spatial feature map
 * (every tap) of a few cheap networks, also `gap`-reduced, in one extraction pass per network.
 *
 * The default set is every distinct zoo network whose extraction costs ≤ 25 ms per image on this machine, plus
 * nsfw-mobilenet-v2 (the zoo's ImageNet-pretrained classifier): the 45-minute budget on 2 cores cannot
 * run every network over 12,000 images (all 47 take 1.5 s per image, ~5 h). `all` takes every distinct network.
 */
import type { Matrix } from '../linalg/dense.js';
import { readNpy } from '../io/npy.js';
import { readInputFile } from '../io/input.js';
import { pathInside } from '../io/paths.js';
import { extractFeatures, type ExtractSummary } from '../models/extract.js';
import { layersWithShapes } from '../models/inspect.js';
import { loadModelFile } from '../models/load.js';
import { MANIFEST_FILE } from '../models/manifest.js';
import { resolveModel } from '../models/resolve.js';
import { ZOO, zooModel } from '../models/zoo.js';
import { join } from 'node:path';
import type { TransferDataset, TransferDatasetId } from './transferData.js';

/**
 * Extraction cost per image, measured on this machine (2-core EPYC, 96 Fashion-MNIST PNGs, all 47 zoo models, 2
 * workers, `taskmap extract` timings). Decides the default set; kept here so the choice can be checked and redone.
 * The two Keras networks (nsfw-mobilenet-v2, nsfw-inception-v3) were measured again on 2026-12-06 once they ran
 * on onnxruntime (models/kerasOnnx.ts; the two together on 2 workers): 66.7 → 11.5 and 397.9 → 71.6 ms.
 */
export const MEASURED_MS_PER_IMAGE: Readonly<Record<string, number>> = {
  efficientpose: 292.5,
  'blazepose-heavy': 169.0,
  nanodet: 122.1,
  gear: 118.6,
  posenet: 88.7,
  rvm: 88.6,
  'movenet-thunder': 88.1,
  faceres: 86.8,
  'faceres-deep': 85.0,
  centernet: 77.4,
  handskeleton: 76.1,
  'movenet-multipose': 72.9,
  'nsfw-inception-v3': 71.6,
  handdetect: 68.3,
  handtrack: 66.4,
  'nsfw-mobilenet-v2-mid': 46.2,
  'blazepose-full': 38.4,
  'handlandmark-sparse': 36.6,
  'handlandmark-full': 36.3,
  'blazepose-detector': 31.5,
  'ppocr-det': 29.4,
  blazeface: 27.9,
  'blazeface-back': 27.1,
  'movenet-lightning': 26.3,
  'handlandmark-lite': 23.1,
  mobilefacenet: 22.3,
  'blazepose-lite': 20.9,
  'ppocr-rec': 20.9,
  'facemesh-detection-full': 12.0,
  'nsfw-mobilenet-v2': 11.5,
  selfie: 10.3,
  faceboxes: 8.4,
  'facemesh-attention-pinto': 8.2,
  meet: 7.3,
  antispoof: 7.1,
  'blazeface-front': 6.0,
  emotion: 5.9,
  'facemesh-attention': 5.8,
  facemesh: 5.6,
  iris: 5.2,
  mobileface: 4.8,
  'facemesh-detection-short': 4.5,
  gender: 1.9,
  'ppocr-cls': 1.8,
  'gender-ssrnet-imdb': 1.3,
  age: 1.3,
  liveness: 0.9,
};

/** Default set: networks at most this expensive (ms per image, MEASURED_MS_PER_IMAGE)… */
export const DEFAULT_COST_LIMIT_MS = 25;
/** …plus these, whatever they cost. */
export const DEFAULT_EXTRA_SOURCES = ['nsfw-mobilenet-v2'];
/** Other exports of a network already in the zoo (same backbone weights or the same network): never a separate source. */
export const ALTERNATE_EXPORTS = ['blazeface-back', 'facemesh-detection-short', 'facemesh-attention-pinto'];

/**
 * Classifier outputs read as class probabilities (checked on a blank image: non-negative, rows sum to 1). Networks
 * whose outputs are regressions, landmarks, detections, embeddings, a single sigmoid (antispoof, faceres gender,
 * the SSR-Net age/gender scalars) or per-location scores have none and are left out of LEEP/NCE.
 */
export const PROBABILITY_OUTPUTS: Readonly<Record<string, { output: string; classes: number; description: string }>> = {
  'nsfw-mobilenet-v2': { output: 'dense_3', classes: 5, description: 'nsfwjs content classes (softmax)' },
  'nsfw-mobilenet-v2-mid': { output: 'Identity', classes: 5, description: 'nsfwjs content classes (softmax)' },
  'nsfw-inception-v3': { output: 'dense_3', classes: 5, description: 'nsfwjs content classes (softmax)' },
  emotion: { output: 'Identity', classes: 7, description: 'FER2013 emotions (softmax)' },
  gender: { output: 'Identity', classes: 2, description: 'gender (softmax)' },
  liveness: { output: 'Identity', classes: 2, description: 'live vs replayed (softmax)' },
  'ppocr-cls': { output: 'softmax_0.tmp_0', classes: 2, description: 'text orientation 0°/180° (softmax)' },
  gear: { output: 'Identity', classes: 7, description: 'the 7-way softmax head of GEAR' },
  faceres: { output: 'age_pred/Softmax', classes: 100, description: 'age in years 0…99 (softmax)' },
  'faceres-deep': { output: 'age_pred/Softmax', classes: 100, description: 'age in years 0…99 (softmax)' },
};

/** Networks of the layer study: cheap, and of three architectures/tasks (mini-Xception ×2 on two tasks, a plain CNN). */
export const LAYER_STUDY_MODELS = ['emotion', 'gender', 'antispoof'];

/** Layer ops that only copy or pad their input: not separate taps in the layer study. */
const COPY_OPS = new Set(['Pad', 'Identity', 'PadV2', 'MirrorPad']);

/** One candidate network: its feature taps (each `gap`-reduced) and optionally its classifier output. */
export interface TransferSource {
  /** Zoo id. */
  model: string;
  /** Feature taps: the label results use (the model id for the default tap, `model/layer` in the layer study) and the layer. */
  taps: { label: string; layer: string }[];
  probabilities?: { output: string; classes: number; description: string };
  /** MEASURED_MS_PER_IMAGE (the zoo card's own figure for a network not measured). */
  msPerImage: number;
}

function distinctZooIds(): string[] {
  return ZOO.map((m) => m.id).filter((id) => !ALTERNATE_EXPORTS.includes(id));
}

function sourceOf(id: string): TransferSource {
  const z = zooModel(id);
  if (!z) throw new Error(`unknown zoo model "${id}" (known: ${distinctZooIds().join(', ')})`);
  return { model: id, taps: [{ label: id, layer: z.tap }], probabilities: PROBABILITY_OUTPUTS[id], msPerImage: MEASURED_MS_PER_IMAGE[id] ?? z.msPerImage };
}

/**
 * The sources: `default` (cheap distinct networks + nsfw-mobilenet-v2, see the module comment), `all` (every
 * distinct network), or a list of zoo ids (alternate exports allowed when named).
 */
export function transferSources(which: 'default' | 'all' | readonly string[] = 'default'): TransferSource[] {
  if (which === 'all') return distinctZooIds().map(sourceOf);
  if (which === 'default') {
    return distinctZooIds()
      .filter((id) => (MEASURED_MS_PER_IMAGE[id] ?? Infinity) <= DEFAULT_COST_LIMIT_MS || DEFAULT_EXTRA_SOURCES.includes(id))
      .map(sourceOf);
  }
  if (which.length === 0) throw new Error('no sources given');
  const seen = new Set<string>();
  return which.map((id) => {
    if (seen.has(id)) throw new Error(`source ${id} given twice`);
    seen.add(id);
    return sourceOf(id);
  });
}

/**
 * The layer study's sources: every spatial feature map of each network (layers whose output has spatial axes,
 * found by running a blank image once; pure copies such as Pad left out), labelled `model/layer`. One source per
 * network, so `extractTransferFeatures` runs each network once for all its taps.
 */
export async function layerStudySources(models: readonly string[] = LAYER_STUDY_MODELS): Promise<TransferSource[]> {
  const out: TransferSource[] = [];
  for (const id of models) {
    const base = sourceOf(id);
    const spec = await resolveModel(id, {});
    if (!spec.preprocessing) throw new Error(`${id}: no preprocessing known`);
    const runner = await loadModelFile(spec.file, { extraInputs: spec.extraInputs, threads: 1 });
    try {
      const layers = await layersWithShapes(runner, spec.preprocessing);
      const maps = layers.filter((l) => l.shape && l.shape.length >= 4 && !COPY_OPS.has(l.op));
      if (maps.length === 0) throw new Error(`${id}: no spatial feature maps found`);
      out.push({ ...base, taps: maps.map((l) => ({ label: `${id}/${l.name}`, layer: l.name })) });
    } finally {
      runner.dispose();
    }
  }
  return out;
}

/** A source's features on one data set's pools (rows in the data set's split order), float64. */
export interface SourceFeatures {
  train: Matrix;
  test: Matrix;
  /** Softmax outputs of the source's classifier (rows renormalised to sum to 1 in float64). */
  probabilities?: { train: Matrix; test: Matrix };
}

export interface TransferFeatureInfo {
  model: string;
  layer: string;
  /** Features per image after `gap`. */
  dims: number;
  /** The .npy in `dir`. */
  file: string;
  probabilities?: { file: string; classes: number };
  /** Inference time measured in the run that computed the features (absent when they were cached). */
  msPerImage?: number;
}

export interface TransferFeatures {
  dataset: TransferDatasetId;
  /** The extraction folder (`<dataset dir>/features`). */
  dir: string;
  /** Feature labels in source and tap order (sources that failed are missing). */
  labels: string[];
  info: Record<string, TransferFeatureInfo>;
  failed: { model: string; error: string }[];
  summary: ExtractSummary;
  /** Read one label's features (and probabilities) from disk; a few hundred MB at most for the default set. */
  load(label: string): Promise<SourceFeatures>;
}

export interface ExtractTransferOptions {
  /** Worker threads (default: cores). */
  workers?: number;
  batchSize?: number;
  /** Go on when a network fails (it is reported in `failed`); default true. */
  continueOnError?: boolean;
  onProgress?: (done: number, total: number, label: string) => void;
  log?: (message: string) => void;
}

/**
 * Features of the sources on a prepared data set, through the cached, resumable `extractFeatures` (a re-run with
 * everything cached reads the manifest and computes nothing). Train and test images are extracted together.
 */
export async function extractTransferFeatures(
  dataset: TransferDataset,
  sources: readonly TransferSource[],
  opts: ExtractTransferOptions = {},
): Promise<TransferFeatures> {
  const dir = join(dataset.dir, 'features');
  const summary = await extractFeatures({
    images: dataset.images,
    out: dir,
    models: sources.map((s) => ({
      ref: s.model,
      taps: [...s.taps.map((t) => `${t.layer}@gap`), ...(s.probabilities ? [`${s.probabilities.output}@none`] : [])],
    })),
    workers: opts.workers,
    batchSize: opts.batchSize,
    continueOnError: opts.continueOnError ?? true,
    onProgress: opts.onProgress,
    onLog: opts.log,
    tool: 'taskmap benchmark transfer',
  });
  const entries = summary.manifest.entries;
  const rowOf = new Map(summary.manifest.images.files.map((f, i) => [f.path, i]));
  const rows = (files: string[]) =>
    files.map((f) => {
      const r = rowOf.get(f);
      if (r === undefined) throw new Error(`${dir}: ${f} is not among the extracted images; delete ${dir} and run again`);
      return r;
    });
  const trainRows = rows(dataset.train.files);
  const testRows = rows(dataset.test.files);
  const failedModels = new Set(summary.failed.map((f) => f.model));
  const computedMs = new Map(summary.computed.map((c) => [c.label, c.msPerImage]));
  const labels: string[] = [];
  const info: Record<string, TransferFeatureInfo> = {};
  for (const s of sources) {
    if (failedModels.has(s.model)) continue;
    const find = (layer: string, reduce: string) => entries.find((e) => e.model.id === s.model && e.layer === layer && e.reduce === reduce);
    const prob = s.probabilities ? find(s.probabilities.output, 'none') : undefined;
    for (const t of s.taps) {
      const e = find(t.layer, 'gap');
      if (!e) throw new Error(`${dir}: no features of ${s.model} at ${t.layer} after extraction`);
      labels.push(t.label);
      info[t.label] = {
        model: s.model,
        layer: t.layer,
        dims: e.shape.slice(1).reduce((a, b) => a * b, 1),
        file: e.file,
        ...(prob ? { probabilities: { file: prob.file, classes: prob.shape.slice(1).reduce((a, b) => a * b, 1) } } : {}),
        ...(computedMs.get(e.label) !== undefined ? { msPerImage: computedMs.get(e.label) } : {}),
      };
    }
  }
  const read = async (file: string) => {
    const abs = pathInside(dir, file, MANIFEST_FILE);
    const arr = readNpy(await readInputFile(abs), abs);
    const cols = arr.shape.slice(1).reduce((a, b) => a * b, 1);
    return { data: arr.data as Float32Array | Float64Array, cols };
  };
  const pick = (src: { data: Float32Array | Float64Array; cols: number }, idx: number[]): Matrix => {
    const out = new Float64Array(idx.length * src.cols);
    idx.forEach((r, i) => {
      for (let j = 0; j < src.cols; j++) out[i * src.cols + j] = src.data[r * src.cols + j];
    });
    return { rows: idx.length, cols: src.cols, data: out };
  };
  const load = async (label: string): Promise<SourceFeatures> => {
    const i = info[label];
    if (!i) throw new Error(`no features "${label}" for ${dataset.id} (known: ${labels.join(', ')})`);
    const f = await read(i.file);
    const out: SourceFeatures = { train: pick(f, trainRows), test: pick(f, testRows) };
    if (i.probabilities) {
      const p = await read(i.probabilities.file);
      out.probabilities = {
        train: normaliseRows(pick(p, trainRows), `${label} probabilities`),
        test: normaliseRows(pick(p, testRows), `${label} probabilities`),
      };
    }
    return out;
  };
  return { dataset: dataset.id, dir, labels, info, failed: summary.failed, summary, load };
}

/**
 * Rows of softmax outputs renormalised in float64: float32 rows sum to 1 only to ~1e-7, which the scores' checks
 * accept, but an exact simplex makes LEEP/NCE independent of that rounding. A row that is not a distribution
 * (negative entries or a sum far from 1) means the output is not a softmax: an error, not a silent fix.
 */
export function normaliseRows(m: Matrix, what: string): Matrix {
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    for (let j = 0; j < m.cols; j++) {
      const v = m.data[i * m.cols + j];
      if (!(v >= 0)) throw new Error(`${what}: image ${i + 1} has the value ${v}; not a softmax output`);
      s += v;
    }
    if (Math.abs(s - 1) > 1e-3) throw new Error(`${what}: image ${i + 1} sums to ${s}; not a softmax output`);
    for (let j = 0; j < m.cols; j++) m.data[i * m.cols + j] /= s;
  }
  return m;
}
