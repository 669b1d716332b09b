/**
 * Use case: inference on a similarity matrix (docs/measures.md#inference) — the bootstrap of a feature set's M×M
 * matrix under any representation measure (per-cell intervals, kept draws for split support), its file format, and
 * the permutation test of one pair. The numbers come from taxonomy/inference.ts; this module checks ids and labels,
 * loads feature sets and turns results into the JSON every shell writes.
 */
import { loadFeatureSet, type LoadFeatureSetOptions } from '../features/featureSet.js';
import type { FeatureSet } from '../features/types.js';
import { readInputText } from '../io/input.js';
import { labelledMatrixToJson } from '../io/labelledMatrix.js';
import { toRows, type Matrix } from '../linalg/dense.js';
import type { LabelledMatrix, LabelledMatrixJson } from '../linalg/labelled.js';
import { describeMeasure, type MeasureInfo } from '../measures/registry.js';
import {
  bootstrapSimilarity,
  drawTrees,
  memberByLabel,
  permutationTest,
  type BootstrapOptions,
  type PermutationOptions,
  type PermutationTest,
  type Resampling,
  type SimilarityBootstrap,
} from '../taxonomy/inference.js';
import { toNewick, toTree } from '../taxonomy/cluster.js';
import { splitSupport } from '../taxonomy/support.js';
import { representationMeasure } from './similarity.js';
import { matrixDirection, type TaxonomyResult } from './taxonomy.js';

export {
  DEFAULT_SEED,
  type BootstrapOptions,
  type PermutationOptions,
  type PermutationTest,
  type Resampling,
  type SimilarityBootstrap,
} from '../taxonomy/inference.js';

/** The bootstrap options a shell passes (draws made from the seed; the full-data matrix computed or given). */
export type BootstrapRunOptions = Omit<BootstrapOptions, 'indices'>;

export interface BootstrapRun {
  bootstrap: SimilarityBootstrap;
  measure: MeasureInfo;
}

/** The bootstrap of a loaded feature set's M×M matrix under a representation measure. */
export async function bootstrapOfSet(set: FeatureSet, measure: string, opts: BootstrapRunOptions): Promise<BootstrapRun> {
  const id = representationMeasure(measure);
  const bootstrap = await bootstrapSimilarity(set.members, id, opts);
  return { bootstrap, measure: describeMeasure(id) };
}

/** The same, from a feature-set path, optionally ordered / subset. */
export async function bootstrapOfPath(
  path: string,
  measure: string,
  opts: BootstrapRunOptions & Pick<LoadFeatureSetOptions, 'order' | 'images'>,
): Promise<BootstrapRun> {
  const id = representationMeasure(measure);
  const { order, images, ...rest } = opts;
  return bootstrapOfSet(await loadFeatureSet(path, { order, images }), id, rest);
}

/** A matrix of the bootstrap with the run's labels and measure id, for the labelled-matrix writers. */
export function bootstrapMatrix(b: Pick<SimilarityBootstrap, 'labels' | 'measure'>, m: Matrix): LabelledMatrix {
  return { rows: [...b.labels], cols: [...b.labels], matrix: m, measure: b.measure };
}

/** The per-cell summaries as the API serves them (each a labelled matrix in the run's label order). */
export interface IntervalsJson {
  level: number;
  resampling: Resampling;
  mean: LabelledMatrixJson;
  sd: LabelledMatrixJson;
  lower: LabelledMatrixJson;
  upper: LabelledMatrixJson;
}

export function intervalsJson(b: SimilarityBootstrap): IntervalsJson {
  const json = (m: Matrix) => labelledMatrixToJson(bootstrapMatrix(b, m));
  return { level: b.level, resampling: b.resampling, mean: json(b.mean), sd: json(b.sd), lower: json(b.lower), upper: json(b.upper) };
}

/** What `<stem>.bootstrap.json` holds: everything needed to redraw intervals or recompute split support with another linkage. */
export interface BootstrapJson {
  kind: 'taskmap-bootstrap';
  version: 1;
  measure: string;
  largerIsMoreSimilar: boolean;
  labels: string[];
  images: number;
  resampling: Resampling;
  level: number;
  point: number[][];
  mean: number[][];
  sd: number[][];
  lower: number[][];
  upper: number[][];
  /** Every draw's M×M matrix. */
  draws: number[][][];
}

export function bootstrapToJson(b: SimilarityBootstrap, largerIsMoreSimilar: boolean): BootstrapJson {
  const m = b.labels.length;
  const draws = Array.from({ length: b.resampling.draws }, (_, d) => toRows({ rows: m, cols: m, data: b.matrices.subarray(d * m * m, (d + 1) * m * m) }));
  return {
    kind: 'taskmap-bootstrap',
    version: 1,
    measure: b.measure,
    largerIsMoreSimilar,
    labels: b.labels,
    images: b.images,
    resampling: b.resampling,
    level: b.level,
    point: toRows(b.point.matrix),
    mean: toRows(b.mean),
    sd: toRows(b.sd),
    lower: toRows(b.lower),
    upper: toRows(b.upper),
    draws,
  };
}

/** A bootstrap file as read back: the labels, measure and draws split support needs. */
export interface BootstrapFile {
  measure: string;
  labels: string[];
  resampling: Resampling;
  level: number;
  /** Draw-major M×M matrices in `labels` order. */
  draws: Float64Array;
}

function squareRows(v: unknown, m: number, what: string, name: string): number[] {
  if (!Array.isArray(v) || v.length !== m) throw new Error(`${name}: "${what}" must be ${m} rows of ${m} numbers`);
  const out: number[] = [];
  v.forEach((row: unknown, i) => {
    if (!Array.isArray(row) || row.length !== m) throw new Error(`${name}: "${what}" row ${i} must have ${m} numbers`);
    row.forEach((x: unknown, j) => {
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new Error(`${name}: "${what}" [${i}][${j}] is ${JSON.stringify(x)}, not a finite number`);
      out.push(x);
    });
  });
  return out;
}

/** Parse and check a `taskmap similarity --bootstrap` JSON file; errors name the file and the field. */
export function bootstrapFromJson(json: unknown, name: string): BootstrapFile {
  const j = json as Partial<BootstrapJson> | null;
  if (typeof j !== 'object' || j === null || j.kind !== 'taskmap-bootstrap') {
    throw new Error(`${name}: not a bootstrap file (expected the .bootstrap.json that \`taskmap similarity --bootstrap\` writes)`);
  }
  if (j.version !== 1) throw new Error(`${name}: bootstrap file version ${String(j.version)} is not supported (this taskmap reads version 1)`);
  if (typeof j.measure !== 'string') throw new Error(`${name}: "measure" must be a string`);
  const labels = j.labels;
  if (!Array.isArray(labels) || labels.length < 1 || labels.some((l) => typeof l !== 'string') || new Set(labels).size !== labels.length) {
    throw new Error(`${name}: "labels" must be a list of distinct strings`);
  }
  const m = labels.length;
  if (!Array.isArray(j.draws) || j.draws.length < 1) throw new Error(`${name}: "draws" must hold at least one ${m}×${m} matrix`);
  const draws = new Float64Array(j.draws.length * m * m);
  j.draws.forEach((d, k) => draws.set(squareRows(d, m, `draws[${k}]`, name), k * m * m));
  if (typeof j.level !== 'number' || !(j.level > 0 && j.level < 1)) throw new Error(`${name}: "level" must be a number between 0 and 1`);
  if (typeof j.resampling !== 'object' || j.resampling === null) throw new Error(`${name}: "resampling" is missing`);
  return { measure: j.measure, labels, resampling: j.resampling, level: j.level, draws };
}

export async function readBootstrapFile(path: string): Promise<BootstrapFile> {
  const text = await readInputText(path, 'a bootstrap file (.bootstrap.json)');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  return bootstrapFromJson(json, path);
}

/**
 * The draws of a bootstrap file in the row order of `m` (the matrix a tree is built on), checked to be of the same
 * models and measure: a bootstrap of other models, or under another measure, is an error naming both files.
 */
export function drawsFor(m: LabelledMatrix, boot: BootstrapFile, names: { matrix: string; bootstrap: string }): Float64Array {
  if (m.measure !== undefined && m.measure !== boot.measure) {
    throw new Error(`${names.bootstrap} is a bootstrap of ${boot.measure}, but ${names.matrix} holds ${m.measure}; bootstrap the same measure`);
  }
  const index = new Map(boot.labels.map((l, i) => [l, i] as const));
  const missing = m.rows.filter((l) => !index.has(l));
  if (missing.length || boot.labels.length !== m.rows.length) {
    const extra = boot.labels.filter((l) => !m.rows.includes(l));
    throw new Error(
      `${names.bootstrap} and ${names.matrix} are not of the same models` +
        (missing.length ? `: ${missing.slice(0, 5).join(', ')} only in ${names.matrix}` : '') +
        (extra.length ? `${missing.length ? ';' : ':'} ${extra.slice(0, 5).join(', ')} only in ${names.bootstrap}` : ''),
    );
  }
  const k = m.rows.length;
  const perm = m.rows.map((l) => index.get(l)!);
  const draws = boot.draws.length / (k * k);
  const out = new Float64Array(boot.draws.length);
  for (let d = 0; d < draws; d++) {
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) out[d * k * k + i * k + j] = boot.draws[d * k * k + perm[i] * k + perm[j]];
  }
  return out;
}

/**
 * A family taxonomy (familyTaxonomy) with the bootstrap of its similarity matrix: split support of its tree (each
 * draw clustered the same way) and the per-cell intervals, which the report draws on the dendrogram and as an
 * interval-width heatmap. The bootstrap must be of the same matrix (models, order, measure).
 */
export function withBootstrap(t: TaxonomyResult, b: SimilarityBootstrap): TaxonomyResult {
  const rows = t.similarity.rows;
  if (b.labels.length !== rows.length || b.labels.some((l, i) => l !== rows[i]) || (t.similarity.measure !== undefined && t.similarity.measure !== b.measure)) {
    throw new Error(`the bootstrap (${b.measure}, ${b.labels.length} models) is not of the taxonomy's matrix (${t.measure}, ${rows.length} models)`);
  }
  const direction = matrixDirection(t.similarity.measure, 'similarity');
  const support = splitSupport(t.dendrogram, drawTrees(rows, b.matrices, { linkage: t.dendrogram.linkage, direction }));
  return {
    ...t,
    tree: toTree(t.dendrogram, support),
    newick: toNewick(t.dendrogram, support),
    bootstrap: { support, level: b.level, lower: b.lower, upper: b.upper, resampling: b.resampling },
  };
}

// ---------------------------------------------------------------------------------------------------------

export interface PermutationRun {
  test: PermutationTest;
  measure: MeasureInfo;
}

/** The permutation test of two members (by label) of a loaded feature set; b's images are shuffled. */
export async function permutationTestOfSet(set: FeatureSet, measure: string, a: string, b: string, opts: PermutationOptions): Promise<PermutationRun> {
  const id = representationMeasure(measure);
  const ra = memberByLabel(set.members, a);
  const rb = memberByLabel(set.members, b);
  return { test: await permutationTest(ra, rb, id, opts), measure: describeMeasure(id) };
}

export async function permutationTestOfPath(
  path: string,
  measure: string,
  a: string,
  b: string,
  opts: PermutationOptions & Pick<LoadFeatureSetOptions, 'images'>,
): Promise<PermutationRun> {
  const id = representationMeasure(measure);
  const { images, ...rest } = opts;
  return permutationTestOfSet(await loadFeatureSet(path, { images }), id, a, b, rest);
}

/** The JSON of a permutation test (the null values included, for a histogram). */
export function permutationJson(t: PermutationTest) {
  const { null: values, ...rest } = t;
  return { ...rest, null: Array.from(values) };
}
